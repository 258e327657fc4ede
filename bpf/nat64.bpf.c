// SPDX-License-Identifier: GPL-2.0-only
/*
 * nat64-gateway: the stateless IP/ICMP translator (RFC 7915) as two tc
 * programs, one per direction:
 *
 *   6to4  IPv6 in, IPv4 out   (an egress hook: the translator link, or za)
 *   4to6  IPv4 in, IPv6 out   (an ingress hook: the WAN, or za)
 *
 * Addresses follow RFC 6052 (bpf/rfc6052.h) and RFC 7757 explicit address
 * mappings (LPM tries). Every packet ends in one of three ways: translated,
 * passed untouched (not ours), or dropped and counted; never half-done.
 * Configuration lives in global data (struct nat64_globals) that userspace
 * fills; all zero means the default prefix 64:ff9b:1:fffe::/96.
 *
 * This file holds the two sections and the top-level flow of each
 * direction, readable top to bottom; every concern it calls on has a
 * header of its own in lib/, included in dependency order below. One
 * object is built from them (bpf/meson.build). The layouts userspace
 * shares are nat64_shared.h (maps, configuration, counters) and rfc6052.h
 * (the address embedding).
 */
#include "lib/defs.h"
#include "lib/maps.h"
#include "lib/counters.h"
#include "lib/addr.h"
#include "lib/csum.h"
#include "lib/parse.h"
#include "lib/frag.h"
#include "lib/hdr.h"
#include "lib/icmp_error.h"
#include "lib/icmp.h"
#include "lib/icmp_xlat.h"
#include "lib/hairpin.h"
#include "lib/route.h"
#include "lib/ownership.h"
#include "lib/mcast.h"
#include "lib/fastpath.h"

SEC("6to4")
int xlat_6to4(struct __sk_buff *skb)
{
	const struct nat64_config *cfg = config();
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct ipv6hdr ip6;
	struct ipv6_info info = {};
	struct iphdr ip = {};
	__be32 saddr4 = 0, daddr4 = 0;
	__u32 payload_len, l4_len, tot_len, mtu4, diff, bytes = skb->len;
	struct route4 rt = { .rc = -1, .ifindex = cfg->v6_ifindex };	/* lib/route.h */
	__u8 ttl, icmp_type = 0;
	int r, is_error = 0, echo = -1, is_gso, is_hairpin;

	if (data + ETH_HLEN > data_end || eth->h_proto != bpf_htons(ETH_P_IPV6))
		return pass();
	if (data + ETH_HLEN + IPV6_HDR_LEN > data_end)
		return drop(NAT64_CNT_DROP_MALFORMED);
	__builtin_memcpy(&ip6, data + ETH_HLEN, sizeof(ip6));
	if (ip6.version != 6)
		return drop(NAT64_CNT_DROP_MALFORMED);
	/* neighbour discovery, MLD and the like on our own link */
	if (is_link_scoped6(&ip6.daddr) || is_link_scoped6(&ip6.saddr))
		return pass();

	payload_len = bpf_ntohs(ip6.payload_len);
	/* payload length 0 with a Hop-by-Hop header is a jumbogram (RFC 2675) */
	if ((payload_len == 0 && ip6.nexthdr == IPPROTO_HOPOPTS) ||
	    ETH_HLEN + IPV6_HDR_LEN + payload_len > skb->len)
		return drop(NAT64_CNT_DROP_MALFORMED);

	/* Link-layer padding after the payload is not part of the packet. */
	if (skb->len > ETH_HLEN + IPV6_HDR_LEN + payload_len &&
	    bpf_skb_change_tail(skb, ETH_HLEN + IPV6_HDR_LEN + payload_len, 0))
		return drop(NAT64_CNT_DROP_INTERNAL);

	if (is_ipv6_ext_header(ip6.nexthdr)) {
		r = nat64_ipv6_walk(skb, ETH_HLEN, ip6.nexthdr, &info);
	} else {
		info.proto = ip6.nexthdr;
		info.l4_off = IPV6_HDR_LEN;
		r = WALK_OK;
	}
	switch (r) {
	case WALK_OK:
		break;
	case WALK_AFTER_FRAGMENT:
		/* Jool answers 1/1; RFC 7915 §5.1 leaves untranslatable chains to policy */
		return nat64_icmp6_error(skb, ICMPV6_DEST_UNREACH, ICMPV6_ADM_PROHIBITED, 0,
				   NAT64_CNT_DROP_EXT_HEADER);
	case WALK_SEGMENTS_LEFT:
		return nat64_icmp6_error(skb, ICMPV6_PARAMPROB, ICMPV6_HDR_FIELD, bpf_htonl(info.pointer),
				   NAT64_CNT_DROP_EXT_HEADER);
	case WALK_TOO_LONG:
		return drop(NAT64_CNT_DROP_EXT_HEADER);
	default:
		return drop(NAT64_CNT_DROP_MALFORMED);
	}
	if (info.l4_off > IPV6_HDR_LEN + payload_len)
		return drop(NAT64_CNT_DROP_MALFORMED);
	l4_len = IPV6_HDR_LEN + payload_len - info.l4_off;
	if (frag6_offset(&info) == 0 && l4_len < l4_min_len(info.proto))
		return drop(NAT64_CNT_DROP_MALFORMED);
	if (!ipv6_protocol_translatable(info.proto))
		return drop(NAT64_CNT_DROP_UNTRANSLATABLE_PROTOCOL);
	if (info.proto == IPPROTO_UDP && frag6_offset(&info) == 0) {
		void *d = (void *)(long)skb->data, *de = (void *)(long)skb->data_end;
		struct udphdr *udp = d + ETH_HLEN + IPV6_HDR_LEN;
		__u16 check;

		/* right after the IPv6 header (the common case): read in place, no helper call */
		if (info.l4_off == IPV6_HDR_LEN && (void *)(udp + 1) <= de)
			check = udp->check;
		else if (bpf_skb_load_bytes(skb, ETH_HLEN + info.l4_off + offsetof(struct udphdr, check), &check, 2))
			return drop(NAT64_CNT_DROP_MALFORMED);
		/* no error: an IPv6 receiver discards such a datagram silently */
		if (!check && (udp_zero_checksum_refused(cfg, frag6_more(&info)) ||
			       l4_len > CSUM_CHUNK * CSUM_MAX_CHUNKS))
			return drop(NAT64_CNT_DROP_UDP_ZERO_CHECKSUM);
	}

	if (info.proto == IPPROTO_ICMPV6 && frag6_offset(&info) == 0) {
		if (bpf_skb_load_bytes(skb, ETH_HLEN + info.l4_off, &icmp_type, 1))
			return drop(NAT64_CNT_DROP_MALFORMED);
		if (icmp_type < 128) {
			is_error = 1;
			if (info.has_frag && frag6_more(&info))
				return drop(NAT64_CNT_DROP_FRAGMENT);
		} else {
			echo = echo_6to4(icmp_type);
			if (echo < 0)
				return drop(NAT64_CNT_DROP_UNSUPPORTED_ICMP);	/* RFC 7915 §5.2: silently drop */
			/* the pseudo-header length of a fragmented message is unknown here */
			if (frag6_more(&info))
				return drop(NAT64_CNT_DROP_FRAGMENT);
		}
	}

	r = addr6to4(cfg, &ip6.daddr, &daddr4);
	if (r)
		return drop(NAT64_CNT_DROP_NOT_TRANSLATABLE);
	r = addr6to4(cfg, &ip6.saddr, &saddr4);
	if (r) {
		if (!is_error)
			return drop(NAT64_CNT_DROP_NOT_TRANSLATABLE);
		/* RFC 7915 §5.1 / RFC 6791: errors from untranslatable routers */
		saddr4 = (cfg->flags & NAT64_F_HAVE_RFC6791_V4) ? cfg->rfc6791_v4 : cfg->self_v4;
		if (!saddr4)
			return drop(NAT64_CNT_DROP_NOT_TRANSLATABLE);
	}

	ttl = ip6.hop_limit;
	if (cfg->flags & NAT64_F_ROUTER_MODE) {
		if (ttl <= 1) {
			/* never an error about an error, a non-first fragment or multicast */
			if (is_error || frag6_offset(&info) || is_multicast4(daddr4))
				return drop(NAT64_CNT_DROP_TTL_EXPIRED);
			return nat64_icmp6_error(skb, ICMPV6_TIME_EXCEED, ICMPV6_EXC_HOPLIMIT, 0,
						 NAT64_CNT_DROP_TTL_EXPIRED);
		}
		ttl--;
	}

	tot_len = IPV4_HDR_LEN + l4_len;
	/* gso_size, not gso_segs: bpf_skb_adjust_room() zeroes the latter */
	is_gso = skb->gso_size != 0;
	is_hairpin = is_eam_owned4(daddr4) && !nat64_is_eam_owned6(&ip6.daddr);
	mtu4 = is_hairpin ? 0 : cfg->mtu_v4;
	if ((cfg->flags & NAT64_F_REDIRECT) && !is_multicast4(daddr4) && !is_hairpin) {
		nat64_route_ipv4(skb, saddr4, daddr4, is_gso ? 0 : tot_len, &rt);
		if (rt.mtu && (!mtu4 || rt.mtu < mtu4))
			mtu4 = rt.mtu;
		/* Nowhere to send it: decided before translating, so such a
		 * packet is counted as dropped only, and answered as an IPv6
		 * router would (RFC 4443 §3.1), never about an error. */
		switch (rt.rc) {
		case BPF_FIB_LKUP_RET_SUCCESS:
		case BPF_FIB_LKUP_RET_NO_NEIGH:
		case BPF_FIB_LKUP_RET_FRAG_NEEDED:
			break;
		case BPF_FIB_LKUP_RET_BLACKHOLE:
			return drop(NAT64_CNT_DROP_NO_ROUTE);
		default:
			if (is_error)
				return drop(NAT64_CNT_DROP_NO_ROUTE);
			return nat64_icmp6_error(skb, ICMPV6_DEST_UNREACH,
						 rt.rc == BPF_FIB_LKUP_RET_PROHIBIT ? ICMPV6_ADM_PROHIBITED
										    : ICMPV6_NOROUTE,
						 0, NAT64_CNT_DROP_NO_ROUTE);
		}
	}
	/* A DF packet (RFC 7915 §5.1: > 1260 bytes, or fragmented) that does not fit. */
	if (mtu4 && tot_len > mtu4 && !is_error && !is_gso &&
	    (info.has_frag || tot_len > IPV4_DF_THRESHOLD))
		return nat64_icmp6_error(skb, ICMPV6_PKT_TOOBIG, 0,
					 bpf_htonl(mtu4 + IPV6_HDR_LEN - IPV4_HDR_LEN),
					 NAT64_CNT_DROP_TOO_BIG);
	if (rt.rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)
		ttl++;	/* see nat64_send_ipv4() */

	if (is_error) {
		r = nat64_xlat_icmp6_error(skb, info.l4_off, saddr4, daddr4,
					   ttl | (info.has_frag ? XLAT6_ERROR_OUTER_FRAG : 0) |
					   (bpf_ntohl(info.frag_id) & 0xffff) << 16);
		if (r != TC_ACT_OK)
			return r;
		count_translated(NAT64_CNT_PKTS_6TO4, bytes);
		if (is_hairpin)
			return hairpin(skb);
		return (cfg->flags & NAT64_F_REDIRECT) ? nat64_send_ipv4(skb, &rt, daddr4) : TC_ACT_OK;
	}

	/* [IPv6][ext headers][L4] -> [IPv4][L4] */
	if (info.l4_off > IPV6_HDR_LEN &&
	    bpf_skb_adjust_room(skb, -(int)(info.l4_off - IPV6_HDR_LEN), BPF_ADJ_ROOM_NET, 0))
		return drop(NAT64_CNT_DROP_INTERNAL);
	if (bpf_skb_change_proto(skb, bpf_htons(ETH_P_IP), 0))
		return drop(NAT64_CNT_DROP_INTERNAL);

	ip.version = 4;
	ip.ihl = 5;
	ip.tos = tos_of_ipv6(&ip6);
	ip.tot_len = bpf_htons(tot_len);
	if (info.has_frag) {
		/* RFC 7915 §5.1.1: low 16 bits of the Identification, MF and offset copied */
		ip.id = bpf_htons(bpf_ntohl(info.frag_id) & 0xffff);
		ip.frag_off = bpf_htons(ipv4_frag_field_of(&info));
	} else if (tot_len > IPV4_DF_THRESHOLD) {
		ip.frag_off = bpf_htons(IP_DF);
	} else {
		ip.id = next_ipv4_id();		/* RFC 6864: DF=0 needs a fresh ID */
	}
	ip.ttl = ttl;
	ip.protocol = proto_6to4(info.proto);
	ip.saddr = saddr4;
	ip.daddr = daddr4;
	ip.check = ipv4_hdr_csum(&ip);
	{
		void *d = (void *)(long)skb->data, *de = (void *)(long)skb->data_end;
		struct ethhdr *e = d;

		if (d + ETH_HLEN + IPV4_HDR_LEN > de)
			return drop(NAT64_CNT_DROP_INTERNAL);
		e->h_proto = bpf_htons(ETH_P_IP);
		__builtin_memcpy(d + ETH_HLEN, &ip, sizeof(ip));
	}

	/* L4: only the first fragment carries the header (RFC 7915 §5.5) */
	if (frag6_offset(&info) == 0) {
		__u32 l4 = ETH_HLEN + IPV4_HDR_LEN;
		__u16 check;

		switch (info.proto) {
		case IPPROTO_TCP:
			diff = pseudo_diff_6to4_inline(&ip6, saddr4, daddr4);
			if (bpf_l4_csum_replace(skb, l4 + offsetof(struct tcphdr, check), 0, diff,
						BPF_F_PSEUDO_HDR))
				return drop(NAT64_CNT_DROP_INTERNAL);
			break;
		case IPPROTO_UDP: {
			void *d = (void *)(long)skb->data, *de = (void *)(long)skb->data_end;

			if (d + l4 + sizeof(struct udphdr) > de)
				return drop(NAT64_CNT_DROP_MALFORMED);
			check = ((struct udphdr *)(d + l4))->check;
			if (!check) {
				/* refused above unless computable: the whole datagram is here */
				if (nat64_udp_checksum_fill(skb, l4, l4_len,
							    nat64_csum_ipv4_pseudo(saddr4, daddr4, l4_len, IPPROTO_UDP)))
					return drop(NAT64_CNT_DROP_INTERNAL);
				break;
			}
			diff = pseudo_diff_6to4_inline(&ip6, saddr4, daddr4);
			if (bpf_l4_csum_replace(skb, l4 + offsetof(struct udphdr, check), 0, diff,
						BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0))
				return drop(NAT64_CNT_DROP_INTERNAL);
			break;
		}
		case IPPROTO_ICMPV6: {
			__u16 old_word, new_word;
			__u8 tc[2];

			if (bpf_skb_load_bytes(skb, l4, tc, 2))
				return drop(NAT64_CNT_DROP_MALFORMED);
			__builtin_memcpy(&old_word, tc, 2);
			tc[0] = echo;
			__builtin_memcpy(&new_word, tc, 2);
			/* ICMPv4 has no pseudo-header (RFC 7915 §5.2) */
			diff = ~(__u32)nat64_csum_ipv6_pseudo(&ip6.saddr, &ip6.daddr, l4_len,
						 IPPROTO_ICMPV6, 0);
			if (bpf_l4_csum_replace(skb, l4 + 2, 0, diff, 0) ||
			    store_word_csum(skb, l4, old_word, new_word, l4 + 2))
				return drop(NAT64_CNT_DROP_INTERNAL);
			break;
		}
		default:
			break;	/* other protocols: translated at the IP level only */
		}
	}

	count_translated(NAT64_CNT_PKTS_6TO4, bytes);
	if (is_hairpin)
		return hairpin(skb);
	if (cfg->flags & NAT64_F_REDIRECT)
		return nat64_send_ipv4(skb, &rt, daddr4);
	if (is_multicast4(daddr4)) {
		__u8 mac[6];

		multicast_mac4(daddr4, mac);
		bpf_skb_store_bytes(skb, 0, mac, 6, 0);
	}
	return TC_ACT_OK;
}


SEC("4to6")
int xlat_4to6(struct __sk_buff *skb)
{
	const struct nat64_config *cfg = config();
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr ip;
	struct ipv6hdr ip6 = {};
	struct icmphdr icmp = {};
	__u32 ihl_len, tot_len, l4, payload_len, out_len, diff, limit, bytes = skb->len, mark = skb->mark;
	__u32 head_len = 0, frag_offset, hairpin = cb0_read(skb) == NAT64_CB_HAIRPIN;
	__u8 hop_limit, frag_hdr[FRAG6_HDR_LEN] = {};
	int is_error = 0, echo = -1, is_fragment, need_frag_hdr, split = 0, is_nat46, ownership;
	int mcast = MCAST_RX_NONE;
	__u16 udp_check = 0;

	if (data + ETH_HLEN > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return pass();
	/* a reply of a flow the fast path took a moment ago (lib/fastpath.h) */
	if ((cfg->flags & NAT64_F_FASTPATH) && !hairpin &&
	    !(cfg->nat46_ifindex && ctx_read_u32(skb, ifindex) == cfg->nat46_ifindex)) {
		int r = nat64_fastpath_4to6_cached(skb);

		if (r != FASTPATH_6TO4_GENERAL)
			return r;
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
	}
	if (data + ETH_HLEN + IPV4_HDR_LEN > data_end)
		return drop(NAT64_CNT_DROP_MALFORMED);
	__builtin_memcpy(&ip, data + ETH_HLEN, sizeof(ip));
	if (ip.version != 4 || ip.ihl < 5)
		return drop(NAT64_CNT_DROP_MALFORMED);
	ihl_len = ip.ihl * 4;
	tot_len = bpf_ntohs(ip.tot_len);
	if (tot_len < ihl_len || ETH_HLEN + tot_len > skb->len)
		return drop(NAT64_CNT_DROP_MALFORMED);
	l4 = ETH_HLEN + ihl_len;
	frag_offset = bpf_ntohs(ip.frag_off) & IP_OFFMASK;
	if (frag_offset == 0 && tot_len - ihl_len < l4_min_len(ip.protocol))
		return drop(NAT64_CNT_DROP_MALFORMED);
	is_fragment = frag_offset || (ip.frag_off & bpf_htons(IP_MF));

	if (ip.protocol == IPPROTO_ICMP && frag_offset == 0) {
		if (bpf_skb_load_bytes(skb, l4, &icmp, sizeof(icmp)))
			return drop(NAT64_CNT_DROP_MALFORMED);
		echo = echo_4to6(icmp.type);
		is_error = icmp.type == ICMP_DEST_UNREACH || icmp.type == ICMP_TIME_EXCEEDED ||
			   icmp.type == ICMP_PARAMETERPROB || icmp.type == ICMP_SOURCE_QUENCH ||
			   icmp.type == ICMP_REDIRECT;
	}

	if (hairpin) {
		cb0_write(skb, 0);
		is_nat46 = 0;
	} else {
		/* IPv4 groups from the WAN to their IPv6 groups (lib/mcast.h) */
		mcast = mcast_rx_4to6(skb, cfg, &ip, is_error, &ip6.daddr);
		if (mcast == MCAST_RX_UNMAPPED)
			return mcast_rx_unmapped();
		if (mcast == MCAST_RX_SPOOFED)
			return drop(NAT64_CNT_DROP_SPOOFED);
		ownership = mcast ? OURS : ownership_4to6(skb, cfg, &ip, l4, is_error);
		if (ownership == NOT_OURS)
			return pass();
		is_nat46 = ownership == OURS_NAT46;
		if (cfg->nr_pool4 && !is_nat46 && in_pool4(cfg, ip.saddr))
			return drop(NAT64_CNT_DROP_SPOOFED);	/* our own addresses never come from outside */
	}
	if (!ipv4_protocol_translatable(ip.protocol))
		return drop(NAT64_CNT_DROP_UNTRANSLATABLE_PROTOCOL);

	/* Link-layer padding after Total Length is not part of the datagram. */
	if (skb->len > ETH_HLEN + tot_len && bpf_skb_change_tail(skb, ETH_HLEN + tot_len, 0))
		return drop(NAT64_CNT_DROP_INTERNAL);

	if (ihl_len == IPV4_HDR_LEN) {
		if (!ipv4_hdr_valid(&ip))
			return drop(NAT64_CNT_DROP_BAD_CHECKSUM);
	} else if (csum_fold32(nat64_csum_skb(skb, ETH_HLEN, ihl_len, 0)) != 0xffff) {
		return drop(NAT64_CNT_DROP_BAD_CHECKSUM);
	}

	if (ip.protocol == IPPROTO_ICMP && frag_offset == 0) {
		if (is_error && is_fragment)
			return drop(NAT64_CNT_DROP_FRAGMENT);
		if (!is_error && echo < 0)
			return drop(NAT64_CNT_DROP_UNSUPPORTED_ICMP);	/* RFC 7915 §4.2 */
		if (!is_error && (ip.frag_off & bpf_htons(IP_MF)))
			return drop(NAT64_CNT_DROP_FRAGMENT);	/* pseudo-header length unknown */
	}

	if (ip.protocol == IPPROTO_UDP && frag_offset == 0) {
		void *d = (void *)(long)skb->data, *de = (void *)(long)skb->data_end;

		if (d + l4 + sizeof(struct udphdr) > de)
			return drop(NAT64_CNT_DROP_MALFORMED);
		udp_check = ((struct udphdr *)(d + l4))->check;
		/* RFC 7915 §4.5: a fragment's checksum cannot be computed */
		if (!udp_check && udp_zero_checksum_refused(cfg, is_fragment))
			return nat64_icmp4_error(skb, ICMP_DEST_UNREACH, ICMP_PKT_FILTERED, 0,
					   NAT64_CNT_DROP_UDP_ZERO_CHECKSUM);
	}

	if (!mcast && nat64_addr_4to6(ip.daddr, &ip6.daddr, 0))
		return drop(NAT64_CNT_DROP_NOT_TRANSLATABLE);
	if (nat64_addr_4to6(ip.saddr, &ip6.saddr, hairpin ? MAP_PREFIX_ONLY : 0)) {
		if (!is_error)
			return drop(NAT64_CNT_DROP_NOT_TRANSLATABLE);
		if (cfg->flags & NAT64_F_HAVE_RFC6791_V6)
			__builtin_memcpy(&ip6.saddr, cfg->rfc6791_v6, 16);
		else if (!ipv6_is_zero(cfg->self_v6))
			__builtin_memcpy(&ip6.saddr, cfg->self_v6, 16);
		else
			return drop(NAT64_CNT_DROP_NOT_TRANSLATABLE);
	}

	/*
	 * RFC 7915 §4.5: a zero UDP checksum is computed for IPv6 now, while
	 * the whole datagram is still here (it may be split below).
	 */
	if (ip.protocol == IPPROTO_UDP && frag_offset == 0 && !udp_check &&
	    nat64_udp_checksum_fill(skb, l4, tot_len - ihl_len,
				    nat64_csum_ipv6_pseudo(&ip6.saddr, &ip6.daddr, tot_len - ihl_len,
							   IPPROTO_UDP, 0)))
		return drop(NAT64_CNT_DROP_INTERNAL);

	hop_limit = ip.ttl;
	if ((cfg->flags & NAT64_F_ROUTER_MODE) && !hairpin) {	/* a hairpin is one hop */
		if (hop_limit <= 1) {
			if (is_error || frag_offset || is_multicast4(ip.daddr))
				return drop(NAT64_CNT_DROP_TTL_EXPIRED);
			return nat64_icmp4_error(skb, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0,
						 NAT64_CNT_DROP_TTL_EXPIRED);
		}
		hop_limit--;
	}

	if (is_error) {
		int r = nat64_xlat_icmp4_error(skb, ihl_len, &ip6.saddr, &ip6.daddr,
					       (__u32)hop_limit << 8 | ip.tos |
					       (hairpin ? XLAT4_ERROR_HAIRPIN : 0));

		if (r != TC_ACT_OK)
			return r;
		count_translated(NAT64_CNT_PKTS_4TO6, bytes);
		return finish_4to6(skb, cfg, hairpin);
	}

	/*
	 * Size (RFC 7915 §4.1, §6): DF packets that do not fit the IPv6 side
	 * are answered with Fragmentation Needed; others are fragmented to the
	 * smaller of LowestIPv6MTU and the IPv6 egress MTU.
	 */
	payload_len = tot_len - ihl_len;
	need_frag_hdr = is_fragment;
	out_len = IPV6_HDR_LEN + (need_frag_hdr ? FRAG6_HDR_LEN : 0) + payload_len;
	if (!hairpin && !skb->gso_size) {
		limit = cfg->lowest_ipv6_mtu ?: IPV6_MIN_MTU;
		if (cfg->mtu_v6 && cfg->mtu_v6 < limit)
			limit = cfg->mtu_v6;
		if (ip.frag_off & bpf_htons(IP_DF)) {
			if (cfg->mtu_v6 && out_len > cfg->mtu_v6)
				return nat64_icmp4_error(skb, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED,
						   bpf_htonl(cfg->mtu_v6 - (IPV6_HDR_LEN - IPV4_HDR_LEN)),
						   NAT64_CNT_DROP_TOO_BIG);
		} else if (IPV6_HDR_LEN + FRAG6_HDR_LEN + payload_len > limit && out_len > limit) {
			need_frag_hdr = 1;
			split = 1;
			head_len = (limit - IPV6_HDR_LEN - FRAG6_HDR_LEN) & ~7U;
		}
	}

	/* The second fragment is a clone of the packet, marked, made from its tail. */
	if (split && mark != NAT64_MARK_TAIL_FRAGMENT) {
		skb->mark = NAT64_MARK_TAIL_FRAGMENT;
		bpf_clone_redirect(skb, ctx_read_u32(skb, ifindex), BPF_F_INGRESS);
		skb->mark = mark;
	}

	if (need_frag_hdr) {
		__u16 field = frag_offset << 3;
		__u32 id = bpf_ntohs(ip.id);

		if (split && mark == NAT64_MARK_TAIL_FRAGMENT) {
			field = (frag_offset + head_len / 8) << 3;
			if (ip.frag_off & bpf_htons(IP_MF))
				field |= 1;
		} else if (split || (ip.frag_off & bpf_htons(IP_MF))) {
			field |= 1;
		}
		frag_hdr[0] = proto_4to6(ip.protocol);
		frag_hdr[2] = field >> 8;
		frag_hdr[3] = field;
		id = bpf_htonl(id);	/* RFC 7915 §4.1: Identification copied into the low bits */
		__builtin_memcpy(frag_hdr + 4, &id, 4);
	}

	/* [IPv4+opt][L4] -> [IPv6][frag][L4] */
	{
		int adjust = -(int)(ihl_len - IPV4_HDR_LEN);

		if (split && mark == NAT64_MARK_TAIL_FRAGMENT) {
			adjust -= head_len;
			payload_len -= head_len;
		}
		if (adjust && bpf_skb_adjust_room(skb, adjust, BPF_ADJ_ROOM_NET, 0))
			return drop(NAT64_CNT_DROP_INTERNAL);
	}
	if (split && mark != NAT64_MARK_TAIL_FRAGMENT) {
		payload_len = head_len;
		if (bpf_skb_change_tail(skb, ETH_HLEN + IPV4_HDR_LEN + head_len, 0))
			return drop(NAT64_CNT_DROP_INTERNAL);
	}
	if (change_proto_to_ipv6(skb))
		return drop(NAT64_CNT_DROP_INTERNAL);
	if (need_frag_hdr && bpf_skb_adjust_room(skb, FRAG6_HDR_LEN, BPF_ADJ_ROOM_NET, 0))
		return drop(NAT64_CNT_DROP_INTERNAL);

	ip6.version = 6;
	ip6.priority = ip.tos >> 4;
	ip6.flow_lbl[0] = ip.tos << 4;	/* flow label 0 (RFC 7915 §4.1) */
	ip6.payload_len = bpf_htons(payload_len + (need_frag_hdr ? FRAG6_HDR_LEN : 0));
	ip6.nexthdr = need_frag_hdr ? IPPROTO_FRAGMENT : proto_4to6(ip.protocol);
	ip6.hop_limit = hop_limit;
	{
		void *d = (void *)(long)skb->data, *de = (void *)(long)skb->data_end;
		struct ethhdr *e = d;

		if (d + ETH_HLEN + IPV6_HDR_LEN > de)
			return drop(NAT64_CNT_DROP_INTERNAL);
		e->h_proto = bpf_htons(ETH_P_IPV6);
		__builtin_memcpy(d + ETH_HLEN, &ip6, sizeof(ip6));
	}
	if (need_frag_hdr && bpf_skb_store_bytes(skb, ETH_HLEN + IPV6_HDR_LEN, frag_hdr, FRAG6_HDR_LEN, 0))
		return drop(NAT64_CNT_DROP_INTERNAL);

	if (frag_offset == 0 && !(split && mark == NAT64_MARK_TAIL_FRAGMENT)) {
		__u32 l4n = ETH_HLEN + IPV6_HDR_LEN + (need_frag_hdr ? FRAG6_HDR_LEN : 0);

		switch (ip.protocol) {
		case IPPROTO_TCP:
			diff = pseudo_diff_4to6_inline(ip.saddr, ip.daddr, &ip6);
			if (bpf_l4_csum_replace(skb, l4n + offsetof(struct tcphdr, check), 0, diff,
						BPF_F_PSEUDO_HDR))
				return drop(NAT64_CNT_DROP_INTERNAL);
			break;
		case IPPROTO_UDP:
			if (!udp_check)
				break;	/* computed for IPv6 already, over the whole datagram */
			diff = pseudo_diff_4to6_inline(ip.saddr, ip.daddr, &ip6);
			if (bpf_l4_csum_replace(skb, l4n + offsetof(struct udphdr, check), 0, diff,
						BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0))
				return drop(NAT64_CNT_DROP_INTERNAL);
			break;
		case IPPROTO_ICMP: {
			__u16 old_word, new_word;
			__u8 tc[2] = { icmp.type, icmp.code };

			__builtin_memcpy(&old_word, tc, 2);
			tc[0] = echo;
			__builtin_memcpy(&new_word, tc, 2);
			/* ICMPv6 covers a pseudo-header (RFC 4443 §2.3) */
			diff = (__u32)nat64_csum_ipv6_pseudo(&ip6.saddr, &ip6.daddr, tot_len - ihl_len,
							     IPPROTO_ICMPV6, 0);
			if (bpf_l4_csum_replace(skb, l4n + 2, 0, diff, 0) ||
			    store_word_csum(skb, l4n, old_word, new_word, l4n + 2))
				return drop(NAT64_CNT_DROP_INTERNAL);
			break;
		}
		default:
			break;
		}
	}

	count_translated(NAT64_CNT_PKTS_4TO6, bytes);
	if (mcast)
		return mcast_rx_finish(skb, cfg, &ip6.daddr, bytes);
	/* established flows: de-NAT and on in this pass (lib/fastpath.h) */
	if ((cfg->flags & NAT64_F_FASTPATH) && !hairpin && !is_fragment && !split &&
	    (ip.protocol == IPPROTO_TCP || ip.protocol == IPPROTO_UDP)) {
		/* the reply's IPv4 tuple, to name its slot of nat64_fastpath_reply_cache */
		cb_write(skb, FASTPATH_CB_SADDR4, ip.saddr);
		cb_write(skb, FASTPATH_CB_DADDR4, ip.daddr);
		bpf_tail_call(skb, &nat64_fastpath_progs, FASTPATH_PROG_AFTER_4TO6);
	}
	return finish_4to6(skb, cfg, hairpin);
}

/*
 * The fast path's own hook, the LAN's ingress ([NAT66] Interface=): IPv6
 * from clients to the prefixes; IPv4 on the [NAT46] interface is 4to6's
 * (one program per hook, so this one hands it over).
 */
SEC("fastpath")
int xlat_fastpath(struct __sk_buff *skb)
{
	const struct nat64_config *cfg = config();

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		if (cfg->nat46_ifindex && ctx_read_u32(skb, ifindex) == cfg->nat46_ifindex)
			bpf_tail_call(skb, &nat64_fastpath_progs, FASTPATH_PROG_4TO6);
		return TC_ACT_OK;
	}
	if (!(cfg->flags & NAT64_F_FASTPATH))
		return TC_ACT_OK;
	return nat64_fastpath(skb, cfg, 0);
}

/* xlat_4to6 tail-calls this with the packet it has just made IPv6. */
SEC("fastpath_4to6")
int xlat_fastpath_4to6(struct __sk_buff *skb)
{
	return nat64_fastpath(skb, config(), 1);
}

char LICENSE[] SEC("license") = "GPL";
