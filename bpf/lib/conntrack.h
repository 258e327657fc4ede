/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel's conntrack as BPF sees it: the kfuncs the fast path calls
 * and the few fields of struct nf_conn it reads, declared here because the
 * build has no vmlinux.h (bpf/meson.build). preserve_access_index makes
 * every field access a CO-RE relocation, so libbpf fixes the offsets from
 * the running kernel's BTF at load time and these declarations need only
 * name the fields, not copy the layout.
 */
#pragma once

#include "defs.h"

/* include/uapi/linux/netfilter/nf_conntrack_common.h, enum ip_conntrack_status */
#define IPS_SEEN_REPLY		(1UL << 1)
#define IPS_ASSURED		(1UL << 2)
#define IPS_CONFIRMED		(1UL << 3)
#define IPS_SRC_NAT		(1UL << 4)
#define IPS_DST_NAT		(1UL << 5)
#define IPS_SEQ_ADJUST		(1UL << 6)
#define IPS_SRC_NAT_DONE	(1UL << 7)
#define IPS_DYING		(1UL << 9)
#define IPS_FIXED_TIMEOUT	(1UL << 10)
#define IPS_HELPER		(1UL << 13)
#define IPS_OFFLOAD		(1UL << 14)

/* enum ip_conntrack_dir */
#define IP_CT_DIR_ORIGINAL	0
#define IP_CT_DIR_REPLY		1

/* enum tcp_conntrack */
#define TCP_CONNTRACK_ESTABLISHED 3

/* include/net/netfilter/nf_conntrack_bpf.h: the 12-byte layout every kernel
 * since 6.0 accepts (later ones add zone fields after it). */
struct bpf_ct_opts___local {
	__s32 netns_id;
	__s32 error;
	__u8 l4proto;
	__u8 dir;
	__u8 reserved[2];
};
#define NF_BPF_CT_OPTS_SZ	12
#define BPF_F_CURRENT_NETNS_ID	(-1)

union nf_inet_addr___fp {
	__u32 all[4];
} __attribute__((preserve_access_index));

union nf_conntrack_man_proto___fp {
	__be16 all;
} __attribute__((preserve_access_index));

struct nf_conntrack_man___fp {
	union nf_inet_addr___fp u3;
	union nf_conntrack_man_proto___fp u;
} __attribute__((preserve_access_index));

struct nf_conntrack_tuple___fp {
	struct nf_conntrack_man___fp src;
	struct {
		union nf_inet_addr___fp u3;
		union {
			__be16 all;
		} u;
	} dst;
} __attribute__((preserve_access_index));

struct nf_conntrack_tuple_hash___fp {
	struct nf_conntrack_tuple___fp tuple;
} __attribute__((preserve_access_index));

struct ip_ct_tcp___fp {
	__u8 state;
} __attribute__((preserve_access_index));

union nf_conntrack_proto___fp {
	struct ip_ct_tcp___fp tcp;
} __attribute__((preserve_access_index));

struct nf_conn {
	struct nf_conntrack_tuple_hash___fp tuplehash[2];
	unsigned long status;
	union nf_conntrack_proto___fp proto;
} __attribute__((preserve_access_index));

/*
 * net/netfilter/nf_conntrack_bpf.c. Weak: an object whose fast path
 * program is not loaded (a kernel without them) still loads.
 */
extern struct nf_conn *bpf_skb_ct_lookup(struct __sk_buff *skb_ctx, struct bpf_sock_tuple *bpf_tuple,
					 __u32 tuple__sz, struct bpf_ct_opts___local *opts,
					 __u32 opts__sz) __ksym __weak;
extern void bpf_ct_release(struct nf_conn *ct) __ksym __weak;
extern int bpf_ct_change_timeout(struct nf_conn *nfct, __u32 timeout) __ksym __weak;
