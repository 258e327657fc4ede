/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Multicast the other way: an IPv4 datagram to a mapped group arriving on
 * the WAN becomes IPv6 to the map's IPv6 group, from <Prefix>::<IPv4
 * source>, and is handed to the IPv6 stack of the translator link, where
 * the kernel's IPv6 multicast routing (the daemon's MFC6 entries,
 * gatewayd/mroute.c) forwards it to the LAN: the hop limit, the operator's
 * ip6 forward rules and MLD scoping apply as to any routed packet. The
 * translator itself leaves the TTL alone, so each hop is counted once.
 *
 * The rest of the translation (checksums, options, fragments) is the
 * ordinary 4to6 path; this header only decides which packets take it and
 * where they go afterwards.
 */
#pragma once

#include "counters.h"
#include "addr.h"
#include "ownership.h"

/* IPv4 group -> IPv6 group, filled by the daemon from [Multicast] Map=. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NAT64_MAX_MCAST_MAPS);
	__type(key, __be32);
	__type(value, struct nat64_mcast_group6);
} nat64_mcast_rx SEC(".maps");

enum mcast_rx {
	MCAST_RX_NONE = 0,	/* not reverse multicast: the ordinary path decides */
	MCAST_RX_MAPPED,	/* translate to the group written to *group6 */
	MCAST_RX_UNMAPPED,	/* a group without a map: left to the host */
	MCAST_RX_SPOOFED,	/* from an address the LAN side owns */
};

/* RFC 5771 §4: 224.0.0.0/24 is link-local, never forwarded (IGMP queries live there). */
static __always_inline int is_local_group4(__be32 a)
{
	return (bpf_ntohl(a) & 0xffffff00) == 0xe0000000;
}

static __always_inline int mcast_rx_4to6(struct __sk_buff *skb, const struct nat64_config *cfg,
					 const struct iphdr *ip, int is_error, struct in6_addr *group6)
{
	struct nat64_mcast_group6 *g;

	if (!(cfg->flags & NAT64_F_MCAST_RX) || !is_multicast4(ip->daddr) || is_local_group4(ip->daddr))
		return MCAST_RX_NONE;
	/* only what comes from the WAN: NAT46 clients' multicast is theirs */
	if (cfg->wan_ifindex && ctx_read_u32(skb, ifindex) != cfg->wan_ifindex)
		return MCAST_RX_NONE;
	/* RFC 1122 §3.2.2: no ICMP error is about (or sent to) a group */
	if (is_error)
		return MCAST_RX_NONE;
	g = bpf_map_lookup_elem(&nat64_mcast_rx, &ip->daddr);
	if (!g)
		return MCAST_RX_UNMAPPED;
	/* A source inside [NAT46] IPv4Prefix= would come out as a client of
	 * the gateway (and be sent back out by the forward map's DNAT). */
	if (cfg->nat46_prefix_len && in_prefix4(ip->saddr, cfg->nat46_prefix, cfg->nat46_prefix_len))
		return MCAST_RX_SPOOFED;
	__builtin_memcpy(group6, g->addr, 16);
	return MCAST_RX_MAPPED;
}

/* Counted as passed (the host may be a member itself), and as unmapped. */
static __always_inline int mcast_rx_unmapped(void)
{
	count(NAT64_CNT_MCAST_4TO6_UNMAPPED);
	return pass();
}

/* RFC 2464 §7: 33:33 + the low 32 bits of the group. */
static __always_inline void multicast_mac6(const struct in6_addr *group, __u8 mac[6])
{
	mac[0] = 0x33;
	mac[1] = 0x33;
	__builtin_memcpy(mac + 2, &group->s6_addr[12], 4);
}

/*
 * The translated packet: PACKET_MULTICAST on the translator link (its
 * group's MAC), so ip6_mc_input() hands it to the multicast routing.
 */
static __always_inline int mcast_rx_finish(struct __sk_buff *skb, const struct nat64_config *cfg,
					   const struct in6_addr *group6, __u32 bytes)
{
	__u8 mac[6];

	count_translated(NAT64_CNT_MCAST_4TO6_PKTS, bytes);
	multicast_mac6(group6, mac);
	if (bpf_skb_store_bytes(skb, 0, mac, 6, 0))
		return drop(NAT64_CNT_DROP_INTERNAL);
	if (cfg->flags & NAT64_F_REDIRECT)
		return bpf_redirect(cfg->v6_ifindex, BPF_F_INGRESS);
	return TC_ACT_OK;
}
