/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * RFC 7757 §4 intrinsic hairpinning: an IPv6 packet whose IPv4 destination
 * is EAM-owned goes straight back to IPv6 through 4to6.
 */
#pragma once

#include "counters.h"
#include "addr.h"

/*
 * RFC 7757 §4 intrinsic hairpinning: an IPv6 packet whose IPv4 destination
 * is itself EAM-owned goes back to IPv6 at once. 6to4 translates it as
 * usual, marks it in cb[] and tail-calls 4to6, which userspace puts into
 * the array (not statically: tc loads one section of the object alone).
 */
#define NAT64_CB_HAIRPIN 0x64a1

/* skb->cb[i] = v, as one 32-bit store the verifier takes for a context write */
static __always_inline void cb_write(struct __sk_buff *skb, const int i, __u32 v)
{
	asm volatile("*(u32 *)(%[skb] + %[off]) = %[v]"
		     :: [skb] "r"(skb), [off] "i"(offsetof(struct __sk_buff, cb[0]) + i * sizeof(__u32)), [v] "r"(v)
		     : "memory");
}

#define cb0_write(skb, v) cb_write(skb, 0, v)

#define cb0_read(skb) ctx_read_u32(skb, cb[0])

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} nat64_hairpin SEC(".maps");

static __always_inline int is_eam_owned4(__be32 a)
{
	struct nat64_lpm4_key key = { .prefixlen = 32, .addr = a };

	return nat64.nr_eam && bpf_map_lookup_elem(&nat64_eam4, &key) != NULL;
}

/* RFC 7757 §4.1: only destinations in prefix form hairpin, EAM-form ones are translated. */
__noinline int nat64_is_eam_owned6(const struct in6_addr *a)
{
	struct nat64_lpm6_key key = { .prefixlen = 128 };

	if (!nat64.nr_eam || !a)
		return 0;
	__builtin_memcpy(key.addr, a, 16);
	return bpf_map_lookup_elem(&nat64_eam6, &key) != NULL;
}

static __always_inline int hairpin(struct __sk_buff *skb)
{
	cb0_write(skb, NAT64_CB_HAIRPIN);
	bpf_tail_call(skb, &nat64_hairpin, 0);
	return drop(NAT64_CNT_DROP_INTERNAL);	/* no 4to6 program in the array */
}
