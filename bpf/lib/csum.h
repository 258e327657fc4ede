/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One's complement arithmetic (RFC 1071, RFC 1624): header sums, pseudo-
 * headers, sums over packet bytes, incremental updates.
 */
#pragma once

#include "maps.h"

/* Headers are summed as 16-bit words: tell the compiler such reads alias. */
typedef __u16 __attribute__((may_alias)) csum_word_t;

static __always_inline __u16 csum_fold32(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

static __always_inline __u32 csum_add32(__u32 a, __u32 b)
{
	__u32 r = a + b;

	return r + (r < a);
}

/* RFC 791 header checksum over a 20-byte IPv4 header without options. */
static __always_inline __u16 ipv4_hdr_csum(const void *hdr)
{
	const csum_word_t *w = hdr;
	__u32 sum = 0;
	int i;

#pragma unroll
	for (i = 0; i < 10; i++)
		sum += w[i];
	return ~csum_fold32(sum);
}

/* One's complement sum of n (even, constant) bytes, folded to 16 bits. */
static __always_inline __u32 csum16_fold(const void *p, int n)
{
	const csum_word_t *w = p;
	__u32 sum = 0;
	int i;

#pragma unroll
	for (i = 0; i < n / 2; i++)
		sum += w[i];
	return csum_fold32(sum);
}

/* The pseudo-header change IPv6 -> IPv4 addresses, as a checksum diff (RFC 1624). */
static __always_inline __u32 pseudo_diff_6to4_inline(const struct ipv6hdr *ip6, __be32 s4, __be32 d4)
{
	__be32 v4[2] = { s4, d4 };

	return csum_fold32(csum16_fold(v4, 8) + (__u16)~csum16_fold(&ip6->saddr, 32));
}

static __always_inline __u32 pseudo_diff_4to6_inline(__be32 s4, __be32 d4, const struct ipv6hdr *ip6)
{
	__be32 v4[2] = { s4, d4 };

	return csum_fold32(csum16_fold(&ip6->saddr, 32) + (__u16)~csum16_fold(v4, 8));
}

/*
 * Byte loops run under bpf_loop() (kernel 5.17+): the verifier checks the
 * body once (6.1), or again until its states repeat (6.8+), instead of once
 * per iteration. So what a body keeps in ctx must reach a state it has had
 * before: values that start unknown (an offset, a length, a sum), never a
 * count that starts at a constant (see move_chunk()).
 */
struct chunk_walk {
	struct __sk_buff *skb;
	struct scratch *s;
	__u32 off, len, seed;
	__u32 dst;	/* nat64_skb_move(): destination offset */
	int error;
};

/*
 * The next chunk's length, in [1, CSUM_CHUNK] for any remaining > 0. The
 * bound comes from a mask, not from a comparison: clang folds
 * "n == 0 || n > CSUM_CHUNK" into one test of n - 1, from which the 6.1
 * verifier (Debian 12) learns nothing about n itself. The empty asm keeps
 * clang from dropping the mask it can prove is a no-op.
 */
static __always_inline __u32 chunk_len(__u32 remaining)
{
	__u32 n = remaining > CSUM_CHUNK ? CSUM_CHUNK : remaining;

	asm volatile("" : "+r"(n));
	return ((n - 1) & (CSUM_CHUNK - 1)) + 1;
}

static long csum_chunk(__u32 index, void *ctx)
{
	struct chunk_walk *w = ctx;
	__u32 n;

	if (!w->len)
		return 1;
	n = chunk_len(w->len);
	if (n < CSUM_CHUNK)
		__builtin_memset(w->s->buf, 0, CSUM_CHUNK);	/* zero tail: RFC 1071 padding */
	if (bpf_skb_load_bytes(w->skb, w->off, w->s->buf, n)) {
		w->error = 1;
		return 1;
	}
	w->seed = bpf_csum_diff(0, 0, (__be32 *)w->s->buf, (n + 3) & ~3U, w->seed);
	w->off += n;
	w->len -= n;
	return 0;
}

/* One's complement sum of skb bytes [off, off + len), added to seed. */
__noinline int nat64_csum_skb(struct __sk_buff *skb, __u32 off, __u32 len, __u32 seed)
{
	__u32 zero = 0;
	struct chunk_walk w = { .skb = skb, .off = off, .len = len, .seed = seed };

	w.s = bpf_map_lookup_elem(&nat64_scratch, &zero);
	if (!w.s)
		return seed;
	bpf_loop(CSUM_MAX_CHUNKS, csum_chunk, &w, 0);
	return w.seed;
}

struct ipv6_pseudo {
	__u8 saddr[16];
	__u8 daddr[16];
	__be32 len;
	__be32 nexthdr;
};

__noinline int nat64_csum_ipv6_pseudo(const struct in6_addr *saddr, const struct in6_addr *daddr, __u32 len,
				  __u32 nh, __u32 seed)
{
	struct ipv6_pseudo ph = {
		.len = bpf_htonl(len),
		.nexthdr = bpf_htonl(nh),
	};

	if (!saddr || !daddr)
		return seed;
	__builtin_memcpy(ph.saddr, saddr, 16);
	__builtin_memcpy(ph.daddr, daddr, 16);
	return bpf_csum_diff(0, 0, (__be32 *)&ph, sizeof(ph), seed);
}

/*
 * The IPv4 pseudo-header (RFC 768, RFC 793 §3.1) as a one's complement sum.
 * Not inline, as its IPv6 twin: inlined into xlat_6to4, clang shares its
 * address halves with the header checksum and spills them, growing that
 * frame past what the 6.1 verifier allows below it (all frames of a call
 * chain together within 512 bytes; tests/unit/test_bpf_build.py).
 */
__noinline int nat64_csum_ipv4_pseudo(__be32 saddr, __be32 daddr, __u32 len, __u32 proto)
{
	__u32 sum = (saddr & 0xffff) + (saddr >> 16) + (daddr & 0xffff) + (daddr >> 16);

	return csum_fold32(sum + bpf_htons(proto) + bpf_htons(len));
}

/*
 * A UDP checksum computed from scratch over [l4, l4 + len) and the
 * pseudo-header sum of the family the datagram is in now (the caller's
 * choice), for a datagram that came with checksum 0 (RFC 7915 §4.5).
 */
__noinline int nat64_udp_checksum_fill(struct __sk_buff *skb, __u32 l4, __u32 len, __u32 pseudo_sum)
{
	__u16 check;

	if (len > CSUM_CHUNK * CSUM_MAX_CHUNKS)
		return -1;
	check = ~csum_fold32((__u32)nat64_csum_skb(skb, l4, len, pseudo_sum));
	if (check == 0)
		check = 0xffff;	/* RFC 768: 0 means "no checksum" */
	return bpf_skb_store_bytes(skb, l4 + offsetof(struct udphdr, check), &check, 2, 0);
}

/* Incremental update of a checksum field value (RFC 1624 eqn. 3). */
static __always_inline __u16 csum_update(__u16 check, __u32 diff)
{
	return ~csum_fold32(csum_add32((__u16)~check, diff));
}

/* Replace the 16-bit word at off and fix the checksum field at check_off. */
static __always_inline int store_word_csum(struct __sk_buff *skb, __u32 off, __u16 old, __u16 new,
					   __u32 check_off)
{
	if (bpf_skb_store_bytes(skb, off, &new, 2, 0))
		return -1;
	return bpf_l4_csum_replace(skb, check_off, old, new, 2);
}

static __always_inline int ipv4_hdr_valid(const struct iphdr *ip)
{
	const csum_word_t *w = (const void *)ip;
	__u32 sum = 0;
	int i;

#pragma unroll
	for (i = 0; i < 10; i++)
		sum += w[i];
	return csum_fold32(sum) == 0xffff;
}
