/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the translator's per-CPU caches share (the fast path's two in
 * fastpath.h, the route cache in route.h): each is a direct-mapped
 * PERCPU_ARRAY, a slot found by a hash of its key and holding the key it
 * answers for, good for SLOT_CACHE_JIFFIES after the kernel said yes and
 * at once stale on a reload (the slot keeps nat64.cfg_active). An array
 * lookup is a few JIT-inlined instructions where a hash map's is a helper
 * call; two keys meeting in one slot take turns asking the kernel.
 *
 * A flow's packets stay on one CPU and only that CPU writes its slots:
 * a writer empties the slot (checked = 0) first and marks it full last,
 * so a reader never takes a half-written one.
 */
#pragma once

#include "defs.h"

/*
 * Two ticks (8 ms at HZ=250): a removed conntrack entry, a new route or a
 * changed neighbour takes effect that soon, as the kernel's flowtable
 * defers its own checks to its garbage collector.
 */
#define SLOT_CACHE_JIFFIES		2
/* Knuth's multiplicative hashing: 2^32 / the golden ratio, the slot from the product's top bits */
#define SLOT_CACHE_HASH_MULTIPLIER	0x9e3779b1u

static __always_inline __u32 slot_cache_index(__u32 folded, __u32 order)
{
	return (folded * SLOT_CACHE_HASH_MULTIPLIER) >> (32 - order);
}

static __always_inline int slot_cache_fresh(__u64 checked, __u32 cfg_gen)
{
	return cfg_gen == nat64.cfg_active && bpf_jiffies64() - checked < SLOT_CACHE_JIFFIES;
}

#define slot_cache_barrier()	asm volatile("" ::: "memory")
