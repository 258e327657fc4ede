/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where a translated packet goes in gateway mode: the IPv4 FIB lookup and
 * redirect after 6to4, the translator link after 4to6, multicast MACs.
 */
#pragma once

#include "counters.h"
#include "addr.h"
#include "hairpin.h"
#include "slot_cache.h"

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

/*
 * Gateway mode: where the translated IPv4 packet goes, looked up once per
 * packet before it is rewritten (so a "too big" answer can still quote it).
 */
struct route4 {
	__u32 ifindex;		/* in: the lookup's input device (0: the hook's); out: the egress */
	__u32 mtu;		/* set when the packet does not fit */
	__be32 nexthop;
	__s32 rc;		/* BPF_FIB_LKUP_RET_* */
	__u8 dmac[6];
	__u8 smac[6];
};

/*
 * The IPv4 routes the translator looked up a moment ago (lib/slot_cache.h):
 * the FIB's answer for a source, destination and input device, kept
 * SLOT_CACHE_JIFFIES, so a flow's packets ask the FIB once per two ticks
 * and a new route or neighbour takes effect that soon. Only a route with
 * a resolved neighbour is kept: no neighbour to resolve still asks the
 * FIB each time, as does a packet larger than any the route was asked
 * about (the MTU check rides on the lookup).
 */
#define ROUTE_CACHE_SLOTS_ORDER	10

struct route4_cached {
	__u64 checked;		/* bpf_jiffies64() of the lookup; 0: empty */
	__be32 saddr4, daddr4;
	__u32 in_ifindex;
	__u32 cfg_gen;		/* nat64.cfg_active then */
	__u32 max_len;		/* the largest tot_len the route took (0: asked without an MTU check) */
	__u32 pad;
	struct route4 rt;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1u << ROUTE_CACHE_SLOTS_ORDER);
	__type(key, __u32);
	__type(value, struct route4_cached);
} nat64_route_cache SEC(".maps");

static __always_inline struct route4_cached *route_slot(__be32 saddr4, __be32 daddr4, __u32 in_ifindex)
{
	__u32 slot = slot_cache_index(saddr4 ^ daddr4 ^ in_ifindex, ROUTE_CACHE_SLOTS_ORDER);

	return bpf_map_lookup_elem(&nat64_route_cache, &slot);
}

__noinline int nat64_route_ipv4(struct __sk_buff *skb, __be32 saddr4, __be32 daddr4, __u32 tot_len,
				struct route4 *rt)
{
	struct bpf_fib_lookup fib = {};
	struct route4_cached *c;
	__u32 in_ifindex;

	if (!rt)
		return -1;
	/* an input lookup from the translator link: rt->ifindex in (6to4 sets
	 * v6_ifindex, so the fast path, on the LAN's hook, routes alike) */
	in_ifindex = rt->ifindex ?: skb->ifindex;
	c = route_slot(saddr4, daddr4, in_ifindex);
	/* tot_len 0 asks for no MTU check: any route the slot holds will do */
	if (c && c->saddr4 == saddr4 && c->daddr4 == daddr4 && c->in_ifindex == in_ifindex &&
	    tot_len <= c->max_len && slot_cache_fresh(c->checked, c->cfg_gen)) {
		*rt = c->rt;
		count(NAT64_CNT_ROUTE_CACHED);
		return 0;
	}

	fib.family = AF_INET;
	fib.ipv4_src = saddr4;
	fib.ipv4_dst = daddr4;
	fib.ifindex = in_ifindex;
	fib.tot_len = tot_len;		/* 0: no MTU check (GSO segments were checked already) */
	rt->rc = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);
	rt->ifindex = fib.ifindex;
	rt->nexthop = fib.ipv4_dst;
	rt->mtu = rt->rc == BPF_FIB_LKUP_RET_FRAG_NEEDED ? fib.mtu_result : 0;
	__builtin_memcpy(rt->dmac, fib.dmac, 6);
	__builtin_memcpy(rt->smac, fib.smac, 6);

	if (c && rt->rc == BPF_FIB_LKUP_RET_SUCCESS) {
		c->checked = 0;
		slot_cache_barrier();
		c->saddr4 = saddr4;
		c->daddr4 = daddr4;
		c->in_ifindex = in_ifindex;
		c->cfg_gen = nat64.cfg_active;
		c->max_len = tot_len;
		c->rt = *rt;
		slot_cache_barrier();
		c->checked = bpf_jiffies64();
	}
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
