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
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/icmpv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "nat64_shared.h"
#include "rfc6052.h"
#include "csum.h"
#include "icmp4.h"

#ifndef AF_INET
#define AF_INET			2
#endif
#define IPV4_HDR_LEN		20
#define IPV6_HDR_LEN		40
#define FRAG6_HDR_LEN		8
#define ICMP_HDR_LEN		8
#define IP_DF			0x4000
#define IP_MF			0x2000
#define IP_OFFMASK		0x1fff
#define IPV6_MIN_MTU		1280
/* RFC 7915 §5.1: DF is set only when the IPv4 packet exceeds 1260 bytes. */
#define IPV4_DF_THRESHOLD	(IPV6_MIN_MTU - (IPV6_HDR_LEN - IPV4_HDR_LEN))
/* RFC 1812 §4.3.2.3: an ICMPv4 error should not exceed 576 bytes. */
#define ICMP4_ERROR_MAX		576
/* RFC 4443 §2.4 (c): an ICMPv6 error must not exceed the minimum MTU. */
#define ICMP6_ERROR_MAX		IPV6_MIN_MTU
#define IPV6_MAX_EXT_HEADERS	8
#define SELF_ERROR_HOP_LIMIT	64
#define ICMP_ERRORS_PER_SEC	100
#define CSUM_CHUNK		256
#define CSUM_MAX_CHUNKS		40	/* 10 KiB: errors and zero-checksum UDP */

#define NSEC_PER_SEC		1000000000ULL

/*
 * A u32 field of the context through one explicit instruction: clang may
 * otherwise keep &skb->field in a register across branches, and the
 * verifier refuses loads through a modified ctx pointer.
 */
#define ctx_read_u32(skb, field)							\
	({										\
		__u32 _v;								\
		asm volatile("%[v] = *(u32 *)(%[ctx] + %[off])"			\
			     : [v] "=r"(_v)						\
			     : [ctx] "r"(skb), [off] "i"(offsetof(struct __sk_buff, field)));	\
		_v;									\
	})

struct nat64_globals nat64 = {};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nat64_counters);
} nat64_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, NAT64_MAX_EAM);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct nat64_lpm6_key);
	__type(value, struct nat64_eam);
} nat64_eam6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, NAT64_MAX_EAM);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct nat64_lpm4_key);
	__type(value, struct nat64_eam);
} nat64_eam4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, _NAT64_CNT_MAX * NAT64_DROP_LOG_DEPTH);
	__type(key, __u32);
	__type(value, struct nat64_drop_record);
} nat64_drop_log SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, _NAT64_CNT_MAX);
	__type(key, __u32);
	__type(value, __u32);
} nat64_drop_cursor SEC(".maps");

struct ratelimit {
	__u64 window_start;
	__u32 sent;
};

struct scratch {
	__u8 buf[CSUM_CHUNK];
	struct ratelimit rl;
	__u32 next_id;		/* IPv4 identification counter of this CPU */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} nat64_scratch SEC(".maps");

const __u8 nat64_default_prefix[16] = NAT64_DEFAULT_PREFIX;

/* ---------------------------------------------------------------------- */
/* Configuration and counters                                             */

static __always_inline const struct nat64_config *config(void)
{
	return &nat64.cfg[nat64.cfg_active & 1];
}

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

/* ---------------------------------------------------------------------- */
/* Address mapping: EAM first (RFC 7757 §3.3), then the RFC 6052 prefix.   */

static __always_inline __u32 host_mask(__u32 v4_len)
{
	return v4_len >= 32 ? 0 : (v4_len == 0 ? 0xffffffff : (0xffffffffU >> v4_len));
}

/*
 * An IPv6 address as two host-order halves, for the bit arithmetic of
 * RFC 7757 §3.2: the IPv4 suffix sits right after the IPv6 prefix (left
 * aligned in the IPv6 suffix when that is longer), the rest is zero.
 */
struct u128 {
	__u64 hi, lo;
};

static __always_inline struct u128 u128_load(const __u8 a[16])
{
	__u64 x[2];

	__builtin_memcpy(x, a, 16);
	return (struct u128) { .hi = bpf_be64_to_cpu(x[0]), .lo = bpf_be64_to_cpu(x[1]) };
}

static __always_inline void u128_store(struct u128 v, __u8 a[16])
{
	__u64 x[2] = { bpf_cpu_to_be64(v.hi), bpf_cpu_to_be64(v.lo) };

	__builtin_memcpy(a, x, 16);
}

/* The IPv4 suffix bits of an EAM: width 32 - v4_len, starting at bit v6_len. */
static __always_inline __u32 eam_shift(const struct nat64_eam *e)
{
	__u32 width = 32 - (e->v4_len > 32 ? 32 : e->v4_len);
	__u32 start = e->v6_len;

	if (start + width > 128)
		return 0;
	return 128 - start - width;
}

static __always_inline int eam_6to4(const __u8 v6[16], __be32 *v4)
{
	struct nat64_lpm6_key key = { .prefixlen = 128 };
	struct nat64_eam *e;
	struct u128 a;
	__u32 mask, shift, suffix;

	__builtin_memcpy(key.addr, v6, 16);
	e = bpf_map_lookup_elem(&nat64_eam6, &key);
	if (!e)
		return -1;
	mask = host_mask(e->v4_len);
	shift = eam_shift(e) & 127;
	a = u128_load(v6);
	if (shift >= 64)
		suffix = a.hi >> (shift - 64);
	else if (shift == 0)
		suffix = a.lo;
	else
		suffix = (a.lo >> shift) | (a.hi << (64 - shift));
	*v4 = bpf_htonl((bpf_ntohl(e->v4) & ~mask) | (suffix & mask));
	return 0;
}

static __always_inline int eam_4to6(__be32 v4, __u8 v6[16])
{
	struct nat64_lpm4_key key = { .prefixlen = 32, .addr = v4 };
	struct nat64_eam *e;
	struct u128 a;
	__u64 host;
	__u32 shift;

	e = bpf_map_lookup_elem(&nat64_eam4, &key);
	if (!e)
		return -1;
	host = bpf_ntohl(v4) & host_mask(e->v4_len);
	shift = eam_shift(e) & 127;
	a = u128_load(e->v6);
	if (shift >= 64) {
		a.hi |= host << (shift - 64);
	} else if (shift == 0) {
		a.lo |= host;
	} else {
		a.lo |= host << shift;
		a.hi |= host >> (64 - shift);
	}
	u128_store(a, v6);
	return 0;
}

enum map_result {
	MAP_OK = 0,
	MAP_UNTRANSLATABLE = -1,
	MAP_NOT_GLOBAL = -2,	/* RFC 6052 §3.1 */
};

static __always_inline int prefix_6to4(const __u8 *prefix, __u32 len, const __u8 v6[16], __be32 *v4)
{
	if (!rfc6052_match(prefix, len, v6))
		return MAP_UNTRANSLATABLE;
	rfc6052_extract(v6, len, (__u8 *)v4);
	if (rfc6052_is_wkp(prefix, len) && !ipv4_is_global((__u8 *)v4))
		return MAP_NOT_GLOBAL;
	return MAP_OK;
}

/*
 * Global (not static) functions below are verified once on their own by
 * the kernel, which keeps the verifier's work small; their pointer
 * arguments may be NULL as far as the verifier knows, hence the checks.
 */
__noinline int nat64_addr_6to4(const struct in6_addr *addr, __be32 *v4)
{
	const struct nat64_config *cfg = config();
	const __u8 *v6;
	int i, r;

	if (!addr || !v4)
		return MAP_UNTRANSLATABLE;
	v6 = addr->s6_addr;

	if (nat64.nr_eam && eam_6to4(v6, v4) == 0)
		return MAP_OK;
	if (cfg->flags & NAT64_F_NO_PREFIX)
		return MAP_UNTRANSLATABLE;
	if (cfg->nr_prefixes == 0)
		return prefix_6to4(nat64_default_prefix, NAT64_DEFAULT_PREFIX_LEN, v6, v4);

	for (i = 0; i < NAT64_MAX_PREFIXES; i++) {
		if (i >= cfg->nr_prefixes)
			break;
		r = prefix_6to4(cfg->prefixes[i].addr, cfg->prefixes[i].len, v6, v4);
		if (r != MAP_UNTRANSLATABLE)
			return r;
	}
	return MAP_UNTRANSLATABLE;
}

enum map_flags {
	MAP_PREFIX_ONLY = 1,	/* skip the EAM table (the far side of a hairpin) */
};

__noinline int nat64_addr_4to6(__be32 v4, struct in6_addr *addr, __u32 flags)
{
	const struct nat64_config *cfg = config();
	const __u8 *prefix = nat64_default_prefix;
	__u32 len = NAT64_DEFAULT_PREFIX_LEN;
	__u8 *v6;

	if (!addr)
		return MAP_UNTRANSLATABLE;
	v6 = addr->s6_addr;

	if (nat64.nr_eam && !(flags & MAP_PREFIX_ONLY) && eam_4to6(v4, v6) == 0)
		return MAP_OK;
	if (cfg->flags & NAT64_F_NO_PREFIX)
		return MAP_UNTRANSLATABLE;
	if (cfg->nr_prefixes) {
		prefix = cfg->prefixes[0].addr;
		len = cfg->prefixes[0].len;
	}
	if (rfc6052_is_wkp(prefix, len) && !ipv4_is_global((__u8 *)&v4))
		return MAP_NOT_GLOBAL;
	rfc6052_embed(prefix, len, (__u8 *)&v4, v6);
	return MAP_OK;
}

static __always_inline int ipv6_is_zero(const __u8 a[16])
{
	__u64 x[2];

	__builtin_memcpy(x, a, 16);
	return !(x[0] | x[1]);
}

/*
 * The fast path: one prefix (or the default) and no EAM entries, mapped
 * inline; everything else goes through the global functions above. Helper
 * and function calls are dear on CPUs with return-thunk mitigations.
 */
static __always_inline int fast_mapping(const struct nat64_config *cfg)
{
	return !nat64.nr_eam && cfg->nr_prefixes <= 1 && !(cfg->flags & NAT64_F_NO_PREFIX);
}

static __always_inline int addr6to4(const struct nat64_config *cfg, const struct in6_addr *a, __be32 *v4)
{
	if (fast_mapping(cfg)) {
		if (cfg->nr_prefixes)
			return prefix_6to4(cfg->prefixes[0].addr, cfg->prefixes[0].len, a->s6_addr, v4);
		return prefix_6to4(nat64_default_prefix, NAT64_DEFAULT_PREFIX_LEN, a->s6_addr, v4);
	}
	return nat64_addr_6to4(a, v4);
}

/* ---------------------------------------------------------------------- */
/* Checksums                                                               */

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
 * body once instead of once per iteration.
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

/* The IPv4 pseudo-header (RFC 768, RFC 793 §3.1) as a one's complement sum. */
static __always_inline __u32 csum_ipv4_pseudo(__be32 saddr, __be32 daddr, __u32 len, __u8 proto)
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

/* ---------------------------------------------------------------------- */
/* ICMP errors the translator originates (RFC 7915 §4.4, §5.4, §6)       */

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
static __always_inline int is_multicast4(__be32 a)
{
	return (bpf_ntohl(a) & 0xf0000000) == 0xe0000000;
}

/* Multicast or the limited broadcast: never answered, never ours to translate. */
static __always_inline int is_group4(__be32 a)
{
	return is_multicast4(a) || a == 0xffffffff;
}

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

/* ---------------------------------------------------------------------- */
/* RFC 4884: the quoted datagram and the extension of a translated error   */

static long move_chunk(__u32 index, void *ctx)
{
	struct chunk_walk *w = ctx;
	__u32 n, at, remaining = w->len - w->seed;	/* seed: bytes done */

	if (w->seed >= w->len)
		return 1;
	n = chunk_len(remaining);
	/* forwards when moving toward the front, backwards otherwise */
	at = w->dst < w->off ? w->seed : remaining - n;
	if (bpf_skb_load_bytes(w->skb, w->off + at, w->s->buf, n) ||
	    bpf_skb_store_bytes(w->skb, w->dst + at, w->s->buf, n, 0)) {
		w->error = 1;
		return 1;
	}
	w->seed += n;
	return 0;
}

/* Move len bytes of the packet from offset src to offset dst (memmove). */
__noinline int nat64_skb_move(struct __sk_buff *skb, __u32 dst, __u32 src, __u32 len)
{
	__u32 zero = 0;
	struct chunk_walk w = { .skb = skb, .off = src, .len = len, .dst = dst };

	w.s = bpf_map_lookup_elem(&nat64_scratch, &zero);
	if (!w.s)
		return -1;
	bpf_loop(CSUM_MAX_CHUNKS, move_chunk, &w, 0);
	return !w.error && w.seed == len ? 0 : -1;
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

/* ---------------------------------------------------------------------- */
/* ICMP type/code mapping (RFC 7915 §4.2 and §5.2)                        */

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

/* ---------------------------------------------------------------------- */
/* IPv6 extension headers (RFC 7915 §5.1, RFC 8200 §4)                    */

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

static __always_inline __u16 frag6_offset(const struct ipv6_info *info)
{
	return info->frag_field >> 3;
}

static __always_inline int frag6_more(const struct ipv6_info *info)
{
	return info->frag_field & 1;
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

static __always_inline int is_link_scoped6(const struct in6_addr *a)
{
	/* multicast with interface/link scope, or link-local unicast */
	return (a->s6_addr[0] == 0xff && (a->s6_addr[1] & 0x0f) <= 2) ||
	       (a->s6_addr[0] == 0xfe && (a->s6_addr[1] & 0xc0) == 0x80);
}

/* RFC 1112 §6.4: 01:00:5e + the low 23 bits of the group. */
static __always_inline void multicast_mac4(__be32 group, __u8 mac[6])
{
	__u32 g = bpf_ntohl(group);

	mac[0] = 0x01;
	mac[1] = 0x00;
	mac[2] = 0x5e;
	mac[3] = (g >> 16) & 0x7f;
	mac[4] = g >> 8;
	mac[5] = g;
}

/* ---------------------------------------------------------------------- */
/* IPv6 -> IPv4 (RFC 7915 §5)                                             */

/* Translate the IPv6 header quoted in an ICMPv6 error and its L4 header. */
struct inner6 {
	struct ipv6hdr ip;
	struct ipv6_info info;
	__be32 saddr4, daddr4;
};

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

/* Echo type mapping (RFC 7915 §4.2, §5.2); other informational types are dropped. */
static __always_inline int echo_6to4(__u8 type)
{
	return type == ICMPV6_ECHO_REQUEST ? ICMP_ECHO : type == ICMPV6_ECHO_REPLY ? ICMP_ECHOREPLY : -1;
}

static __always_inline int echo_4to6(__u8 type)
{
	return type == ICMP_ECHO ? ICMPV6_ECHO_REQUEST : type == ICMP_ECHOREPLY ? ICMPV6_ECHO_REPLY : -1;
}

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

static __always_inline __u16 ipv4_frag_field_of(const struct ipv6_info *info)
{
	return (frag6_offset(info) & IP_OFFMASK) | (frag6_more(info) ? IP_MF : 0);
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

/*
 * Gateway mode: where the translated IPv4 packet goes, looked up once per
 * packet before it is rewritten (so a "too big" answer can still quote it).
 */
struct route4 {
	__u32 ifindex;
	__u32 mtu;		/* set when the packet does not fit */
	__be32 nexthop;
	__s32 rc;		/* BPF_FIB_LKUP_RET_* */
	__u8 dmac[6];
	__u8 smac[6];
};

__noinline int nat64_route_ipv4(struct __sk_buff *skb, __be32 saddr4, __be32 daddr4, __u32 tot_len,
				struct route4 *rt)
{
	struct bpf_fib_lookup fib = {};

	if (!rt)
		return -1;
	fib.family = AF_INET;
	fib.ipv4_src = saddr4;
	fib.ipv4_dst = daddr4;
	fib.ifindex = skb->ifindex;	/* an input lookup from the translator link */
	fib.tot_len = tot_len;		/* 0: no MTU check (GSO segments were checked already) */
	rt->rc = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);
	rt->ifindex = fib.ifindex;
	rt->nexthop = fib.ipv4_dst;
	rt->mtu = rt->rc == BPF_FIB_LKUP_RET_FRAG_NEEDED ? fib.mtu_result : 0;
	__builtin_memcpy(rt->dmac, fib.dmac, 6);
	__builtin_memcpy(rt->smac, fib.smac, 6);
	return 0;
}

/* Send the translated packet ourselves, so the kernel does not forward (and decrement) it again. */
__noinline int nat64_send_ipv4(struct __sk_buff *skb, const struct route4 *rt, __be32 daddr4)
{
	const struct nat64_config *cfg = config();
	struct bpf_redir_neigh nh = {};
	__u8 mac[6];

	if (!rt)
		return TC_ACT_SHOT;
	if (is_multicast4(daddr4)) {
		if (!cfg->wan_ifindex)
			return drop(NAT64_CNT_DROP_NO_ROUTE);
		multicast_mac4(daddr4, mac);
		bpf_skb_store_bytes(skb, 0, mac, 6, 0);
		bpf_skb_store_bytes(skb, 6, cfg->wan_mac, 6, 0);
		return bpf_redirect(cfg->wan_ifindex, 0);
	}

	switch (rt->rc) {
	case BPF_FIB_LKUP_RET_SUCCESS: {
		void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
		struct ethhdr *eth = data;

		if ((void *)(eth + 1) > data_end)
			return drop(NAT64_CNT_DROP_INTERNAL);
		__builtin_memcpy(eth->h_dest, rt->dmac, ETH_ALEN);
		__builtin_memcpy(eth->h_source, rt->smac, ETH_ALEN);
		return bpf_redirect(rt->ifindex, 0);
	}
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		nh.nh_family = AF_INET;
		nh.ipv4_nh = rt->nexthop;
		return bpf_redirect_neigh(rt->ifindex, &nh, sizeof(nh), 0);
	case BPF_FIB_LKUP_RET_FRAG_NEEDED:
		/*
		 * DF=0 and larger than the IPv4 path (RFC 7915 §5.1 leaves such
		 * packets to IPv4 routers): let the kernel's IPv4 forwarding on
		 * the peer of the translator link fragment it. It decrements the
		 * TTL, so add the hop back that it is about to take.
		 */
		return TC_ACT_OK;
	default:
		return drop(NAT64_CNT_DROP_NO_ROUTE);
	}
}

/*
 * RFC 7757 §4 intrinsic hairpinning: an IPv6 packet whose IPv4 destination
 * is itself EAM-owned goes back to IPv6 at once. 6to4 translates it as
 * usual, marks it in cb[] and tail-calls 4to6, which userspace puts into
 * the array (not statically: tc loads one section of the object alone).
 */
#define NAT64_CB_HAIRPIN 0x64a1

static __always_inline void cb0_write(struct __sk_buff *skb, __u32 v)
{
	asm volatile("*(u32 *)(%[skb] + %[off]) = %[v]"
		     :: [skb] "r"(skb), [off] "i"(offsetof(struct __sk_buff, cb[0])), [v] "r"(v)
		     : "memory");
}

#define cb0_read(skb) ctx_read_u32(skb, cb[0])

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} nat64_hairpin SEC(".maps");

static __always_inline int is_eam_owned4(__be32 a)
{
	struct nat64_lpm4_key key = { .prefixlen = 32, .addr = a };

	return nat64.nr_eam && bpf_map_lookup_elem(&nat64_eam4, &key) != NULL;
}

/* RFC 7757 §4.1: only destinations in prefix form hairpin, EAM-form ones are translated. */
__noinline int nat64_is_eam_owned6(const struct in6_addr *a)
{
	struct nat64_lpm6_key key = { .prefixlen = 128 };

	if (!nat64.nr_eam || !a)
		return 0;
	__builtin_memcpy(key.addr, a, 16);
	return bpf_map_lookup_elem(&nat64_eam6, &key) != NULL;
}

static __always_inline int hairpin(struct __sk_buff *skb)
{
	cb0_write(skb, NAT64_CB_HAIRPIN);
	bpf_tail_call(skb, &nat64_hairpin, 0);
	return drop(NAT64_CNT_DROP_INTERNAL);	/* no 4to6 program in the array */
}

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
	struct route4 rt = { .rc = -1 };
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
		__u16 check;

		if (bpf_skb_load_bytes(skb, ETH_HLEN + info.l4_off + offsetof(struct udphdr, check), &check, 2))
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
							    csum_ipv4_pseudo(saddr4, daddr4, l4_len, IPPROTO_UDP)))
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

/* ---------------------------------------------------------------------- */
/* IPv4 -> IPv6 (RFC 7915 §4)                                             */

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

static __always_inline int redirect_to_translator_link(struct __sk_buff *skb, const struct nat64_config *cfg)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return drop(NAT64_CNT_DROP_INTERNAL);
	/* PACKET_HOST on the translator link, so the IPv6 stack takes it */
	__builtin_memcpy(eth->h_dest, cfg->v6_mac, ETH_ALEN);
	return bpf_redirect(cfg->v6_ifindex, BPF_F_INGRESS);
}

static __always_inline int finish_4to6(struct __sk_buff *skb, const struct nat64_config *cfg, int hairpin)
{
	/* a hairpin runs on the 6to4 (egress) hook: back up toward IPv6 */
	if (hairpin)
		return bpf_redirect(ctx_read_u32(skb, ifindex), BPF_F_INGRESS);
	if (cfg->flags & NAT64_F_REDIRECT)
		return redirect_to_translator_link(skb, cfg);
	return TC_ACT_OK;
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
	__u16 udp_check = 0;

	if (data + ETH_HLEN > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return pass();
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
		ownership = ownership_4to6(skb, cfg, &ip, l4, is_error);
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

	if (nat64_addr_4to6(ip.daddr, &ip6.daddr, 0))
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
	if (bpf_skb_change_proto(skb, bpf_htons(ETH_P_IPV6), 0))
		return drop(NAT64_CNT_DROP_INTERNAL);
	if (skb->gso_size) {
		/* keep segments inside the MTU: 20 more header bytes each */
		if (bpf_skb_adjust_room(skb, IPV6_HDR_LEN - IPV4_HDR_LEN, BPF_ADJ_ROOM_NET, 0) == 0)
			bpf_skb_adjust_room(skb, -(IPV6_HDR_LEN - IPV4_HDR_LEN), BPF_ADJ_ROOM_NET,
					    BPF_F_ADJ_ROOM_FIXED_GSO);
	}
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
	return finish_4to6(skb, cfg, hairpin);
}

char LICENSE[] SEC("license") = "GPL";
