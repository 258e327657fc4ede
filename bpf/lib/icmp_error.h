/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ICMP errors the translator originates (RFC 7915 §4.4, §5.4, §6): who
 * may be answered, the rate limit, and the error built in place of the
 * packet and sent back toward its source.
 */
#pragma once

#include "counters.h"
#include "addr.h"
#include "csum.h"

static __always_inline int ratelimit_allow(const struct nat64_config *cfg)
{
	__u32 zero = 0, limit = cfg->icmp_errors_per_sec ?: ICMP_ERRORS_PER_SEC;
	struct scratch *s = bpf_map_lookup_elem(&nat64_scratch, &zero);
	__u64 now = bpf_ktime_get_ns();

	if (!s)
		return 0;
	if (now - s->rl.window_start >= NSEC_PER_SEC) {
		s->rl.window_start = now;
		s->rl.sent = 0;
	}
	if (s->rl.sent >= limit)
		return 0;
	s->rl.sent++;
	return 1;
}

static __always_inline int swap_macs(struct __sk_buff *skb)
{
	__u8 macs[12], swapped[12];

	if (bpf_skb_load_bytes(skb, 0, macs, 12))
		return -1;
	__builtin_memcpy(swapped, macs + 6, 6);
	__builtin_memcpy(swapped + 6, macs, 6);
	return bpf_skb_store_bytes(skb, 0, swapped, 12, 0);
}

/*
 * Whether a packet may be answered with an ICMP error at all, checked where
 * every error is built so no caller can forget: never about an ICMP error,
 * an IPv4 non-initial fragment, or a multicast or broadcast destination
 * (RFC 1122 §3.2.2, RFC 1812 §4.3.2.7); in IPv6 (RFC 4443 §2.4(e)) only
 * Packet Too Big may answer a multicast destination, IPv4 groups mapped
 * into the prefix included. Errors hidden behind IPv6 extension headers are
 * the callers' to see (the walker knows them).
 */
static __always_inline int may_answer4(struct __sk_buff *skb, const struct iphdr *ip)
{
	__u8 type;

	if ((ip->frag_off & bpf_htons(IP_OFFMASK)) || is_group4(ip->daddr))
		return 0;
	if (ip->protocol != IPPROTO_ICMP)
		return 1;
	if (bpf_skb_load_bytes(skb, ETH_HLEN + ip->ihl * 4, &type, 1))
		return 0;
	return type != ICMP_DEST_UNREACH && type != ICMP_SOURCE_QUENCH && type != ICMP_REDIRECT &&
	       type != ICMP_TIME_EXCEEDED && type != ICMP_PARAMETERPROB;
}

static __always_inline int may_answer6(struct __sk_buff *skb, const struct ipv6hdr *ip6, __u32 type)
{
	__be32 group4;
	__u8 icmp_type;

	/* A group behind the prefix (where a static multicast map DNATs an
	 * IPv6 group to) is as much a group as ff00::/8. */
	if (type != ICMPV6_PKT_TOOBIG &&
	    (ip6->daddr.s6_addr[0] == 0xff ||
	     (nat64_addr_6to4(&ip6->daddr, &group4) == 0 && is_group4(group4))))
		return 0;
	if (ip6->nexthdr != IPPROTO_ICMPV6)
		return 1;
	if (bpf_skb_load_bytes(skb, ETH_HLEN + IPV6_HDR_LEN, &icmp_type, 1))
		return 0;
	return icmp_type >= 128;	/* RFC 4443 §2.1: below 128, errors */
}

/*
 * Turn the IPv4 packet in skb into an ICMPv4 error about it and send it
 * back out of the device it came in on. rest is the second header word.
 */
__noinline int nat64_icmp4_error(struct __sk_buff *skb, __u32 type, __u32 code, __be32 rest, __u32 why)
{
	const struct nat64_config *cfg = config();
	struct iphdr orig, ip = {};
	struct icmphdr icmp = {};
	__u32 quoted, tot;
	__u16 check;

	if (bpf_skb_load_bytes(skb, ETH_HLEN, &orig, sizeof(orig)) || !may_answer4(skb, &orig))
		return drop(why);
	count(why);
	if (!ratelimit_allow(cfg))
		return drop(NAT64_CNT_DROP_RATELIMITED);

	quoted = skb->len - ETH_HLEN;
	if (quoted > ICMP4_ERROR_MAX - IPV4_HDR_LEN - ICMP_HDR_LEN)
		quoted = ICMP4_ERROR_MAX - IPV4_HDR_LEN - ICMP_HDR_LEN;
	tot = IPV4_HDR_LEN + ICMP_HDR_LEN + quoted;

	if (bpf_skb_adjust_room(skb, IPV4_HDR_LEN + ICMP_HDR_LEN, BPF_ADJ_ROOM_MAC, 0) ||
	    bpf_skb_change_tail(skb, ETH_HLEN + tot, 0))
		return drop(NAT64_CNT_DROP_INTERNAL);

	ip.version = 4;
	ip.ihl = 5;
	ip.tot_len = bpf_htons(tot);
	ip.ttl = SELF_ERROR_HOP_LIMIT;
	ip.protocol = IPPROTO_ICMP;
	ip.saddr = cfg->self_v4 ?: orig.daddr;
	ip.daddr = orig.saddr;
	ip.check = ipv4_hdr_csum(&ip);

	icmp.type = type;
	icmp.code = code;
	icmp.un.gateway = rest;
	if (bpf_skb_store_bytes(skb, ETH_HLEN, &ip, sizeof(ip), 0) ||
	    bpf_skb_store_bytes(skb, ETH_HLEN + IPV4_HDR_LEN, &icmp, sizeof(icmp), 0))
		return drop(NAT64_CNT_DROP_INTERNAL);
	check = ~csum_fold32((__u32)nat64_csum_skb(skb, ETH_HLEN + IPV4_HDR_LEN, ICMP_HDR_LEN + quoted, 0));
	if (bpf_skb_store_bytes(skb, ETH_HLEN + IPV4_HDR_LEN + 2, &check, 2, 0) || swap_macs(skb))
		return drop(NAT64_CNT_DROP_INTERNAL);

	count(NAT64_CNT_ICMP_SENT);
	return bpf_redirect(ctx_read_u32(skb, ifindex), 0);
}

/* The same for IPv6: an ICMPv6 error back toward the sender (RFC 4443). */
__noinline int nat64_icmp6_error(struct __sk_buff *skb, __u32 type, __u32 code, __be32 rest, __u32 why)
{
	const struct nat64_config *cfg = config();
	struct ipv6hdr orig, ip = {};
	struct icmp6hdr icmp = {};
	__u32 quoted, sum;
	__u16 check;

	if (bpf_skb_load_bytes(skb, ETH_HLEN, &orig, sizeof(orig)) || !may_answer6(skb, &orig, type))
		return drop(why);
	count(why);
	if (!ratelimit_allow(cfg))
		return drop(NAT64_CNT_DROP_RATELIMITED);

	quoted = skb->len - ETH_HLEN;
	if (quoted > ICMP6_ERROR_MAX - IPV6_HDR_LEN - ICMP_HDR_LEN)
		quoted = ICMP6_ERROR_MAX - IPV6_HDR_LEN - ICMP_HDR_LEN;

	if (bpf_skb_adjust_room(skb, IPV6_HDR_LEN + ICMP_HDR_LEN, BPF_ADJ_ROOM_MAC, 0) ||
	    bpf_skb_change_tail(skb, ETH_HLEN + IPV6_HDR_LEN + ICMP_HDR_LEN + quoted, 0))
		return drop(NAT64_CNT_DROP_INTERNAL);

	ip.version = 6;
	ip.payload_len = bpf_htons(ICMP_HDR_LEN + quoted);
	ip.nexthdr = IPPROTO_ICMPV6;
	ip.hop_limit = SELF_ERROR_HOP_LIMIT;
	if (ipv6_is_zero(cfg->self_v6))
		__builtin_memcpy(&ip.saddr, &orig.daddr, 16);
	else
		__builtin_memcpy(&ip.saddr, cfg->self_v6, 16);
	ip.daddr = orig.saddr;

	icmp.icmp6_type = type;
	icmp.icmp6_code = code;
	icmp.icmp6_dataun.un_data32[0] = rest;
	if (bpf_skb_store_bytes(skb, ETH_HLEN, &ip, sizeof(ip), 0) ||
	    bpf_skb_store_bytes(skb, ETH_HLEN + IPV6_HDR_LEN, &icmp, sizeof(icmp), 0))
		return drop(NAT64_CNT_DROP_INTERNAL);
	sum = (__u32)nat64_csum_ipv6_pseudo(&ip.saddr, &ip.daddr, ICMP_HDR_LEN + quoted,
			       IPPROTO_ICMPV6, 0);
	check = ~csum_fold32((__u32)nat64_csum_skb(skb, ETH_HLEN + IPV6_HDR_LEN, ICMP_HDR_LEN + quoted, sum));
	if (bpf_skb_store_bytes(skb, ETH_HLEN + IPV6_HDR_LEN + 2, &check, 2, 0) || swap_macs(skb))
		return drop(NAT64_CNT_DROP_INTERNAL);

	count(NAT64_CNT_ICMP_SENT);
	/* From an egress hook: back up the stack, where conntrack de-NATs it. */
	return bpf_redirect(ctx_read_u32(skb, ifindex), BPF_F_INGRESS);
}
