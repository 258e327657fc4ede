/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ICMP errors translated with the packet they quote (RFC 7915 §4.3, §5.3):
 * the quoted header in the other family and its L4 checksum fixed, under the
 * same rules as an outer packet (hdr.h).
 */
#pragma once

#include "icmp.h"
#include "icmp_error.h"
#include "addr.h"
#include "frag.h"
#include "hdr.h"

/* Translate the IPv6 header quoted in an ICMPv6 error and its L4 header. */
struct inner6 {
	struct ipv6hdr ip;
	struct ipv6_info info;
	__be32 saddr4, daddr4;
};

/*
 * Fix the quoted L4 header at off (already moved to its new place) with
 * plain arithmetic: the quoted packet is data to the outer checksum, which
 * is computed afresh afterwards. diff covers the pseudo-header change.
 */
static __always_inline void fix_quoted_l4(struct __sk_buff *skb, __u32 off, __u8 proto, __u32 diff,
					  int icmp_echo_type, __u32 available)
{
	__u16 check, word, nword;
	__u8 hdr[4];

	if (proto == IPPROTO_TCP && available >= 18) {
		if (bpf_skb_load_bytes(skb, off + 16, &check, 2) == 0) {
			check = csum_update(check, diff);
			bpf_skb_store_bytes(skb, off + 16, &check, 2, 0);
		}
	} else if (proto == IPPROTO_UDP && available >= 8) {
		if (bpf_skb_load_bytes(skb, off + 6, &check, 2) == 0 && check) {
			check = csum_update(check, diff);
			bpf_skb_store_bytes(skb, off + 6, &check, 2, 0);
		}
	} else if (icmp_echo_type >= 0 && available >= 4) {
		if (bpf_skb_load_bytes(skb, off, hdr, 4))
			return;
		__builtin_memcpy(&word, hdr, 2);
		__builtin_memcpy(&check, hdr + 2, 2);
		hdr[0] = icmp_echo_type;
		__builtin_memcpy(&nword, hdr, 2);
		diff = csum_add32(diff, csum_add32((__u16)~word, nword));
		check = csum_update(check, diff);
		__builtin_memcpy(hdr + 2, &check, 2);
		bpf_skb_store_bytes(skb, off, hdr, 4, 0);
	}
}

/*
 * ICMPv6 error -> ICMPv4 error, the quoted IPv6 packet translated too
 * (RFC 7915 §5.3). l4_off: ICMPv6 header offset from the IPv6 header.
 */
/* Working state of nat64_xlat_icmp6_error(), kept off the 512-byte stack. */
struct icmp6_error_state {
	struct ipv6hdr outer;
	struct inner6 in;
	struct icmp_shape sh;
	struct iphdr ip, iip;
	struct icmphdr icmp;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct icmp6_error_state);
} nat64_icmp6_error_state SEC(".maps");

#define XLAT6_ERROR_OUTER_FRAG (1U << 8)

/* ttl_frag: hop limit in bits 0..7, the outer Fragment header's presence in
 * bit 8 and the low 16 bits of its Identification in bits 16..31. */
__noinline int nat64_xlat_icmp6_error(struct __sk_buff *skb, __u32 l4_off, __be32 saddr4, __be32 daddr4,
				  __u32 ttl_frag)
{
	__u8 ttl = ttl_frag;
	struct icmp6hdr icmp6;
	struct icmp_xlat x;
	struct icmp6_error_state *st;
	struct icmp_shape *sh;
	struct inner6 *in;
	__u32 zero = 0;
	struct iphdr *ip, *iip;
	struct icmphdr *icmp;
	__u32 inner_off = ETH_HLEN + l4_off + ICMP_HDR_LEN, remove, quoted, out_len, diff;
	__u32 inner_l4_len, inner_avail;
	int echo = -1, r;
	__u16 check;

	st = bpf_map_lookup_elem(&nat64_icmp6_error_state, &zero);
	if (!st)
		return drop(NAT64_CNT_DROP_INTERNAL);
	__builtin_memset(st, 0, sizeof(*st));
	in = &st->in;
	sh = &st->sh;
	ip = &st->ip;
	iip = &st->iip;
	icmp = &st->icmp;

	/*
	 * The error is rewritten and its checksum computed afresh, so check the
	 * one it came with first: a corrupt error must not come out valid.
	 */
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &st->outer, sizeof(st->outer)))
		return drop(NAT64_CNT_DROP_MALFORMED);
	{
		__u32 icmp_len = IPV6_HDR_LEN + bpf_ntohs(st->outer.payload_len) - l4_off;
		__u32 sum = nat64_csum_ipv6_pseudo(&st->outer.saddr, &st->outer.daddr, icmp_len,
						   IPPROTO_ICMPV6, 0);

		if (csum_fold32(nat64_csum_skb(skb, ETH_HLEN + l4_off, icmp_len, sum)) != 0xffff)
			return drop(NAT64_CNT_DROP_BAD_CHECKSUM);
	}

	if (bpf_skb_load_bytes(skb, ETH_HLEN + l4_off, &icmp6, sizeof(icmp6)) ||
	    bpf_skb_load_bytes(skb, inner_off, &in->ip, sizeof(in->ip)) || in->ip.version != 6)
		return drop(NAT64_CNT_DROP_MALFORMED);
	if (icmp_6to4_error(config(), &icmp6, &x))
		return drop(NAT64_CNT_DROP_UNSUPPORTED_ICMP);

	r = nat64_ipv6_walk(skb, inner_off, in->ip.nexthdr, &in->info);
	if (r != WALK_OK)
		return drop(NAT64_CNT_DROP_MALFORMED);
	if (skb->len < inner_off + in->info.l4_off)
		return drop(NAT64_CNT_DROP_MALFORMED);
	if (!ipv6_protocol_translatable(in->info.proto))
		return drop(NAT64_CNT_DROP_UNTRANSLATABLE_PROTOCOL);
	if (nat64_addr_6to4(&in->ip.saddr, &in->saddr4) ||
	    nat64_addr_6to4(&in->ip.daddr, &in->daddr4))
		return drop(NAT64_CNT_DROP_NOT_TRANSLATABLE);
	if (in->ip.nexthdr == IPPROTO_ICMPV6 || in->info.proto == IPPROTO_ICMPV6) {
		__u8 t;

		if (in->info.proto == IPPROTO_ICMPV6 &&
		    bpf_skb_load_bytes(skb, inner_off + in->info.l4_off, &t, 1) == 0) {
			if (t < 128)
				return drop(NAT64_CNT_DROP_UNSUPPORTED_ICMP);	/* error in error */
			echo = echo_6to4(t);
		}
	}

	/* [IPv6][ext][ICMPv6][IPv6'][ext'][L4'] -> [IPv4][ICMP][IPv4'][L4'] */
	remove = (l4_off - IPV6_HDR_LEN) + (in->info.l4_off - IPV4_HDR_LEN);
	if (bpf_skb_adjust_room(skb, -(int)remove, BPF_ADJ_ROOM_NET, 0) ||
	    bpf_skb_change_proto(skb, bpf_htons(ETH_P_IP), 0))
		return drop(NAT64_CNT_DROP_INTERNAL);

	/* the quoted header keeps the original (untruncated) length */
	inner_l4_len = bpf_ntohs(in->ip.payload_len) + IPV6_HDR_LEN - in->info.l4_off;

	sh->hdr_len = IPV4_HDR_LEN + ICMP_HDR_LEN;
	sh->max_len = ICMP4_ERROR_MAX;
	sh->unit = 4;
	if (icmp_has_length6(icmp6.icmp6_type) && icmp6.icmp6_dataun.un_data8[0]) {
		__u32 len_field = icmp6.icmp6_dataun.un_data8[0] * 8;
		__u32 declared = IPV6_HDR_LEN + bpf_ntohs(in->ip.payload_len);
		__u32 dgram = len_field < declared ? len_field : declared;

		if (dgram >= in->info.l4_off) {
			sh->dgram_len = dgram - (in->info.l4_off - IPV4_HDR_LEN);
			sh->ext_off = sh->hdr_len + len_field - (in->info.l4_off - IPV4_HDR_LEN);
		}
	}
	if (nat64_shape_icmp_body(skb, sh))
		return drop(NAT64_CNT_DROP_INTERNAL);
	quoted = sh->body_len;
	out_len = IPV4_HDR_LEN + ICMP_HDR_LEN + quoted;
	if (sh->length_field)
		x.rest = (x.rest & bpf_htonl(0xff00ffff)) | bpf_htonl(sh->length_field << 16);
	iip->version = 4;
	iip->ihl = 5;
	iip->tos = tos_of_ipv6(&in->ip);
	iip->tot_len = bpf_htons(IPV4_HDR_LEN + inner_l4_len);
	if (in->info.has_frag) {
		iip->id = bpf_htons(bpf_ntohl(in->info.frag_id) & 0xffff);
		iip->frag_off = bpf_htons(ipv4_frag_field_of(&in->info));
	} else if (IPV4_HDR_LEN + inner_l4_len > IPV4_DF_THRESHOLD) {
		iip->frag_off = bpf_htons(IP_DF);
	}
	iip->ttl = in->ip.hop_limit;
	iip->protocol = proto_6to4(in->info.proto);
	iip->saddr = in->saddr4;
	iip->daddr = in->daddr4;
	iip->check = ipv4_hdr_csum(iip);

	ip->version = 4;
	ip->ihl = 5;
	ip->tos = tos_of_ipv6(&st->outer);	/* RFC 7915 §5.1 */
	ip->tot_len = bpf_htons(out_len);
	if (ttl_frag & XLAT6_ERROR_OUTER_FRAG)
		ip->id = bpf_htons(ttl_frag >> 16);
	else
		ip->id = bpf_get_prandom_u32();	/* DF=0: RFC 6864 wants a fresh ID */
	ip->ttl = ttl;
	ip->protocol = IPPROTO_ICMP;
	ip->saddr = saddr4;
	ip->daddr = daddr4;
	ip->check = ipv4_hdr_csum(ip);

	icmp->type = x.type;
	icmp->code = x.code;
	icmp->un.gateway = x.rest;

	if (bpf_skb_store_bytes(skb, ETH_HLEN, ip, sizeof(*ip), 0) ||
	    bpf_skb_store_bytes(skb, ETH_HLEN + IPV4_HDR_LEN, icmp, sizeof(*icmp), 0) ||
	    bpf_skb_store_bytes(skb, ETH_HLEN + IPV4_HDR_LEN + ICMP_HDR_LEN, iip, sizeof(*iip), 0))
		return drop(NAT64_CNT_DROP_INTERNAL);
	{
		__be16 proto = bpf_htons(ETH_P_IP);

		bpf_skb_store_bytes(skb, 12, &proto, 2, 0);
	}

	if (frag6_offset(&in->info) == 0) {
		inner_avail = quoted > IPV4_HDR_LEN ? quoted - IPV4_HDR_LEN : 0;
		diff = pseudo_diff_6to4_inline(&in->ip, in->saddr4, in->daddr4);
		if (in->info.proto == IPPROTO_ICMPV6) {
			/* ICMPv4 has no pseudo-header: take all of the IPv6 one out */
			diff = ~(__u32)nat64_csum_ipv6_pseudo(&in->ip.saddr, &in->ip.daddr,
						 inner_l4_len, IPPROTO_ICMPV6, 0);
		}
		fix_quoted_l4(skb, ETH_HLEN + 2 * IPV4_HDR_LEN + ICMP_HDR_LEN, in->info.proto, diff, echo,
			      inner_avail);
	}

	check = ~csum_fold32((__u32)nat64_csum_skb(skb, ETH_HLEN + IPV4_HDR_LEN, ICMP_HDR_LEN + quoted, 0));
	if (bpf_skb_store_bytes(skb, ETH_HLEN + IPV4_HDR_LEN + 2, &check, 2, 0))
		return drop(NAT64_CNT_DROP_INTERNAL);
	return TC_ACT_OK;
}

#define XLAT4_ERROR_HAIRPIN (1U << 16)

/* Working state of nat64_xlat_icmp4_error(), kept off the 512-byte stack. */
struct icmp4_error_state {
	struct ipv6hdr ip6, iip6;
	struct icmp_shape sh;
	__u8 frag[FRAG6_HDR_LEN];
	struct iphdr iip;
	struct icmphdr icmp;
	struct icmp6hdr icmp6;
	struct icmp_xlat x;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct icmp4_error_state);
} nat64_icmp4_error_state SEC(".maps");

/* ICMPv4 error -> ICMPv6 error, quoted IPv4 packet translated (RFC 7915 §4.3). */
__noinline int nat64_xlat_icmp4_error(struct __sk_buff *skb, __u32 ihl_len, const struct in6_addr *saddr6,
				  const struct in6_addr *daddr6, __u32 hop_limit_and_tos)
{
	const struct nat64_config *cfg = config();
	struct icmphdr *icmp;
	struct iphdr *iip;
	struct icmp4_error_state *st;
	struct ipv6hdr *ip6, *iip6;
	struct icmp6hdr *icmp6;
	struct icmp_xlat *x;
	struct icmp_shape *sh;
	__u32 zero = 0;
	__u32 inner_off = ETH_HLEN + ihl_len + ICMP_HDR_LEN, inner_ihl, out_len, quoted, sum, diff;
	__u32 inner_payload, inner_frag_len;
	int grow, echo = -1;
	__u16 check;
	__u8 t;
	__u8 hop_limit = hop_limit_and_tos >> 8, tos = hop_limit_and_tos;
	int hairpin = hop_limit_and_tos & XLAT4_ERROR_HAIRPIN;

	if (!saddr6 || !daddr6)
		return TC_ACT_SHOT;
	st = bpf_map_lookup_elem(&nat64_icmp4_error_state, &zero);
	if (!st)
		return drop(NAT64_CNT_DROP_INTERNAL);
	__builtin_memset(st, 0, sizeof(*st));
	ip6 = &st->ip6;
	iip6 = &st->iip6;
	sh = &st->sh;
	iip = &st->iip;
	icmp = &st->icmp;
	icmp6 = &st->icmp6;
	x = &st->x;

	if (bpf_skb_load_bytes(skb, ETH_HLEN + ihl_len, icmp, sizeof(*icmp)) ||
	    bpf_skb_load_bytes(skb, inner_off, iip, sizeof(*iip)) || iip->version != 4 || iip->ihl < 5)
		return drop(NAT64_CNT_DROP_MALFORMED);
	inner_ihl = iip->ihl * 4;
	if (skb->len < inner_off + inner_ihl)
		return drop(NAT64_CNT_DROP_MALFORMED);
	if (!ipv4_protocol_translatable(iip->protocol))
		return drop(NAT64_CNT_DROP_UNTRANSLATABLE_PROTOCOL);
	/* recomputed below: a corrupt error must not come out valid */
	if (csum_fold32(nat64_csum_skb(skb, ETH_HLEN + ihl_len, skb->len - ETH_HLEN - ihl_len, 0)) != 0xffff)
		return drop(NAT64_CNT_DROP_BAD_CHECKSUM);
	if (icmp_4to6_error(cfg, icmp, bpf_ntohs(iip->tot_len), x))
		return drop(NAT64_CNT_DROP_UNSUPPORTED_ICMP);
	if (iip->protocol == IPPROTO_ICMP && !(iip->frag_off & bpf_htons(IP_OFFMASK))) {
		if (bpf_skb_load_bytes(skb, inner_off + inner_ihl, &t, 1) == 0) {
			echo = echo_4to6(t);
			if (echo < 0)
				return drop(NAT64_CNT_DROP_UNSUPPORTED_ICMP);	/* error in error */
		}
	}

	/* in a hairpin the quoted packet went to the original sender: prefix form */
	if (nat64_addr_4to6(iip->saddr, &iip6->saddr, 0) ||
	    nat64_addr_4to6(iip->daddr, &iip6->daddr, hairpin ? MAP_PREFIX_ONLY : 0))
		return drop(NAT64_CNT_DROP_NOT_TRANSLATABLE);

	/* a quoted fragment keeps being one: RFC 7915 §4.3 applies §4.1 to it */
	inner_frag_len = (iip->frag_off & bpf_htons(IP_MF | IP_OFFMASK)) ? FRAG6_HDR_LEN : 0;

	/* [IPv4+opt][ICMP][IPv4'+opt'][L4'] -> [IPv6][ICMPv6][IPv6'][frag'][L4'] */
	grow = (int)(IPV6_HDR_LEN - IPV4_HDR_LEN) - (int)(ihl_len - IPV4_HDR_LEN) - (int)(inner_ihl - IPV4_HDR_LEN) +
	       (int)inner_frag_len;
	if (grow && bpf_skb_adjust_room(skb, grow, BPF_ADJ_ROOM_NET, 0))
		return drop(NAT64_CNT_DROP_INTERNAL);
	if (bpf_skb_change_proto(skb, bpf_htons(ETH_P_IPV6), 0))
		return drop(NAT64_CNT_DROP_INTERNAL);

	sh->hdr_len = IPV6_HDR_LEN + ICMP_HDR_LEN;
	sh->max_len = ICMP6_ERROR_MAX;
	sh->unit = 8;
	if (icmp_has_length4(icmp->type) && ((__u8 *)&icmp->un.gateway)[1]) {
		__u32 len_field = ((__u8 *)&icmp->un.gateway)[1] * 4;
		__u32 declared = bpf_ntohs(iip->tot_len);
		__u32 dgram = len_field < declared ? len_field : declared;

		if (dgram >= inner_ihl) {
			sh->dgram_len = dgram + IPV6_HDR_LEN + inner_frag_len - inner_ihl;
			sh->ext_off = sh->hdr_len + len_field + IPV6_HDR_LEN + inner_frag_len - inner_ihl;
		}
	}
	if (nat64_shape_icmp_body(skb, sh))
		return drop(NAT64_CNT_DROP_INTERNAL);
	quoted = sh->body_len;
	out_len = IPV6_HDR_LEN + ICMP_HDR_LEN + quoted;
	if (sh->length_field)
		x->rest = (x->rest & bpf_htonl(0x00ffffff)) | bpf_htonl(sh->length_field << 24);

	inner_payload = bpf_ntohs(iip->tot_len) - inner_ihl;
	iip6->version = 6;
	iip6->priority = iip->tos >> 4;
	iip6->flow_lbl[0] = iip->tos << 4;
	iip6->payload_len = bpf_htons(inner_payload + inner_frag_len);
	iip6->nexthdr = inner_frag_len ? IPPROTO_FRAGMENT : proto_4to6(iip->protocol);
	iip6->hop_limit = iip->ttl;

	ip6->version = 6;
	ip6->priority = tos >> 4;
	ip6->flow_lbl[0] = tos << 4;
	ip6->payload_len = bpf_htons(out_len - IPV6_HDR_LEN);
	ip6->nexthdr = IPPROTO_ICMPV6;
	ip6->hop_limit = hop_limit;
	__builtin_memcpy(&ip6->saddr, saddr6, 16);
	__builtin_memcpy(&ip6->daddr, daddr6, 16);

	icmp6->icmp6_type = x->type;
	icmp6->icmp6_code = x->code;
	icmp6->icmp6_dataun.un_data32[0] = x->rest;

	if (bpf_skb_store_bytes(skb, ETH_HLEN, ip6, sizeof(*ip6), 0) ||
	    bpf_skb_store_bytes(skb, ETH_HLEN + IPV6_HDR_LEN, icmp6, sizeof(*icmp6), 0) ||
	    bpf_skb_store_bytes(skb, ETH_HLEN + IPV6_HDR_LEN + ICMP_HDR_LEN, iip6, sizeof(*iip6), 0))
		return drop(NAT64_CNT_DROP_INTERNAL);
	{
		__be16 proto = bpf_htons(ETH_P_IPV6);

		bpf_skb_store_bytes(skb, 12, &proto, 2, 0);
	}
	if (inner_frag_len) {
		__u16 field = (bpf_ntohs(iip->frag_off) & IP_OFFMASK) << 3 |
			      ((iip->frag_off & bpf_htons(IP_MF)) ? 1 : 0);
		__be32 id = bpf_htonl(bpf_ntohs(iip->id));

		st->frag[0] = proto_4to6(iip->protocol);
		st->frag[2] = field >> 8;
		st->frag[3] = field;
		__builtin_memcpy(st->frag + 4, &id, 4);
		if (bpf_skb_store_bytes(skb, ETH_HLEN + 2 * IPV6_HDR_LEN + ICMP_HDR_LEN, st->frag,
					sizeof(st->frag), 0))
			return drop(NAT64_CNT_DROP_INTERNAL);
	}

	if (!(iip->frag_off & bpf_htons(IP_OFFMASK))) {
		if (iip->protocol == IPPROTO_ICMP)
			diff = (__u32)nat64_csum_ipv6_pseudo(&iip6->saddr, &iip6->daddr, inner_payload,
						IPPROTO_ICMPV6, 0);
		else
			diff = pseudo_diff_4to6_inline(iip->saddr, iip->daddr, iip6);
		fix_quoted_l4(skb, ETH_HLEN + 2 * IPV6_HDR_LEN + ICMP_HDR_LEN + inner_frag_len, iip->protocol,
			      diff, echo,
			      quoted > IPV6_HDR_LEN + inner_frag_len ? quoted - IPV6_HDR_LEN - inner_frag_len : 0);
	}

	sum = nat64_csum_ipv6_pseudo(saddr6, daddr6, out_len - IPV6_HDR_LEN, IPPROTO_ICMPV6, 0);
	check = ~csum_fold32((__u32)nat64_csum_skb(skb, ETH_HLEN + IPV6_HDR_LEN, out_len - IPV6_HDR_LEN, sum));
	if (bpf_skb_store_bytes(skb, ETH_HLEN + IPV6_HDR_LEN + 2, &check, 2, 0))
		return drop(NAT64_CNT_DROP_INTERNAL);
	return TC_ACT_OK;
}
