/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bench/translator-cost --floor: one kernel helper of the translator
 * replaced by a trivial stand-in, the production sources untouched.
 * Forced in front of bpf/nat64.bpf.c (clang -include, on the exact command
 * ninja builds the object with) together with one FLOOR_WITHOUT_* define:
 * the real declarations come first (bpf_helpers.h is include-guarded, so
 * the translator's own #include of it is a no-op), then the helper's name
 * becomes a function-like macro for its stand-in.
 *
 * Every stand-in keeps the verdict of the frames translator-cost sends
 * (TC_ACT_OK plain, TC_ACT_REDIRECT in gateway mode; the tool checks it),
 * so the rest of the path runs as before, and an empty asm takes the
 * arguments, so their computation (a checksum diff, the lookup's key) stays
 * in the variant and only the call itself is what the variant lacks.
 */
#pragma once

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#define floor_use(x) asm volatile("" : : "r"((__u64)(x)))

#ifdef FLOOR_WITHOUT_FIB_LOOKUP
/*
 * The lookup translator-cost's namespace answers: BPF_FIB_LKUP_RET_SUCCESS,
 * out of wan0 (FLOOR_FIB_IFINDEX) to the permanent neighbour of the
 * gateway route (FLOOR_FIB_NEXTHOP, network order, and its MAC
 * FLOOR_FIB_DMAC) from wan0's MAC (FLOOR_FIB_SMAC), MACs as 48-bit
 * numbers: the output frame is the real object's, byte for byte.
 */
static __always_inline long floor_fib_lookup(void *ctx, struct bpf_fib_lookup *p, int plen, __u32 flags)
{
	__u64 d = FLOOR_FIB_DMAC, s = FLOOR_FIB_SMAC;
	int i;

	floor_use(ctx);
	floor_use(plen);
	floor_use(flags);
	p->ifindex = FLOOR_FIB_IFINDEX;
	p->ipv4_dst = FLOOR_FIB_NEXTHOP;
#pragma unroll
	for (i = 0; i < 6; i++) {
		p->dmac[i] = d >> (40 - 8 * i);
		p->smac[i] = s >> (40 - 8 * i);
	}
	return BPF_FIB_LKUP_RET_SUCCESS;
}
#define bpf_fib_lookup(ctx, params, plen, flags) floor_fib_lookup(ctx, params, plen, flags)
#endif

#ifdef FLOOR_WITHOUT_CHANGE_PROTO
/* Success, the packet left as it is: the new header is written over the old one. */
#define bpf_skb_change_proto(skb, proto, flags)						\
	({ floor_use(skb); floor_use(proto); floor_use(flags); 0L; })
#endif

#ifdef FLOOR_WITHOUT_L4_CSUM_REPLACE
/* Success, the checksum left wrong: nothing here looks at it again. */
#define bpf_l4_csum_replace(skb, off, from, to, flags)					\
	({ floor_use(skb); floor_use(off); floor_use(from); floor_use(to); floor_use(flags); 0L; })
#endif

#ifdef FLOOR_WITHOUT_REDIRECT
/* What bpf_redirect() returns for valid flags; the redirect itself happens after the program. */
#define bpf_redirect(ifindex, flags)							\
	({ floor_use(ifindex); floor_use(flags); (long)TC_ACT_REDIRECT; })
#endif

#ifdef FLOOR_WITHOUT_COUNTERS
/*
 * No counters: their lookup (of a per-CPU array, which the verifier
 * inlines: no helper call, but the map access) finds nothing, so the
 * increments it guards go too. Every other map is looked up as before
 * (a macro does not expand inside itself); the address test folds at
 * compile time.
 */
#define bpf_map_lookup_elem(map, key)							\
	((void *)(map) == (void *)&nat64_counters ? ({ floor_use(key); (void *)0; })	\
						    : bpf_map_lookup_elem(map, key))
#endif
