// SPDX-License-Identifier: GPL-2.0-only
/* The cheapest tc program: the baseline bench/ compares the translator to. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int empty(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
