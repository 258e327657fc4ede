/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The fast path for established NAT66 flows ([NAT66] FastPath=yes).
 *
 * The slow path of a client's packet is: IPv6 forwarding on the LAN
 * (conntrack, the nft chains, SNAT), the route into the translator link,
 * 6to4 on its egress, a redirect to the WAN. Once conntrack holds a
 * confirmed, established entry whose only NAT is our source NAT, every
 * later packet of the flow would get the same treatment, so this program
 * gives it at once on the LAN's tc ingress: the rewrite the entry's reply
 * tuple says (source address and port), the hop the kernel's forwarding
 * would count and 6to4, in one pass for the common case
 * (nat64_fastpath_6to4(); otherwise the NAT and a tail call into 6to4),
 * and its redirect to the WAN.
 * Replies likewise after 4to6 on the WAN: de-NAT from the entry, the hop,
 * and a redirect toward the client with a real neighbour (bpf_fib_lookup,
 * bpf_redirect_neigh); the replies of a flow taken a moment ago in one pass
 * at the top of xlat_4to6 (nat64_fastpath_4to6_cached()). NAT46 clients
 * take it after their 4to6 on the [NAT46] interface.
 *
 * The state stays in conntrack: the entry is looked up (bpf_skb_ct_lookup;
 * a flow at most every SLOT_CACHE_JIFFIES each way, see
 * nat64_fastpath_cache) and its timeout refreshed as conntrack would
 * (bpf_ct_change_timeout, with the values of conntrack's own sysctls that
 * userspace copies into the configuration), so conntrack -L shows the flow
 * and its expiry as before. Everything conntrack must see takes the slow
 * path ("punts", counted by reason): first packets, TCP SYN/FIN/RST (so
 * its TCP state machine sees every change of state, as the kernel's
 * flowtable does), fragments, ICMP and ICMP errors, extension headers,
 * entries missing, unconfirmed, dying, unreplied or not established
 * (a UDP flow's one packet that lets conntrack call it a stream),
 * entries with a DNAT (multicast maps), a helper or sequence adjustment,
 * hop limit 1 and packets larger than the egress MTU (the translator
 * link's toward IPv4, as the slow path's forwarding checks it; so the
 * kernel answers them). Established packets of such flows skip the ip6
 * forward chain, exactly like a flowtable; gateway.conf(5) says so.
 */
#pragma once

#include "conntrack.h"
#include "counters.h"
#include "addr.h"
#include "hairpin.h"
#include "route.h"
#include "slot_cache.h"

/* enum nat64_fastpath_prog's slots; userspace fills them (as nat64_hairpin). */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, _FASTPATH_PROG_MAX);
	__type(key, __u32);
	__type(value, __u32);
} nat64_fastpath_progs SEC(".maps");

/* [NAT66] ClientPrefix= and the [NAT46] clients as IPv6 (the nft set "clients"). */
#define NAT64_MAX_FASTPATH_CLIENTS 4096

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, NAT64_MAX_FASTPATH_CLIENTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct nat64_lpm6_key);
	__type(value, __u8);
} nat64_fastpath_clients SEC(".maps");

/*
 * conntrack calls a replied UDP flow a stream, and assures it, at its first
 * packet once the entry is 2 s old (nf_conntrack_udp_packet(): "Still active
 * after two seconds?", ct->proto.udp.stream_ts). Until then the fast path
 * takes the flow's packets too, each refreshing the entry as conntrack
 * would (nf_conntrack_udp_timeout), and notes here when it first saw the
 * flow; the first packet 2 s after that goes the slow way, where conntrack
 * finds the entry old enough and assures it. The age cannot come from the
 * entry itself: stream_ts sits in a union Debian 12's 6.1 verifier will not
 * let BPF read. A lost note (LRU) only delays that packet by 2 s more.
 */
#define UDP_STREAM_AGE_NS	(2000ULL * 1000 * 1000)
/* stream_ts counts in jiffies: two ticks at HZ=100 more, so they are past it */
#define UDP_STREAM_AGE_SLACK_NS	(20ULL * 1000 * 1000)
#define NAT64_MAX_YOUNG_UDP_FLOWS 16384

/* A flow as conntrack's original tuple names it, whichever way its packet goes. */
struct fastpath_flow_key {
	__u32 saddr[4];
	__u32 daddr[4];
	__be16 sport;
	__be16 dport;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, NAT64_MAX_YOUNG_UDP_FLOWS);
	__type(key, struct fastpath_flow_key);
	__type(value, __u64);	/* bpf_ktime_get_ns() of the flow's first fast packet */
} nat64_fastpath_young_udp SEC(".maps");

#ifndef AF_INET6
#define AF_INET6	10
#endif

#define TCP_FLAG_FIN	0x01
#define TCP_FLAG_SYN	0x02
#define TCP_FLAG_RST	0x04
#define TCP_FLAGS_OFF	13	/* byte of struct tcphdr holding FIN..CWR */

/* What today's path would have done with the packet. */
static __always_inline int fastpath_punt(struct __sk_buff *skb, const struct nat64_config *cfg,
					 int after_4to6, enum nat64_counter why)
{
	count(why);
	if (after_4to6)
		return redirect_to_translator_link(skb, cfg);
	return TC_ACT_OK;
}

static __always_inline int is_client6(const __u32 addr[4])
{
	struct nat64_lpm6_key key = { .prefixlen = 128 };

	__builtin_memcpy(key.addr, addr, 16);
	return bpf_map_lookup_elem(&nat64_fastpath_clients, &key) != NULL;
}

/* The other end of the NAT: what the packet's own address and port become. */
struct fastpath_nat {
	__u32 addr[4];
	__be16 port;
	__u16 pad;
};

#ifndef NAT64_FASTPATH_STUB
/* A replied UDP flow conntrack has not yet assured: 0 to go fast, or the punt counter. */
static __always_inline int fastpath_udp_young(const struct nf_conn *ct)
{
	struct fastpath_flow_key key = {};
	__u64 now = bpf_ktime_get_ns(), *first;

	/* field by field: each read is a CO-RE relocation the verifier checks */
	for (int i = 0; i < 4; i++) {
		key.saddr[i] = ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple.src.u3.all[i];
		key.daddr[i] = ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple.dst.u3.all[i];
	}
	key.sport = ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple.src.u.all;
	key.dport = ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple.dst.u.all;
	first = bpf_map_lookup_elem(&nat64_fastpath_young_udp, &key);
	if (!first) {
		bpf_map_update_elem(&nat64_fastpath_young_udp, &key, &now, BPF_ANY);
		return 0;
	}
	if (now - *first < UDP_STREAM_AGE_NS + UDP_STREAM_AGE_SLACK_NS)
		return 0;
	bpf_map_delete_elem(&nat64_fastpath_young_udp, &key);
	return NAT64_CNT_FASTPATH_PUNT_UDP_STREAM;
}
#endif

/*
 * The entry says how to rewrite the packet, or that the slow path must
 * have it: 0 with *nat filled, or the punt counter.
 */
__noinline int nat64_fastpath_entry(struct __sk_buff *skb, struct bpf_sock_tuple *tuple, __u32 proto,
				    __u32 want_dir, struct fastpath_nat *nat)
{
	const struct nat64_config *cfg = config();
	struct bpf_ct_opts___local opts = { .netns_id = BPF_F_CURRENT_NETNS_ID, .l4proto = proto };
	struct nf_conn *ct;
	unsigned long status;
	__u32 timeout;
	int r = 0;

	if (!tuple || !nat)
		return NAT64_CNT_DROP_INTERNAL;
#ifdef NAT64_FASTPATH_STUB
	/* bpf/meson.build: the object without kfunc references always punts */
	(void)cfg, (void)opts, (void)ct, (void)status, (void)timeout, (void)want_dir, (void)r;
	return NAT64_CNT_FASTPATH_PUNT_NO_ENTRY;
#else
	ct = bpf_skb_ct_lookup(skb, tuple, sizeof(tuple->ipv6), &opts, NF_BPF_CT_OPTS_SZ);
	if (!ct)
		return NAT64_CNT_FASTPATH_PUNT_NO_ENTRY;

	status = ct->status;
	if ((status & (IPS_CONFIRMED | IPS_SEEN_REPLY)) != (IPS_CONFIRMED | IPS_SEEN_REPLY) ||
	    (status & (IPS_DYING | IPS_FIXED_TIMEOUT)) || opts.dir != want_dir) {
		r = NAT64_CNT_FASTPATH_PUNT_NOT_ESTABLISHED;
		goto out;
	}
	/* our SNAT alone: no DNAT (multicast maps), no helper, no sequence adjustment */
	if ((status & (IPS_SRC_NAT | IPS_SRC_NAT_DONE | IPS_DST_NAT | IPS_SEQ_ADJUST | IPS_HELPER)) !=
	    (IPS_SRC_NAT | IPS_SRC_NAT_DONE)) {
		r = NAT64_CNT_FASTPATH_PUNT_NOT_NAT66;
		goto out;
	}
	if (proto == IPPROTO_TCP) {
		/* the handshake done: ESTABLISHED and ASSURED */
		if (!(status & IPS_ASSURED) || ct->proto.tcp.state != TCP_CONNTRACK_ESTABLISHED) {
			r = NAT64_CNT_FASTPATH_PUNT_NOT_ESTABLISHED;
			goto out;
		}
		timeout = cfg->fastpath_tcp_timeout_ms;
	} else if (status & IPS_ASSURED) {
		timeout = cfg->fastpath_udp_timeout_ms;
	} else {
		r = fastpath_udp_young(ct);
		if (r)
			goto out;
		timeout = cfg->fastpath_udp_young_timeout_ms;
	}

	/*
	 * Original direction: the source becomes the reply tuple's
	 * destination. Reply direction: the destination becomes the original
	 * tuple's source. Without a DNAT the other end is unchanged.
	 */
	if (want_dir == IP_CT_DIR_ORIGINAL) {
		nat->addr[0] = ct->tuplehash[IP_CT_DIR_REPLY].tuple.dst.u3.all[0];
		nat->addr[1] = ct->tuplehash[IP_CT_DIR_REPLY].tuple.dst.u3.all[1];
		nat->addr[2] = ct->tuplehash[IP_CT_DIR_REPLY].tuple.dst.u3.all[2];
		nat->addr[3] = ct->tuplehash[IP_CT_DIR_REPLY].tuple.dst.u3.all[3];
		nat->port = ct->tuplehash[IP_CT_DIR_REPLY].tuple.dst.u.all;
	} else {
		nat->addr[0] = ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple.src.u3.all[0];
		nat->addr[1] = ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple.src.u3.all[1];
		nat->addr[2] = ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple.src.u3.all[2];
		nat->addr[3] = ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple.src.u3.all[3];
		nat->port = ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple.src.u.all;
	}

	/* as nf_conntrack_tcp_packet() and nf_conntrack_udp_packet() would for this packet */
	if (timeout && bpf_ct_change_timeout(ct, timeout))
		r = NAT64_CNT_FASTPATH_PUNT_NOT_ESTABLISHED;	/* dying meanwhile */
out:
	bpf_ct_release(ct);
	return r;
#endif
}

/* nat64_fastpath_6to4*(): not the common case, the packet untouched; the caller goes the general way */
#define FASTPATH_6TO4_GENERAL	(-1)

/* What the one pass toward IPv4 needs of a flow: the NAT, the addresses, the route. */
struct fastpath_6to4 {
	struct route4 rt;
	__be32 saddr4, daddr4;
	__be16 port;		/* the client's port after the NAT */
	__u16 pad;
};

/*
 * The flows the fast path took a moment ago (lib/slot_cache.h). conntrack
 * remains the state: a slot is good for SLOT_CACHE_JIFFIES after conntrack
 * said yes (bpf_skb_ct_lookup) and the FIB gave the route, then the next
 * packet asks both again and refreshes the entry's timeout, as the
 * kernel's flowtable defers that to its garbage collector. Every punt rule
 * that depends on the packet alone is checked per packet as before; only
 * what conntrack, the FIB and the flow's addresses (client, prefix, no
 * hairpin) would answer alike for its next packets is kept, and the
 * packet's tuple is compared with the slot's in place.
 */
#define FASTPATH_CACHE_SLOTS_ORDER	12
#define FASTPATH_CACHE_SLOTS	(1u << FASTPATH_CACHE_SLOTS_ORDER)

/* A client's flow toward IPv4 as its packets carry it. */
struct fastpath_flow {
	__u32 saddr[4], daddr[4];
	__u32 ports;		/* source and destination port, as in the packet */
	__u32 proto;
};

struct fastpath_cached {
	__u64 checked;		/* bpf_jiffies64() when conntrack and the FIB said yes; 0: empty */
	struct fastpath_flow flow;
	__u32 cfg_gen;		/* nat64.cfg_active then: a reload makes the slot stale */
	__u32 max_len;		/* skb->len that passed the MTU checks (0: none, GSO only) */
	struct fastpath_6to4 x;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FASTPATH_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct fastpath_cached);
} nat64_fastpath_cache SEC(".maps");

/* A slot of either cache from the XOR of its flow's words. */
static __always_inline __u32 fastpath_slot_index(__u32 folded)
{
	return slot_cache_index(folded, FASTPATH_CACHE_SLOTS_ORDER);
}

static __always_inline struct fastpath_cached *fastpath_slot(const __u32 saddr[4], const __u32 daddr[4],
							     __u32 ports, __u32 proto)
{
	__u32 h = ports ^ proto, slot;

	for (int i = 0; i < 4; i++)
		h ^= saddr[i] ^ daddr[i];
	slot = fastpath_slot_index(h);
	return bpf_map_lookup_elem(&nat64_fastpath_cache, &slot);
}

static __always_inline int fastpath_slot_holds(const struct fastpath_cached *c, const __u32 saddr[4],
					       const __u32 daddr[4], __u32 ports, __u32 proto)
{
	__u32 differ = (c->flow.ports ^ ports) | (c->flow.proto ^ proto);

	for (int i = 0; i < 4; i++)
		differ |= (c->flow.saddr[i] ^ saddr[i]) | (c->flow.daddr[i] ^ daddr[i]);
	return !differ;
}

/*
 * Replies likewise, from the WAN toward a native IPv6 client: the slot is
 * found by the IPv4 packet as it arrives, and holds what 4to6 and the
 * de-NAT made of the flow's last reply that went the general way, so that
 * the next ones are translated, de-NATed and sent to the LAN in one pass
 * (nat64_fastpath_4to6_cached()). xlat_4to6 passes the IPv4 addresses to
 * the fast path in cb[], which the tail call keeps.
 */
#define FASTPATH_CB_SADDR4	1
#define FASTPATH_CB_DADDR4	2

struct fastpath_reply_flow {
	__be32 saddr4, daddr4;
	__u32 ports;		/* source and destination port, as in the packet */
	__u32 proto;
};

/* What the one pass toward the client needs: the addresses after 4to6 and the de-NAT, the LAN route. */
struct fastpath_4to6 {
	__u32 saddr6[4];	/* the server, as 4to6 maps it */
	__u32 daddr6[4];	/* the client */
	__be16 port;		/* the client's port */
	__u16 pad;
	__u32 ifindex;
	__u8 dmac[ETH_ALEN], smac[ETH_ALEN];
};

struct fastpath_reply_cached {
	__u64 checked;		/* as in struct fastpath_cached */
	struct fastpath_reply_flow flow;
	__u32 cfg_gen;
	__u32 max_len;		/* the IPv6 length that passed the LAN's MTU (0: none, GSO only) */
	struct fastpath_4to6 x;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FASTPATH_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct fastpath_reply_cached);
} nat64_fastpath_reply_cache SEC(".maps");

static __always_inline struct fastpath_reply_cached *fastpath_reply_slot(const struct fastpath_reply_flow *f)
{
	__u32 slot = fastpath_slot_index(f->saddr4 ^ f->daddr4 ^ f->ports ^ f->proto);

	return bpf_map_lookup_elem(&nat64_fastpath_reply_cache, &slot);
}

static __always_inline int fastpath_reply_slot_holds(const struct fastpath_reply_cached *c,
						     const struct fastpath_reply_flow *f)
{
	return !((c->flow.saddr4 ^ f->saddr4) | (c->flow.daddr4 ^ f->daddr4) | (c->flow.ports ^ f->ports) |
		 (c->flow.proto ^ f->proto));
}

static __always_inline void fastpath_reply_forget(const struct fastpath_reply_flow *f)
{
	struct fastpath_reply_cached *c = fastpath_reply_slot(f);

	if (c && fastpath_reply_slot_holds(c, f))
		c->checked = 0;
}

/*
 * A TCP SYN, FIN or RST changes the flow's state in conntrack: the flow's
 * cached "yes" goes with it, both ways, so its next packets ask conntrack
 * again (the last ACK of a close must reach it). The other direction's
 * slot is named by the entry's other tuple; a reply, after 4to6, also by
 * the IPv4 addresses 4to6 left in cb[].
 */
__noinline int nat64_fastpath_forget(struct __sk_buff *skb, int after_4to6)
{
	const struct nat64_config *cfg = config();
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	/* .proto is set where the key is used, not here: an initializer made
	 * clang emit a .rodata.cst16 that the stub object lacks, and the one
	 * skeleton could then not open the stub (tests/unit/test_bpf_build.py). */
	struct fastpath_reply_flow reply = {};
	struct bpf_sock_tuple tuple = {};
	struct ipv6hdr *ip6 = data + ETH_HLEN;
	__be16 *ports = (void *)(ip6 + 1);
	struct fastpath_cached *c;
	__u32 both_ports;

	if ((void *)(ports + 2) > data_end)
		return 0;
	__builtin_memcpy(tuple.ipv6.saddr, &ip6->saddr, 16);
	__builtin_memcpy(tuple.ipv6.daddr, &ip6->daddr, 16);
	tuple.ipv6.sport = ports[0];
	tuple.ipv6.dport = ports[1];
	if (after_4to6) {
		reply.saddr4 = ctx_read_u32(skb, cb[FASTPATH_CB_SADDR4]);
		reply.daddr4 = ctx_read_u32(skb, cb[FASTPATH_CB_DADDR4]);
		__builtin_memcpy(&reply.ports, ports, sizeof(reply.ports));
		reply.proto = IPPROTO_TCP;
		fastpath_reply_forget(&reply);
	}
#ifndef NAT64_FASTPATH_STUB
	{
		struct bpf_ct_opts___local opts = { .netns_id = BPF_F_CURRENT_NETNS_ID, .l4proto = IPPROTO_TCP };
		struct nf_conn *ct = bpf_skb_ct_lookup(skb, &tuple, sizeof(tuple.ipv6), &opts, NF_BPF_CT_OPTS_SZ);
		__u32 server6[4], pool6[4];
		__be16 reply_ports[2];

		if (ct) {	/* else a client's packet names its flow itself */
			for (int i = 0; i < 4; i++) {
				tuple.ipv6.saddr[i] = ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple.src.u3.all[i];
				tuple.ipv6.daddr[i] = ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple.dst.u3.all[i];
				server6[i] = ct->tuplehash[IP_CT_DIR_REPLY].tuple.src.u3.all[i];
				pool6[i] = ct->tuplehash[IP_CT_DIR_REPLY].tuple.dst.u3.all[i];
			}
			tuple.ipv6.sport = ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple.src.u.all;
			tuple.ipv6.dport = ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple.dst.u.all;
			reply_ports[0] = ct->tuplehash[IP_CT_DIR_REPLY].tuple.src.u.all;
			reply_ports[1] = ct->tuplehash[IP_CT_DIR_REPLY].tuple.dst.u.all;
			bpf_ct_release(ct);
			__builtin_memcpy(&reply.ports, reply_ports, sizeof(reply.ports));
			reply.proto = IPPROTO_TCP;
			/* a client's packet: the reply's IPv4 tuple, as it will come from the WAN */
			if (!after_4to6 && !addr6to4(cfg, (const struct in6_addr *)server6, &reply.saddr4) &&
			    !addr6to4(cfg, (const struct in6_addr *)pool6, &reply.daddr4))
				fastpath_reply_forget(&reply);
		}
	}
#else
	(void)cfg;
#endif
	__builtin_memcpy(&both_ports, &tuple.ipv6.sport, sizeof(both_ports));
	c = fastpath_slot(tuple.ipv6.saddr, tuple.ipv6.daddr, both_ports, IPPROTO_TCP);
	if (c && fastpath_slot_holds(c, tuple.ipv6.saddr, tuple.ipv6.daddr, both_ports, IPPROTO_TCP))
		c->checked = 0;
	return 0;
}

/*
 * A TCP or UDP header at l4 whose addresses changed by pseudo_diff (a sum
 * of the pseudo-header change) and whose port changed from old_port to
 * new_port: its checksum updated in two steps, as bpf_l4_csum_replace()
 * treats the two apart for CHECKSUM_PARTIAL packets (only the
 * pseudo-header sits in the field then). 0, or nonzero if a helper failed.
 */
static __always_inline int fastpath_l4_csum_update(struct __sk_buff *skb, __u32 l4, __u32 proto, __u32 pseudo_diff,
						   __be16 old_port, __be16 new_port)
{
	__u32 check_off = l4 + (proto == IPPROTO_TCP ? offsetof(struct tcphdr, check) : offsetof(struct udphdr, check));
	__u64 mangled_0 = proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;	/* UDP: 0 means none */

	if (bpf_l4_csum_replace(skb, check_off, 0, pseudo_diff, BPF_F_PSEUDO_HDR | mangled_0))
		return -1;
	/* conntrack keeps most flows' ports: then there is no second change to sum */
	return old_port != new_port &&
	       bpf_l4_csum_replace(skb, check_off, old_port, new_port, sizeof(new_port) | mangled_0);
}

/*
 * The one pass for a client's packet, once decided: what the entry's NAT
 * and then xlat_6to4 would do to it. The NAT66 rewrite and 6to4's
 * pseudo-header change are one checksum update, and the IPv6 header is
 * replaced rather than NATed first.
 */
__noinline int nat64_fastpath_6to4_apply(struct __sk_buff *skb, const struct fastpath_6to4 *x, __u32 proto)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	__u32 l4 = ETH_HLEN + IPV6_HDR_LEN, bytes = skb->len, tot_len;
	struct iphdr ip = {};
	struct ipv6hdr *ip6;
	__be16 old_port;

	if (!x || data + l4 + sizeof(struct udphdr) > data_end)
		return drop(NAT64_CNT_DROP_INTERNAL);
	ip6 = data + ETH_HLEN;
	tot_len = IPV4_HDR_LEN + bpf_ntohs(ip6->payload_len);

	/* RFC 7915 §5.1, the fields of an unfragmented packet, as xlat_6to4 sets them */
	ip.version = 4;
	ip.ihl = 5;
	ip.tos = tos_of_ipv6(ip6);
	ip.tot_len = bpf_htons(tot_len);
	if (tot_len > IPV4_DF_THRESHOLD)
		ip.frag_off = bpf_htons(IP_DF);
	else
		ip.id = next_ipv4_id();		/* RFC 6864: DF=0 needs a fresh ID */
	ip.ttl = ip6->hop_limit - 1;		/* the hop IPv6 forwarding would count */
	ip.protocol = proto;			/* TCP and UDP keep their numbers */
	ip.saddr = x->saddr4;
	ip.daddr = x->daddr4;
	ip.check = ipv4_hdr_csum(&ip);

	/* the client's addresses become the IPv4 pair in one update: the NAT's and 6to4's together */
	old_port = ((struct udphdr *)(data + l4))->source;
	if (fastpath_l4_csum_update(skb, l4, proto, pseudo_diff_6to4_inline(ip6, x->saddr4, x->daddr4),
				    old_port, x->port))
		return drop(NAT64_CNT_DROP_INTERNAL);
	if (bpf_skb_change_proto(skb, bpf_htons(ETH_P_IP), 0))
		return drop(NAT64_CNT_DROP_INTERNAL);

	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (data + ETH_HLEN + IPV4_HDR_LEN + sizeof(struct udphdr) > data_end)
		return drop(NAT64_CNT_DROP_INTERNAL);
	((struct ethhdr *)data)->h_proto = bpf_htons(ETH_P_IP);
	__builtin_memcpy(data + ETH_HLEN, &ip, sizeof(ip));
	((struct udphdr *)(data + ETH_HLEN + IPV4_HDR_LEN))->source = x->port;

	count(NAT64_CNT_FASTPATH_6TO4);
	count_translated(NAT64_CNT_PKTS_6TO4, bytes);
	return nat64_send_ipv4(skb, &x->rt, x->daddr4);
}

/* Link-layer padding, or a payload length that lies: 6to4 trims or drops such a packet. */
static __always_inline int fastpath_length_exact(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	struct ipv6hdr *ip6 = data + ETH_HLEN;

	if ((void *)(ip6 + 1) > data_end)
		return 0;
	return ETH_HLEN + IPV6_HDR_LEN + bpf_ntohs(ip6->payload_len) == skb->len;
}

/* The translator link's MTU, which the slow path's IPv6 forwarding checks (see nat64_fastpath()). */
static __always_inline int fastpath_fits_translator_link(struct __sk_buff *skb, const struct nat64_config *cfg)
{
	__u32 mtu_len = 0;

	return bpf_check_mtu(skb, cfg->v6_ifindex, &mtu_len, 0, 0) == BPF_MTU_CHK_RET_SUCCESS;
}

/*
 * A packet of a flow taken a moment ago: the one pass at once, or
 * FASTPATH_6TO4_GENERAL to ask conntrack and the FIB. Tried first on the
 * LAN's hook, so it checks what nat64_fastpath() would check of the packet
 * itself; anything it would punt or pass goes the general way, which then
 * answers and counts as before.
 */
__noinline int nat64_fastpath_6to4_cached(struct __sk_buff *skb)
{
	const struct nat64_config *cfg = config();
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	__u32 l4 = ETH_HLEN + IPV6_HDR_LEN, ports, saddr[4], daddr[4];
	struct fastpath_cached *c;
	struct ipv6hdr *ip6;
	__u8 proto;

	if (data + l4 + sizeof(struct udphdr) > data_end)
		return FASTPATH_6TO4_GENERAL;
	ip6 = data + ETH_HLEN;
	if (((struct ethhdr *)data)->h_proto != bpf_htons(ETH_P_IPV6) || ip6->version != 6 || ip6->hop_limit <= 1)
		return FASTPATH_6TO4_GENERAL;
	proto = ip6->nexthdr;
	if (proto == IPPROTO_TCP) {
		if (data + l4 + sizeof(struct tcphdr) > data_end ||
		    (*((__u8 *)data + l4 + TCP_FLAGS_OFF) & (TCP_FLAG_SYN | TCP_FLAG_FIN | TCP_FLAG_RST)))
			return FASTPATH_6TO4_GENERAL;
	} else if (proto != IPPROTO_UDP || ((struct udphdr *)(data + l4))->check == 0) {
		return FASTPATH_6TO4_GENERAL;
	}
	if (!fastpath_length_exact(skb))
		return FASTPATH_6TO4_GENERAL;
	__builtin_memcpy(saddr, &ip6->saddr, 16);
	__builtin_memcpy(daddr, &ip6->daddr, 16);
	__builtin_memcpy(&ports, data + l4, sizeof(ports));

	c = fastpath_slot(saddr, daddr, ports, proto);
	if (!c || (cfg->flags & NAT64_F_FASTPATH_UNCACHED) || !fastpath_slot_holds(c, saddr, daddr, ports, proto) ||
	    !slot_cache_fresh(c->checked, c->cfg_gen))
		return FASTPATH_6TO4_GENERAL;
	if (bpf_csum_update(skb, 0) >= 0)	/* CHECKSUM_COMPLETE: see nat64_fastpath() */
		return FASTPATH_6TO4_GENERAL;
	/* the MTU checks passed for packets up to max_len; a GSO packet's segments are checked here */
	if (skb->gso_size ? !fastpath_fits_translator_link(skb, cfg) : skb->len > c->max_len)
		return FASTPATH_6TO4_GENERAL;
	count(NAT64_CNT_FASTPATH_CACHED);
	return nat64_fastpath_6to4_apply(skb, &c->x, proto);
}

/* The packet (untouched yet) and its one pass, kept in the flow's slot. */
__noinline int fastpath_cache_note(struct __sk_buff *skb, __u32 proto, const struct fastpath_6to4 *x)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	__u32 l4 = ETH_HLEN + IPV6_HDR_LEN, ports, saddr[4], daddr[4];
	struct fastpath_cached *c;
	struct ipv6hdr *ip6;

	if (!x || data + l4 + sizeof(ports) > data_end)
		return 0;
	ip6 = data + ETH_HLEN;
	__builtin_memcpy(saddr, &ip6->saddr, 16);
	__builtin_memcpy(daddr, &ip6->daddr, 16);
	__builtin_memcpy(&ports, data + l4, sizeof(ports));
	c = fastpath_slot(saddr, daddr, ports, proto);
	if (!c)
		return 0;
	c->checked = 0;
	slot_cache_barrier();
	__builtin_memcpy(c->flow.saddr, saddr, 16);
	__builtin_memcpy(c->flow.daddr, daddr, 16);
	c->flow.ports = ports;
	c->flow.proto = proto;
	c->cfg_gen = nat64.cfg_active;
	c->max_len = skb->gso_size ? 0 : skb->len;
	c->x = *x;
	slot_cache_barrier();
	c->checked = bpf_jiffies64();
	return 0;
}

/*
 * The one pass for a reply from the WAN, once decided: what 4to6 and then
 * the de-NAT would do to it. 4to6's pseudo-header change and the de-NAT's
 * are one checksum update, the IPv6 header is written once, with the hop
 * the IPv6 forwarding toward the client would count.
 */
__noinline int nat64_fastpath_4to6_apply(struct __sk_buff *skb, const struct fastpath_4to6 *x, __u32 proto)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	__u32 l4 = ETH_HLEN + IPV4_HDR_LEN, bytes = skb->len;
	struct ipv6hdr ip6 = {};
	struct ethhdr *eth;
	struct iphdr *ip;
	__be16 old_port;

	if (!x || data + l4 + sizeof(struct udphdr) > data_end)
		return drop(NAT64_CNT_DROP_INTERNAL);
	ip = data + ETH_HLEN;

	/* RFC 7915 §4.1, as xlat_4to6 sets them */
	ip6.version = 6;
	ip6.priority = ip->tos >> 4;
	ip6.flow_lbl[0] = ip->tos << 4;
	ip6.payload_len = bpf_htons(bpf_ntohs(ip->tot_len) - IPV4_HDR_LEN);
	ip6.nexthdr = proto;
	ip6.hop_limit = ip->ttl - 1;
	__builtin_memcpy(&ip6.saddr, x->saddr6, 16);
	__builtin_memcpy(&ip6.daddr, x->daddr6, 16);

	/* 4to6's pseudo-header change and the de-NAT's in one update */
	old_port = ((struct udphdr *)(data + l4))->dest;
	if (fastpath_l4_csum_update(skb, l4, proto, pseudo_diff_4to6_inline(ip->saddr, ip->daddr, &ip6), old_port,
				    x->port))
		return drop(NAT64_CNT_DROP_INTERNAL);
	if (change_proto_to_ipv6(skb))
		return drop(NAT64_CNT_DROP_INTERNAL);

	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (data + ETH_HLEN + IPV6_HDR_LEN + sizeof(struct udphdr) > data_end)
		return drop(NAT64_CNT_DROP_INTERNAL);
	eth = data;
	eth->h_proto = bpf_htons(ETH_P_IPV6);
	__builtin_memcpy(eth->h_dest, x->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, x->smac, ETH_ALEN);
	__builtin_memcpy(data + ETH_HLEN, &ip6, sizeof(ip6));
	((struct udphdr *)(data + ETH_HLEN + IPV6_HDR_LEN))->dest = x->port;

	count_translated(NAT64_CNT_PKTS_4TO6, bytes);
	count(NAT64_CNT_FASTPATH_4TO6);
	count(NAT64_CNT_FASTPATH_CACHED);
	return bpf_redirect(x->ifindex, 0);
}

/*
 * A reply from the WAN of a flow taken a moment ago, at the top of
 * xlat_4to6: the one pass at once, or FASTPATH_6TO4_GENERAL for 4to6 and
 * the fast path after it, which then answer and count as before. What
 * they would check of the packet itself is checked here; what they
 * decided of the flow (ours, in PortRange=, not spoofed, established,
 * routed) is the slot's.
 */
__noinline int nat64_fastpath_4to6_cached(struct __sk_buff *skb)
{
	const struct nat64_config *cfg = config();
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	__u32 l4 = ETH_HLEN + IPV4_HDR_LEN, tot_len, out_len, limit;
	struct fastpath_reply_flow flow = {};
	struct fastpath_reply_cached *c;
	struct iphdr *ip;

	if (data + l4 + sizeof(struct udphdr) > data_end)
		return FASTPATH_6TO4_GENERAL;
	ip = data + ETH_HLEN;
	if (((struct ethhdr *)data)->h_proto != bpf_htons(ETH_P_IP) || ip->version != 4 ||
	    ip->ihl != IPV4_HDR_LEN / 4 || (ip->frag_off & bpf_htons(IP_MF | IP_OFFMASK)) || ip->ttl <= 1)
		return FASTPATH_6TO4_GENERAL;
	tot_len = bpf_ntohs(ip->tot_len);
	if (ETH_HLEN + tot_len != skb->len)	/* padding, or a lie: 4to6's */
		return FASTPATH_6TO4_GENERAL;
	if (ip->protocol == IPPROTO_TCP) {
		if (data + l4 + sizeof(struct tcphdr) > data_end || tot_len < IPV4_HDR_LEN + sizeof(struct tcphdr) ||
		    (*((__u8 *)data + l4 + TCP_FLAGS_OFF) & (TCP_FLAG_SYN | TCP_FLAG_FIN | TCP_FLAG_RST)))
			return FASTPATH_6TO4_GENERAL;
	} else if (ip->protocol != IPPROTO_UDP || tot_len < IPV4_HDR_LEN + sizeof(struct udphdr) ||
		   ((struct udphdr *)(data + l4))->check == 0) {	/* RFC 7915 §4.5: 4to6 computes it */
		return FASTPATH_6TO4_GENERAL;
	}
	if (!ipv4_hdr_valid(ip))
		return FASTPATH_6TO4_GENERAL;

	flow.saddr4 = ip->saddr;
	flow.daddr4 = ip->daddr;
	__builtin_memcpy(&flow.ports, data + l4, sizeof(flow.ports));
	flow.proto = ip->protocol;
	c = fastpath_reply_slot(&flow);
	if (!c || (cfg->flags & NAT64_F_FASTPATH_UNCACHED) || !fastpath_reply_slot_holds(c, &flow) ||
	    !slot_cache_fresh(c->checked, c->cfg_gen))
		return FASTPATH_6TO4_GENERAL;
	if (bpf_csum_update(skb, 0) >= 0)	/* CHECKSUM_COMPLETE: see nat64_fastpath() */
		return FASTPATH_6TO4_GENERAL;

	if (!skb->gso_size) {
		/* 4to6's size rules (RFC 7915 §4.1, §6): what it would answer or split goes its way */
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
		ip = data + ETH_HLEN;
		if ((void *)(ip + 1) > data_end)
			return FASTPATH_6TO4_GENERAL;
		out_len = IPV6_HDR_LEN + tot_len - IPV4_HDR_LEN;
		limit = cfg->lowest_ipv6_mtu ?: IPV6_MIN_MTU;
		if (cfg->mtu_v6 && cfg->mtu_v6 < limit)
			limit = cfg->mtu_v6;
		if (ip->frag_off & bpf_htons(IP_DF) ? cfg->mtu_v6 && out_len > cfg->mtu_v6 : out_len > limit)
			return FASTPATH_6TO4_GENERAL;
		if (out_len > c->max_len)	/* the LAN's MTU passed for packets up to max_len */
			return FASTPATH_6TO4_GENERAL;
	}
	return nat64_fastpath_4to6_apply(skb, &c->x, flow.proto);
}

/* A reply the fast path has just taken the general way (after 4to6, not yet de-NATed), kept in its slot. */
__noinline int fastpath_reply_note(struct __sk_buff *skb, __u32 proto, const struct fastpath_nat *nat,
				   const struct bpf_fib_lookup *fib)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	struct fastpath_reply_flow flow = { .proto = proto };
	struct fastpath_reply_cached *c;
	struct ipv6hdr *ip6 = data + ETH_HLEN;

	if (!nat || !fib || (void *)(ip6 + 1) + sizeof(flow.ports) > data_end)
		return 0;
	flow.saddr4 = ctx_read_u32(skb, cb[FASTPATH_CB_SADDR4]);
	flow.daddr4 = ctx_read_u32(skb, cb[FASTPATH_CB_DADDR4]);
	__builtin_memcpy(&flow.ports, ip6 + 1, sizeof(flow.ports));
	c = fastpath_reply_slot(&flow);
	if (!c)
		return 0;
	c->checked = 0;
	slot_cache_barrier();
	c->flow = flow;
	c->cfg_gen = nat64.cfg_active;
	c->max_len = skb->gso_size ? 0 : skb->len - ETH_HLEN;
	__builtin_memcpy(c->x.saddr6, &ip6->saddr, 16);
	__builtin_memcpy(c->x.daddr6, nat->addr, 16);
	c->x.port = nat->port;
	c->x.ifindex = fib->ifindex;
	__builtin_memcpy(c->x.dmac, fib->dmac, ETH_ALEN);
	__builtin_memcpy(c->x.smac, fib->smac, ETH_ALEN);
	slot_cache_barrier();
	c->checked = bpf_jiffies64();
	return 0;
}

/*
 * A client's packet whose entry conntrack has just given (nat): the one
 * pass if it is the common case (no padding, unicast, a route and no MTU
 * to report), noted for the flow's next packets. Decided before the
 * packet changes, so anything else returns FASTPATH_6TO4_GENERAL with the
 * packet as it came: the NAT and the tail call into xlat_6to4, which
 * answers as on its own hook. tests/fuzz/fuzz_fastpath.py holds the
 * output to xlat_6to4's.
 */
__noinline int nat64_fastpath_6to4(struct __sk_buff *skb, __u32 proto, const struct fastpath_nat *nat,
				   __be32 daddr4)
{
	const struct nat64_config *cfg = config();
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	struct fastpath_6to4 x = {
		.rt = { .rc = -1, .ifindex = cfg->v6_ifindex },	/* input from the translator link */
		.daddr4 = daddr4,
	};
	struct ipv6hdr *ip6;
	__u32 tot_len;

	if (!nat || !(cfg->flags & NAT64_F_REDIRECT) || (cfg->flags & NAT64_F_ROUTER_MODE) || is_multicast4(daddr4))
		return FASTPATH_6TO4_GENERAL;
	if (data + ETH_HLEN + IPV6_HDR_LEN > data_end)
		return FASTPATH_6TO4_GENERAL;
	ip6 = data + ETH_HLEN;
	tot_len = IPV4_HDR_LEN + bpf_ntohs(ip6->payload_len);
	if (!fastpath_length_exact(skb) || is_link_scoped6(&ip6->daddr))
		return FASTPATH_6TO4_GENERAL;
	if (addr6to4(cfg, (const struct in6_addr *)nat->addr, &x.saddr4))
		return FASTPATH_6TO4_GENERAL;
	x.port = nat->port;

	/* as 6to4 routes it: GSO packets are checked per segment, not here */
	nat64_route_ipv4(skb, x.saddr4, daddr4, skb->gso_size ? 0 : tot_len, &x.rt);
	if (x.rt.rc != BPF_FIB_LKUP_RET_SUCCESS && x.rt.rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		return FASTPATH_6TO4_GENERAL;	/* no route, or too big: 6to4 answers */
	if (cfg->mtu_v4 && tot_len > cfg->mtu_v4 && !skb->gso_size && tot_len > IPV4_DF_THRESHOLD)
		return FASTPATH_6TO4_GENERAL;	/* its Packet Too Big (RFC 7915 §5.1) */

	/* a neighbour to resolve is bpf_redirect_neigh()'s each time, not a route to keep */
	if (x.rt.rc == BPF_FIB_LKUP_RET_SUCCESS && !cfg->mtu_v4)
		fastpath_cache_note(skb, proto, &x);
	return nat64_fastpath_6to4_apply(skb, &x, proto);
}

/*
 * Where a de-NATed reply goes on the IPv6 side, decided before the packet
 * changes (a failure punts it as it came): 0 with *fib filled, or -1.
 */
static __always_inline int fastpath_route_ipv6(struct __sk_buff *skb, const struct nat64_config *cfg,
					       const struct in6_addr *saddr, const __u32 daddr[4],
					       __u32 tot_len, struct bpf_fib_lookup *fib)
{
	int rc;

	fib->family = AF_INET6;
	__builtin_memcpy(fib->ipv6_src, saddr, 16);
	__builtin_memcpy(fib->ipv6_dst, daddr, 16);
	/* as the slow path forwards it: arriving on the translator link */
	fib->ifindex = cfg->v6_ifindex ?: ctx_read_u32(skb, ifindex);
	fib->tot_len = tot_len;
	rc = bpf_fib_lookup(skb, fib, sizeof(*fib), 0);
	fib->tot_len = rc;
	/* FRAG_NEEDED, unreachable, forwarding off...: the kernel answers */
	return rc == BPF_FIB_LKUP_RET_SUCCESS || rc == BPF_FIB_LKUP_RET_NO_NEIGH ? 0 : -1;
}

static __always_inline int fastpath_send_ipv6(struct __sk_buff *skb, const struct bpf_fib_lookup *fib)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	struct bpf_redir_neigh nh = {};
	struct ethhdr *eth = data;

	if (fib->tot_len == BPF_FIB_LKUP_RET_NO_NEIGH) {
		nh.nh_family = AF_INET6;
		__builtin_memcpy(nh.ipv6_nh, fib->ipv6_dst, 16);
		return bpf_redirect_neigh(fib->ifindex, &nh, sizeof(nh), 0);
	}
	if ((void *)(eth + 1) > data_end)
		return drop(NAT64_CNT_DROP_INTERNAL);
	__builtin_memcpy(eth->h_dest, fib->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib->smac, ETH_ALEN);
	return bpf_redirect(fib->ifindex, 0);
}

/*
 * One packet on the fast path. after_4to6: the packet was IPv4 a moment
 * ago (xlat_4to6 tail-called us), either a reply from the WAN or a NAT46
 * client's packet on the [NAT46] interface; otherwise it is a native IPv6
 * packet on the LAN's ingress.
 */
static __always_inline int nat64_fastpath(struct __sk_buff *skb, const struct nat64_config *cfg, int after_4to6)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	struct bpf_sock_tuple tuple = {};
	struct bpf_fib_lookup fib = {};
	struct ipv6hdr *ip6;
	struct fastpath_nat nat = {};
	__u32 old_addr[4], want_dir, l4 = ETH_HLEN + IPV6_HDR_LEN, diff;
	__u32 bytes = skb->len;	/* before any rewrite */
	__be16 old_port, ports[2];
	__be32 v4 = 0;		/* 6.1 wants what a global function reads initialised */
	__u8 proto;
	int r, to_ipv4 = 1;

	if (!after_4to6) {
		/* a flow taken a moment ago: client, prefix and hairpin were checked then */
		r = nat64_fastpath_6to4_cached(skb);
		if (r != FASTPATH_6TO4_GENERAL)
			return r;
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
	}
	if (data + l4 > data_end)
		return after_4to6 ? fastpath_punt(skb, cfg, 1, NAT64_CNT_FASTPATH_PUNT_HEADER) : TC_ACT_OK;
	ip6 = data + ETH_HLEN;
	if (((struct ethhdr *)data)->h_proto != bpf_htons(ETH_P_IPV6) || ip6->version != 6)
		return after_4to6 ? fastpath_punt(skb, cfg, 1, NAT64_CNT_FASTPATH_PUNT_HEADER) : TC_ACT_OK;

	if (after_4to6) {
		want_dir = cfg->nat46_ifindex && ctx_read_u32(skb, ifindex) == cfg->nat46_ifindex ?
				   IP_CT_DIR_ORIGINAL : IP_CT_DIR_REPLY;
	} else {
		/* only what the route into the translator link would catch, from clients */
		if (addr6to4(cfg, &ip6->daddr, &v4) || !is_client6(ip6->saddr.in6_u.u6_addr32))
			return TC_ACT_OK;
		want_dir = IP_CT_DIR_ORIGINAL;
		if (is_eam_owned4(v4))	/* a hairpin: 6to4's own business on its hook */
			return fastpath_punt(skb, cfg, 0, NAT64_CNT_FASTPATH_PUNT_NOT_NAT66);
	}

	proto = ip6->nexthdr;
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return fastpath_punt(skb, cfg, after_4to6, NAT64_CNT_FASTPATH_PUNT_HEADER);
	if (ip6->hop_limit <= 1)
		return fastpath_punt(skb, cfg, after_4to6, NAT64_CNT_FASTPATH_PUNT_ROUTE);
	if (proto == IPPROTO_TCP) {
		if (data + l4 + sizeof(struct tcphdr) > data_end)
			return fastpath_punt(skb, cfg, after_4to6, NAT64_CNT_FASTPATH_PUNT_HEADER);
		if (*((__u8 *)data + l4 + TCP_FLAGS_OFF) & (TCP_FLAG_SYN | TCP_FLAG_FIN | TCP_FLAG_RST)) {
			nat64_fastpath_forget(skb, after_4to6);
			return fastpath_punt(skb, cfg, after_4to6, NAT64_CNT_FASTPATH_PUNT_TCP_CONTROL);
		}
	} else {
		if (data + l4 + sizeof(struct udphdr) > data_end)
			return fastpath_punt(skb, cfg, after_4to6, NAT64_CNT_FASTPATH_PUNT_HEADER);
		if (((struct udphdr *)(data + l4))->check == 0)	/* IPv6 forbids it: the kernel drops it */
			return fastpath_punt(skb, cfg, after_4to6, NAT64_CNT_FASTPATH_PUNT_HEADER);
	}
	/*
	 * A packet the NIC handed up with CHECKSUM_COMPLETE carries the sum of
	 * its bytes, which the rewrite below and 6to4 would make stale; the
	 * kernel's forwarding drops that state (skb_forward_csum()), BPF
	 * cannot. Harmless on a real NIC's transmit, fatal where the skb is
	 * received again (a veth). bpf_csum_update() adds 0 and answers only
	 * for such packets.
	 */
	if (bpf_csum_update(skb, 0) >= 0)
		return fastpath_punt(skb, cfg, after_4to6, NAT64_CNT_FASTPATH_PUNT_CSUM_COMPLETE);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (data + l4 + sizeof(struct udphdr) > data_end)
		return fastpath_punt(skb, cfg, after_4to6, NAT64_CNT_FASTPATH_PUNT_HEADER);
	ip6 = data + ETH_HLEN;
	__builtin_memcpy(ports, data + l4, 4);
	__builtin_memcpy(tuple.ipv6.saddr, &ip6->saddr, 16);
	__builtin_memcpy(tuple.ipv6.daddr, &ip6->daddr, 16);
	tuple.ipv6.sport = ports[0];
	tuple.ipv6.dport = ports[1];

	/*
	 * The slow path routes a client's packet into the translator link,
	 * whose MTU (the WAN's + 20) the kernel's IPv6 forwarding checks: a
	 * larger packet gets its Packet Too Big from there, addressed to the
	 * client. 6to4 here would answer the NATed packet instead.
	 */
	if (want_dir == IP_CT_DIR_ORIGINAL && !fastpath_fits_translator_link(skb, cfg))
		return fastpath_punt(skb, cfg, after_4to6, NAT64_CNT_FASTPATH_PUNT_ROUTE);

	r = nat64_fastpath_entry(skb, &tuple, proto, want_dir, &nat);
	if (r)
		return fastpath_punt(skb, cfg, after_4to6, r);

	if (!after_4to6) {
		r = nat64_fastpath_6to4(skb, proto, &nat, v4);
		if (r != FASTPATH_6TO4_GENERAL)
			return r;
	}
	if (want_dir == IP_CT_DIR_ORIGINAL) {
		__builtin_memcpy(old_addr, tuple.ipv6.saddr, 16);
		old_port = ports[0];
	} else {
		__builtin_memcpy(old_addr, tuple.ipv6.daddr, 16);
		old_port = ports[1];
		/* a NAT46 client's reply goes on to IPv4; a native client's stays IPv6 */
		to_ipv4 = addr6to4(cfg, (const struct in6_addr *)nat.addr, &v4) == 0;
		if (!to_ipv4 && fastpath_route_ipv6(skb, cfg, (const struct in6_addr *)tuple.ipv6.saddr, nat.addr,
						    skb->gso_size ? 0 : bytes - ETH_HLEN, &fib))
			return fastpath_punt(skb, cfg, after_4to6, NAT64_CNT_FASTPATH_PUNT_ROUTE);
		/* as for 6to4: a neighbour to resolve is bpf_redirect_neigh()'s each time */
		if (!to_ipv4 && fib.tot_len == BPF_FIB_LKUP_RET_SUCCESS && !(cfg->flags & NAT64_F_ROUTER_MODE))
			fastpath_reply_note(skb, proto, &nat, &fib);
	}

	/* The rewrite: address and port with the L4 checksum, then the hop limit. */
	diff = 0;
	for (int i = 0; i < 4; i++)	/* as bpf_csum_diff(old_addr, 16, nat.addr, 16, 0) */
		diff = csum_add32(csum_add32(diff, nat.addr[i]), ~old_addr[i]);
	if (fastpath_l4_csum_update(skb, l4, proto, diff, old_port, nat.port))
		return drop(NAT64_CNT_DROP_INTERNAL);

	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (data + l4 + sizeof(struct udphdr) > data_end)
		return drop(NAT64_CNT_DROP_INTERNAL);
	ip6 = data + ETH_HLEN;
	if (want_dir == IP_CT_DIR_ORIGINAL) {
		__builtin_memcpy(&ip6->saddr, nat.addr, 16);
		((struct udphdr *)(data + l4))->source = nat.port;
	} else {
		__builtin_memcpy(&ip6->daddr, nat.addr, 16);
		((struct udphdr *)(data + l4))->dest = nat.port;
	}
	ip6->hop_limit--;	/* the hop IPv6 forwarding would count (no checksum covers it) */

	count(want_dir == IP_CT_DIR_ORIGINAL ? NAT64_CNT_FASTPATH_6TO4 : NAT64_CNT_FASTPATH_4TO6);
	if (!to_ipv4)
		return fastpath_send_ipv6(skb, &fib);
	/* 6to4 translates, routes and redirects as on its own hook */
	bpf_tail_call(skb, &nat64_fastpath_progs, FASTPATH_PROG_6TO4);
	return drop(NAT64_CNT_DROP_INTERNAL);
}
