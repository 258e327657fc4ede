/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ICMP translation (RFC 7915 §4.2, §5.2): type, code, pointer and MTU
 * mapping, echo types, and the RFC 4884 shape of a translated error's body.
 */
#pragma once

#include "counters.h"
#include "csum.h"

/*
 * The chunk's place comes from the loop's index, not from a count of bytes
 * done kept in ctx: a count that starts at a constant grows by a different
 * range each round, so the verifier (6.8+ checks a callback until its states
 * repeat) never sees a state twice and gives up at a million instructions.
 */
static long move_chunk(__u32 index, void *ctx)
{
	struct chunk_walk *w = ctx;
	__u32 done = index * CSUM_CHUNK, n, at;

	if (done >= w->len)
		return 1;
	n = chunk_len(w->len - done);
	/* forwards when moving toward the front, backwards otherwise */
	at = w->dst < w->off ? done : w->len - done - n;
	if (bpf_skb_load_bytes(w->skb, w->off + at, w->s->buf, n) ||
	    bpf_skb_store_bytes(w->skb, w->dst + at, w->s->buf, n, 0)) {
		w->error = 1;
		return 1;
	}
	return 0;
}

/* Move len bytes of the packet from offset src to offset dst (memmove). */
__noinline int nat64_skb_move(struct __sk_buff *skb, __u32 dst, __u32 src, __u32 len)
{
	__u32 zero = 0;
	struct chunk_walk w = { .skb = skb, .off = src, .len = len, .dst = dst };

	if (len > CSUM_CHUNK * CSUM_MAX_CHUNKS)
		return -1;
	w.s = bpf_map_lookup_elem(&nat64_scratch, &zero);
	if (!w.s)
		return -1;
	bpf_loop(CSUM_MAX_CHUNKS, move_chunk, &w, 0);
	return w.error ? -1 : 0;
}

__noinline int nat64_skb_zero(struct __sk_buff *skb, __u32 off, __u32 len)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&nat64_scratch, &zero);

	if (!s || len > CSUM_CHUNK)
		return -1;
	if (len == 0)
		return 0;
	__builtin_memset(s->buf, 0, CSUM_CHUNK);
	return bpf_skb_store_bytes(skb, off, s->buf, chunk_len(len), 0);
}

/* RFC 4884 §5.1: with an extension the datagram field is at least 128 bytes. */
#define ICMP_EXT_MIN_DATAGRAM 128

struct icmp_shape {
	__u32 hdr_len;		/* outer IP + ICMP header, from the L3 start */
	__u32 dgram_len;	/* translated quoted datagram, without padding */
	__u32 ext_off;		/* where the extension starts now (from L3), 0 = none */
	__u32 max_len;		/* 576 or 1280 */
	__u32 unit;		/* length field unit: 4 (ICMPv4) or 8 (ICMPv6) */
	__u32 body_len;		/* out: bytes after the ICMP header */
	__u32 length_field;	/* out: value of the RFC 4884 length field */
};

/*
 * Lay out the body of a translated error within max_len (RFC 4884 §4, §5),
 * keeping as Jool does: the first 128 bytes of the datagram, then the whole
 * extension, then as much more of the datagram as fits; an extension that
 * does not fit next to 128 bytes of datagram is removed whole.
 */
__noinline int nat64_shape_icmp_body(struct __sk_buff *skb, struct icmp_shape *sh)
{
	__u32 end, avail, ext_len = 0, keep, padded, new_ext;

	if (!sh || skb->len < ETH_HLEN + sh->hdr_len || sh->max_len <= sh->hdr_len)
		return -1;
	end = skb->len - ETH_HLEN;
	avail = sh->max_len - sh->hdr_len;
	if (sh->ext_off && sh->ext_off < end)
		ext_len = end - sh->ext_off;
	sh->length_field = 0;

	if (!ext_len || ext_len + ICMP_EXT_MIN_DATAGRAM > avail) {
		/* no extension (or one that cannot fit): a plain truncated datagram */
		keep = end - sh->hdr_len;
		if (ext_len)
			keep = sh->dgram_len < keep ? sh->dgram_len : keep;
		if (keep > avail)
			keep = avail;
		sh->body_len = keep;
		if (sh->hdr_len + keep < end &&
		    bpf_skb_change_tail(skb, ETH_HLEN + sh->hdr_len + keep, 0))
			return -1;
		return 0;
	}

	keep = sh->dgram_len;
	if (keep > avail - ext_len)
		keep = avail - ext_len;
	if (keep < ICMP_EXT_MIN_DATAGRAM)
		padded = ICMP_EXT_MIN_DATAGRAM;
	else
		padded = keep & ~(sh->unit - 1);
	if (keep > padded)
		keep = padded;
	new_ext = sh->hdr_len + padded;

	if (new_ext > sh->ext_off) {
		if (bpf_skb_change_tail(skb, ETH_HLEN + new_ext + ext_len, 0) ||
		    nat64_skb_move(skb, ETH_HLEN + new_ext, ETH_HLEN + sh->ext_off, ext_len))
			return -1;
	} else if (new_ext < sh->ext_off) {
		if (nat64_skb_move(skb, ETH_HLEN + new_ext, ETH_HLEN + sh->ext_off, ext_len) ||
		    bpf_skb_change_tail(skb, ETH_HLEN + new_ext + ext_len, 0))
			return -1;
	}
	if (padded > keep && nat64_skb_zero(skb, ETH_HLEN + sh->hdr_len + keep, padded - keep))
		return -1;
	sh->body_len = padded + ext_len;
	sh->length_field = padded / sh->unit;
	return 0;
}


struct icmp_xlat {
	__u8 type, code;
	__be32 rest;
};

/* RFC 4884 §4.1, §4.2: the errors that carry a length field */
static __always_inline int icmp_has_length4(__u8 type)
{
	return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED || type == ICMP_PARAMETERPROB;
}

static __always_inline int icmp_has_length6(__u8 type)
{
	return type == ICMPV6_DEST_UNREACH || type == ICMPV6_TIME_EXCEED;
}

/* RFC 1191 §7 plateaus, for "Fragmentation Needed" with MTU 0 (RFC 7915 §4.2). */
static __always_inline __u32 mtu_plateau(__u32 tot_len)
{
	if (tot_len > 32000) return 32000;
	if (tot_len > 17914) return 17914;
	if (tot_len > 8166) return 8166;
	if (tot_len > 4352) return 4352;
	if (tot_len > 2002) return 2002;
	if (tot_len > 1492) return 1492;
	if (tot_len > 1006) return 1006;
	if (tot_len > 508) return 508;
	if (tot_len > 296) return 296;
	return 68;
}

/* RFC 7915 §4.2 Figure 3: IPv4 Parameter Problem pointer -> IPv6 pointer. */
static __always_inline int pointer_4to6(__u8 p)
{
	switch (p) {
	case 0: return 0;		/* version/IHL */
	case 1: return 1;		/* type of service */
	case 2: case 3: return 4;	/* total length */
	case 8: return 7;		/* TTL */
	case 9: return 6;		/* protocol */
	case 12 ... 15: return 8;	/* source address */
	case 16 ... 19: return 24;	/* destination address */
	default: return -1;
	}
}

/* RFC 7915 §5.2 Figure 6: IPv6 pointer -> IPv4 pointer. */
static __always_inline int pointer_6to4(__u32 p)
{
	switch (p) {
	case 0: return 0;
	case 1: return 1;
	case 4: case 5: return 2;
	case 6: return 9;
	case 7: return 8;
	case 8 ... 23: return 12;
	case 24 ... 39: return 16;
	default: return -1;
	}
}

/* RFC 7915 §4.2; inner_len is the quoted packet's total length (plateaus). */
static __always_inline int icmp_4to6_error(const struct nat64_config *cfg, const struct icmphdr *in,
					   __u32 inner_len, struct icmp_xlat *out)
{
	__u32 mtu;
	int p;

	out->rest = 0;
	switch (in->type) {
	case ICMP_DEST_UNREACH:
		out->type = ICMPV6_DEST_UNREACH;
		switch (in->code) {
		case ICMP_NET_UNREACH: case ICMP_HOST_UNREACH:
		case ICMP_SR_FAILED: case ICMP_NET_UNKNOWN: case ICMP_HOST_UNKNOWN:
		case ICMP_HOST_ISOLATED: case ICMP_NET_UNR_TOS: case ICMP_HOST_UNR_TOS:
			out->code = ICMPV6_NOROUTE;
			return 0;
		case ICMP_PROT_UNREACH:
			out->type = ICMPV6_PARAMPROB;
			out->code = ICMPV6_UNK_NEXTHDR;
			out->rest = bpf_htonl(offsetof(struct ipv6hdr, nexthdr));
			return 0;
		case ICMP_PORT_UNREACH:
			out->code = ICMPV6_PORT_UNREACH;
			return 0;
		case ICMP_FRAG_NEEDED:
			out->type = ICMPV6_PKT_TOOBIG;
			out->code = 0;
			mtu = bpf_ntohs(in->un.frag.mtu);
			if (mtu == 0)
				mtu = mtu_plateau(inner_len);
			mtu += IPV6_HDR_LEN - IPV4_HDR_LEN;
			if (cfg->mtu_v6 && mtu > cfg->mtu_v6)
				mtu = cfg->mtu_v6;
			if (cfg->mtu_v4 && mtu > cfg->mtu_v4 + IPV6_HDR_LEN - IPV4_HDR_LEN)
				mtu = cfg->mtu_v4 + IPV6_HDR_LEN - IPV4_HDR_LEN;
			if (mtu < IPV6_MIN_MTU)
				mtu = IPV6_MIN_MTU;
			out->rest = bpf_htonl(mtu);
			return 0;
		case ICMP_NET_ANO: case ICMP_HOST_ANO: case ICMP_PKT_FILTERED: case ICMP_PREC_CUTOFF:
			out->code = ICMPV6_ADM_PROHIBITED;
			return 0;
		default:	/* 14 host precedence violation, unknown codes */
			return -1;
		}
	case ICMP_TIME_EXCEEDED:
		out->type = ICMPV6_TIME_EXCEED;
		out->code = in->code;
		return 0;
	case ICMP_PARAMETERPROB:
		if (in->code != 0 && in->code != 2)
			return -1;	/* "missing a required option": drop */
		p = pointer_4to6(bpf_ntohl(in->un.gateway) >> 24);
		if (p < 0)
			return -1;
		out->type = ICMPV6_PARAMPROB;
		out->code = ICMPV6_HDR_FIELD;
		out->rest = bpf_htonl(p);
		return 0;
	default:	/* source quench, redirect, router advertisement, ...: drop */
		return -1;
	}
}

/* RFC 7915 §5.2 */
static __always_inline int icmp_6to4_error(const struct nat64_config *cfg, const struct icmp6hdr *in,
					   struct icmp_xlat *out)
{
	__u32 mtu;
	int p;

	out->rest = 0;
	switch (in->icmp6_type) {
	case ICMPV6_DEST_UNREACH:
		out->type = ICMP_DEST_UNREACH;
		switch (in->icmp6_code) {
		case ICMPV6_NOROUTE: case ICMPV6_NOT_NEIGHBOUR: case ICMPV6_ADDR_UNREACH:
			out->code = ICMP_HOST_UNREACH;
			return 0;
		case ICMPV6_ADM_PROHIBITED:
			out->code = ICMP_HOST_ANO;
			return 0;
		case ICMPV6_PORT_UNREACH:
			out->code = ICMP_PORT_UNREACH;
			return 0;
		default:
			return -1;
		}
	case ICMPV6_PKT_TOOBIG:
		out->type = ICMP_DEST_UNREACH;
		out->code = ICMP_FRAG_NEEDED;
		/* minimum(advertised - 20, IPv4 next hop, IPv6 next hop - 20) */
		mtu = bpf_ntohl(in->icmp6_mtu) - (IPV6_HDR_LEN - IPV4_HDR_LEN);
		if (cfg->mtu_v4 && mtu > cfg->mtu_v4)
			mtu = cfg->mtu_v4;
		if (cfg->mtu_v6 && mtu > cfg->mtu_v6 - (IPV6_HDR_LEN - IPV4_HDR_LEN))
			mtu = cfg->mtu_v6 - (IPV6_HDR_LEN - IPV4_HDR_LEN);
		if (mtu > 0xffff)
			mtu = 0xffff;
		out->rest = bpf_htonl(mtu);
		return 0;
	case ICMPV6_TIME_EXCEED:
		out->type = ICMP_TIME_EXCEEDED;
		out->code = in->icmp6_code;
		return 0;
	case ICMPV6_PARAMPROB:
		if (in->icmp6_code == ICMPV6_UNK_NEXTHDR) {
			out->type = ICMP_DEST_UNREACH;
			out->code = ICMP_PROT_UNREACH;
			return 0;
		}
		if (in->icmp6_code != ICMPV6_HDR_FIELD)
			return -1;
		p = pointer_6to4(bpf_ntohl(in->icmp6_pointer));
		if (p < 0)
			return -1;
		out->type = ICMP_PARAMETERPROB;
		out->code = 0;
		out->rest = bpf_htonl((__u32)p << 24);
		return 0;
	default:
		return -1;
	}
}

/* Echo type mapping (RFC 7915 §4.2, §5.2); other informational types are dropped. */
static __always_inline int echo_6to4(__u8 type)
{
	return type == ICMPV6_ECHO_REQUEST ? ICMP_ECHO : type == ICMPV6_ECHO_REPLY ? ICMP_ECHOREPLY : -1;
}

static __always_inline int echo_4to6(__u8 type)
{
	return type == ICMP_ECHO ? ICMPV6_ECHO_REQUEST : type == ICMP_ECHOREPLY ? ICMPV6_ECHO_REPLY : -1;
}
