/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Global data and maps: the configuration slots userspace fills, the
 * counters, the EAM tries, the drop log and the per-CPU scratch space.
 */
#pragma once

#include "defs.h"

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


static __always_inline const struct nat64_config *config(void)
{
	return &nat64.cfg[nat64.cfg_active & 1];
}
