/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The IPv6 header chain (RFC 8200 §4, RFC 7915 §5.1): extension headers
 * walked, the Fragment header read, the upper-layer protocol found.
 */
#pragma once

#include "defs.h"

struct ipv6_info {
	__u32 l4_off;		/* from the start of the IPv6 header */
	__u32 pointer;		/* offending byte, for WALK_SEGMENTS_LEFT */
	__u32 frag_id;		/* network order */
	__u16 frag_field;	/* host order: offset << 3 | M */
	__u8 proto;
	__u8 has_frag;
};

enum ipv6_walk_result {
	WALK_OK = 0,
	WALK_MALFORMED = -1,
	WALK_AFTER_FRAGMENT = -2,	/* an extension header after the Fragment header */
	WALK_SEGMENTS_LEFT = -3,	/* Routing header with Segments Left != 0 */
	WALK_TOO_LONG = -4,
};

__noinline int nat64_ipv6_walk(struct __sk_buff *skb, __u32 l3, __u32 nexthdr, struct ipv6_info *info)
{
	__u32 off = IPV6_HDR_LEN;
	__u8 hdr[8];
	int i;

	if (!info)
		return WALK_MALFORMED;
	info->has_frag = 0;
	info->frag_field = 0;
	info->frag_id = 0;
	for (i = 0; i <= IPV6_MAX_EXT_HEADERS; i++) {
		switch (nexthdr) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_DSTOPTS:
		case IPPROTO_ROUTING:
			if (info->has_frag)
				return WALK_AFTER_FRAGMENT;
			if (bpf_skb_load_bytes(skb, l3 + off, hdr, 4))
				return WALK_MALFORMED;
			/* RFC 7915 §5.1: do not translate with Segments Left != 0. */
			if (nexthdr == IPPROTO_ROUTING && hdr[3] != 0) {
				info->pointer = off + 3;
				return WALK_SEGMENTS_LEFT;
			}
			nexthdr = hdr[0];
			off += ((__u32)hdr[1] + 1) * 8;
			break;
		case IPPROTO_FRAGMENT:
			if (info->has_frag)
				return WALK_AFTER_FRAGMENT;
			if (bpf_skb_load_bytes(skb, l3 + off, hdr, 8))
				return WALK_MALFORMED;
			info->has_frag = 1;
			info->frag_field = ((__u16)hdr[2] << 8) | hdr[3];
			__builtin_memcpy(&info->frag_id, hdr + 4, 4);
			nexthdr = hdr[0];
			off += FRAG6_HDR_LEN;
			break;
		default:
			info->proto = nexthdr;
			info->l4_off = off;
			return WALK_OK;
		}
	}
	return WALK_TOO_LONG;
}

static __always_inline int is_ipv6_ext_header(__u8 nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_FRAGMENT ||
	       nh == IPPROTO_DSTOPTS;
}

/* Bytes of L4 header the translator rewrites: a first fragment must hold them. */
static __always_inline __u32 l4_min_len(__u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return sizeof(struct tcphdr);
	case IPPROTO_UDP:
		return sizeof(struct udphdr);
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return ICMP_HDR_LEN;
	default:
		return 0;
	}
}
