/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Which IPv4 packets are the translator's on the WAN (IPv4Address=,
 * PortRange=) and on the NAT46 interface; the rest stays with the host.
 */
#pragma once

#include "counters.h"
#include "addr.h"

static __always_inline int in_pool4(const struct nat64_config *cfg, __be32 a)
{
	int i;

	for (i = 0; i < NAT64_MAX_POOL4; i++) {
		if (i >= cfg->nr_pool4)
			break;
		if (cfg->pool4[i] == a)
			return 1;
	}
	return 0;
}

static __always_inline int in_prefix4(__be32 a, __be32 prefix, __u32 len)
{
	__u32 mask = len == 0 ? 0 : (len >= 32 ? 0xffffffff : ~(0xffffffffU >> len));

	return (bpf_ntohl(a) & mask) == (bpf_ntohl(prefix) & mask);
}

/* The port (or ICMP identifier) that identifies our side of the flow. */
static __always_inline int port_of(struct __sk_buff *skb, __u32 l4, __u8 proto, int ours_is_src, __u16 *port)
{
	__be16 p[2];

	switch (proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		if (bpf_skb_load_bytes(skb, l4, p, 4))
			return -1;
		*port = bpf_ntohs(p[ours_is_src ? 0 : 1]);
		return 0;
	case IPPROTO_ICMP:
		if (bpf_skb_load_bytes(skb, l4 + 4, p, 2))
			return -1;
		*port = bpf_ntohs(p[0]);
		return 0;
	default:
		return -1;
	}
}

/*
 * Which IPv4 packets on this hook are ours? NAT46 clients on the LAN hook;
 * on the WAN hook, those to IPv4Address= (inside PortRange=), or all of them
 * when no pool is configured (plain SIIT).
 */
/* On the WAN: IPv4Address= destinations (all unicast, without a pool). */
static __always_inline int wan_destination_ours(const struct nat64_config *cfg, const struct iphdr *ip)
{
	if (is_group4(ip->daddr))
		return 0;
	return cfg->nr_pool4 == 0 || in_pool4(cfg, ip->daddr);
}

enum ownership {
	NOT_OURS = 0,
	OURS = 1,
	OURS_NAT46 = 2,
};

__noinline int nat64_ownership_4to6(struct __sk_buff *skb, const struct iphdr *ip, __u32 l4, __u32 is_error)
{
	const struct nat64_config *cfg = config();
	struct bpf_fib_lookup fib = {};
	__u16 port;

	if (!ip)
		return NOT_OURS;
	if (cfg->nat46_ifindex && ctx_read_u32(skb, ifindex) == cfg->nat46_ifindex) {
		if (!in_prefix4(ip->saddr, cfg->nat46_prefix, cfg->nat46_prefix_len) ||
		    in_prefix4(ip->daddr, cfg->nat46_prefix, cfg->nat46_prefix_len) ||
		    is_group4(ip->daddr))
			return 0;
		/* addressed to the gateway itself: not ours */
		fib.family = AF_INET;
		fib.ipv4_src = ip->saddr;
		fib.ipv4_dst = ip->daddr;
		fib.ifindex = skb->ifindex;
		if (bpf_fib_lookup(skb, &fib, sizeof(fib), BPF_FIB_LOOKUP_DIRECT) == BPF_FIB_LKUP_RET_NOT_FWDED)
			return 0;
		return OURS_NAT46;
	}

	if (!wan_destination_ours(cfg, ip))
		return 0;
	if (cfg->nr_pool4 == 0 || !(cfg->flags & NAT64_F_PORT_RANGE))
		return 1;
	if (ip->frag_off & bpf_htons(IP_OFFMASK))
		return 0;	/* no port to judge by: the host's reassembly decides */
	if (is_error) {
		struct iphdr inner;

		if (bpf_skb_load_bytes(skb, l4 + ICMP_HDR_LEN, &inner, sizeof(inner)) || inner.ihl < 5)
			return 0;
		if (port_of(skb, l4 + ICMP_HDR_LEN + inner.ihl * 4, inner.protocol, 1, &port))
			return 0;
	} else if (port_of(skb, l4, ip->protocol, 0, &port)) {
		return 0;
	}
	return port >= cfg->port_min && port <= cfg->port_max;
}

static __always_inline int ownership_4to6(struct __sk_buff *skb, const struct nat64_config *cfg,
					  const struct iphdr *ip, __u32 l4, __u32 is_error)
{
	if (cfg->nat46_ifindex || (cfg->flags & NAT64_F_PORT_RANGE))
		return nat64_ownership_4to6(skb, ip, l4, is_error);
	return wan_destination_ours(cfg, ip) ? OURS : NOT_OURS;
}
