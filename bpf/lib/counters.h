/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Counting: every packet ends translated, passed or dropped, and each end
 * is counted here (and, with NAT64_F_DROP_LOG, a dropped packet's headers
 * recorded for nat64ctl drops).
 */
#pragma once

#include "maps.h"

static __always_inline struct nat64_counters *counters(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&nat64_counters, &zero);
}

static __always_inline void count(enum nat64_counter c)
{
	struct nat64_counters *cnt = counters();

	if (cnt && c < _NAT64_CNT_MAX)
		cnt->c[c]++;
}

/* Record the headers of a dropped packet (drop path only, when enabled). */
__noinline int nat64_log_drop(struct __sk_buff *skb, __u32 why)
{
	struct nat64_drop_record rec = {};
	__u32 *cursor, slot;
	__u16 ports[2];

	if (why >= _NAT64_CNT_MAX)
		return 0;
	cursor = bpf_map_lookup_elem(&nat64_drop_cursor, &why);
	if (!cursor)
		return 0;
	slot = why * NAT64_DROP_LOG_DEPTH + (__sync_fetch_and_add(cursor, 1) % NAT64_DROP_LOG_DEPTH);

	rec.ktime_ns = bpf_ktime_get_ns();
	rec.reason = why;
	rec.ifindex = skb->ifindex;
	rec.len = skb->len;
	rec.ethertype = bpf_ntohs(skb->protocol);
	if (rec.ethertype == ETH_P_IPV6) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip6, sizeof(ip6)) == 0) {
			rec.proto = ip6.nexthdr;
			__builtin_memcpy(rec.saddr, &ip6.saddr, 16);
			__builtin_memcpy(rec.daddr, &ip6.daddr, 16);
			if (bpf_skb_load_bytes(skb, ETH_HLEN + IPV6_HDR_LEN, ports, 4) == 0) {
				rec.sport = bpf_ntohs(ports[0]);
				rec.dport = bpf_ntohs(ports[1]);
			}
		}
	} else if (rec.ethertype == ETH_P_IP) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) == 0) {
			rec.proto = ip.protocol;
			__builtin_memcpy(rec.saddr, &ip.saddr, 4);
			__builtin_memcpy(rec.daddr, &ip.daddr, 4);
			if (bpf_skb_load_bytes(skb, ETH_HLEN + ip.ihl * 4, ports, 4) == 0) {
				rec.sport = bpf_ntohs(ports[0]);
				rec.dport = bpf_ntohs(ports[1]);
			}
		}
	}
	bpf_map_update_elem(&nat64_drop_log, &slot, &rec, BPF_ANY);
	return 0;
}

static __always_inline int drop_skb(struct __sk_buff *skb, enum nat64_counter why)
{
	count(why);
	if (config()->flags & NAT64_F_DROP_LOG)
		nat64_log_drop(skb, why);
	return TC_ACT_SHOT;
}

#define drop(why) drop_skb(skb, why)

static __always_inline int pass(void)
{
	count(NAT64_CNT_PKTS_PASSED);
	return TC_ACT_OK;
}

static __always_inline void count_translated(enum nat64_counter pkts, __u32 bytes)
{
	struct nat64_counters *cnt = counters();

	if (cnt) {
		cnt->c[pkts]++;
		cnt->c[pkts + 1] += bytes;	/* BYTES_* follows PKTS_* */
	}
}
