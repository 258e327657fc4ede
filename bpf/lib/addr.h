/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Address mapping: EAM first (RFC 7757 §3.3), then the RFC 6052 prefix
 * (rfc6052.h, shared with userspace); and the address classes the rules
 * ask about (multicast, broadcast, link scope).
 */
#pragma once

#include "counters.h"
#include "rfc6052.h"

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

/* RFC 1112 §4: class D, 224.0.0.0/4. */
static __always_inline int is_multicast4(__be32 a)
{
	return (bpf_ntohl(a) & 0xf0000000) == 0xe0000000;
}

/* Multicast or the limited broadcast: never answered, never ours to translate. */
static __always_inline int is_group4(__be32 a)
{
	return is_multicast4(a) || a == 0xffffffff;
}

static __always_inline int is_link_scoped6(const struct in6_addr *a)
{
	/* multicast with interface/link scope, or link-local unicast */
	return (a->s6_addr[0] == 0xff && (a->s6_addr[1] & 0x0f) <= 2) ||
	       (a->s6_addr[0] == 0xfe && (a->s6_addr[1] & 0xc0) == 0x80);
}
