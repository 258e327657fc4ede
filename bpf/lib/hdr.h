/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Header fields that change family: protocol numbers and the rules for
 * those without a counterpart, traffic class / TOS, the IPv4
 * Identification (RFC 7915 §4.1, §5.1).
 */
#pragma once

#include "parse.h"
#include "maps.h"

/*
 * IPv4 identification for DF=0 packets (RFC 6864 §4.1): a per-CPU counter
 * started at a random point, cheaper than a random number per packet.
 */
static __always_inline __u16 next_ipv4_id(void)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&nat64_scratch, &zero);

	if (!s)
		return 0;
	if (!s->next_id)
		s->next_id = bpf_get_prandom_u32() | 1;
	return bpf_htons(s->next_id++);
}

static __always_inline __u8 proto_6to4(__u8 nh)
{
	return nh == IPPROTO_ICMPV6 ? IPPROTO_ICMP : nh;
}

static __always_inline __u8 proto_4to6(__u8 p)
{
	return p == IPPROTO_ICMP ? IPPROTO_ICMPV6 : p;
}

/*
 * Protocol numbers without a counterpart in the other family. RFC 7915
 * §4.1 and §5.1 copy Protocol into Next Header and back, ICMP aside; these
 * cannot be copied: in IPv4, the numbers IPv6 reads as extension headers
 * (a header that is not there), and ICMPv6, whose checksum covers a
 * pseudo-header the IPv4 packet never had; in IPv6, ICMPv4, which would
 * leave as ICMP with an ICMPv6-shaped body. The packet an ICMP error
 * quotes is translated "in the same way" (§4.3, §5.3), so one rule serves
 * both, and what the outer translation refuses the inner one refuses too.
 */
static __always_inline int ipv4_protocol_translatable(__u8 p)
{
	return !is_ipv6_ext_header(p) && p != IPPROTO_ICMPV6;
}

static __always_inline int ipv6_protocol_translatable(__u8 nh)
{
	return nh != IPPROTO_ICMP;
}

/*
 * UDP with checksum 0, either way: IPv6 forbids it (RFC 8200 §8.1), so a
 * zero checksum is computed over the whole datagram (RFC 7915 §4.5), or
 * the datagram dropped when the operator said so (UDPZeroChecksum=drop)
 * or when the whole datagram is not here to compute it over (a fragment).
 */
static __always_inline int udp_zero_checksum_refused(const struct nat64_config *cfg, int is_fragment)
{
	return is_fragment || (cfg->flags & NAT64_F_UDP_ZERO_DROP);
}

static __always_inline __u8 tos_of_ipv6(const struct ipv6hdr *ip)
{
	return (ip->priority << 4) | (ip->flow_lbl[0] >> 4);
}

/*
 * The IPv4 packet becomes IPv6 (its L2 protocol, room for the longer
 * header). A GSO packet's segments keep inside the MTU: gso_size shrinks
 * by the 20 header bytes each segment gains (adjusting the room up and
 * back down with BPF_F_ADJ_ROOM_FIXED_GSO only once). 0 or negative errno.
 */
static __always_inline int change_proto_to_ipv6(struct __sk_buff *skb)
{
	int r = bpf_skb_change_proto(skb, bpf_htons(ETH_P_IPV6), 0);

	if (r)
		return r;
	if (skb->gso_size &&
	    bpf_skb_adjust_room(skb, IPV6_HDR_LEN - IPV4_HDR_LEN, BPF_ADJ_ROOM_NET, 0) == 0)
		bpf_skb_adjust_room(skb, -(IPV6_HDR_LEN - IPV4_HDR_LEN), BPF_ADJ_ROOM_NET, BPF_F_ADJ_ROOM_FIXED_GSO);
	return 0;
}
