/* SPDX-License-Identifier: (LGPL-2.1-or-later OR BSD-2-Clause) */
/*
 * Map and configuration layouts shared by the translator (bpf/nat64.bpf.c)
 * and userspace (gatewayd, tools). One home for the counter names too.
 *
 * Kept free of libc and kernel-only headers so that it compiles both with
 * clang -target bpf (after vmlinux-free linux/types.h) and in userspace.
 */
#pragma once

#include <linux/types.h>

#define NAT64_MAX_PREFIXES	8
#define NAT64_MAX_POOL4		16
#define NAT64_MAX_EAM		65536
#define NAT64_IFNAME_MAX	16

/* Prefix used when userspace configured none (PRODUCT.md, RFC 8215 local-use). */
#define NAT64_DEFAULT_PREFIX	{ 0x00, 0x64, 0xff, 0x9b, 0x00, 0x01, 0xff, 0xfe, 0, 0, 0, 0, 0, 0, 0, 0 }
#define NAT64_DEFAULT_PREFIX_LEN 96

enum nat64_flags {
	/* Act as the router: decrement TTL/hop limit and answer expiry with
	 * Time Exceeded (RFC 7915 §4.1, §5.1). Off when the kernel forwards
	 * the packet before or after the translator, so a hop is counted once. */
	NAT64_F_ROUTER_MODE		= 1U << 0,
	/* UDP with checksum 0 is dropped instead of having its checksum
	 * computed (RFC 7915 §4.5): from IPv4 answered with ICMP 3/13, from
	 * IPv6 silently (RFC 8200 §8.1: receivers discard it). */
	NAT64_F_UDP_ZERO_DROP		= 1U << 1,
	NAT64_F_HAVE_RFC6791_V4		= 1U << 2,
	NAT64_F_HAVE_RFC6791_V6		= 1U << 3,
	/* Gateway datapath: after 6to4, look the IPv4 destination up in the
	 * FIB and bpf_redirect_neigh() to its device; after 4to6 on the WAN,
	 * redirect to the ingress of the translator link (v6_ifindex). */
	NAT64_F_REDIRECT		= 1U << 4,
	/* Translate 4->6 only destination ports/ICMP ids inside
	 * [port_min, port_max] of pool4 addresses; the rest stays with the host. */
	NAT64_F_PORT_RANGE		= 1U << 5,
	/* Prefixes disabled: translate by EAM only (Jool's "pool6 none"). */
	NAT64_F_NO_PREFIX		= 1U << 6,
	/* Keep the headers of the last dropped packets per reason (nat64ctl drops). */
	NAT64_F_DROP_LOG		= 1U << 7,
	/* IPv4 multicast arriving on wan_ifindex to a group in nat64_mcast_rx
	 * is translated to its IPv6 group (bpf/lib/mcast.h). */
	NAT64_F_MCAST_RX		= 1U << 8,
	/* Established NAT66 flows take the fast path (bpf/lib/fastpath.h): the
	 * conntrack entry's NAT applied and the packet sent on in one pass. */
	NAT64_F_FASTPATH		= 1U << 9,
	/* The fast path asks conntrack and the FIB for every packet, keeping
	 * nothing (nat64-xlat-run --fastpath-uncached: the fuzzers' reference
	 * for the cached one pass; the daemon never sets it). */
	NAT64_F_FASTPATH_UNCACHED	= 1U << 10,
};

struct nat64_prefix {
	__u8 addr[16];
	__u8 len;		/* 32, 40, 48, 56, 64 or 96 (RFC 6052 §2.2) */
	__u8 pad[3];
};

struct nat64_config {
	__u32 flags;			/* enum nat64_flags */
	__u32 lowest_ipv6_mtu;		/* 0 = 1280 */
	__u32 mtu_v6;			/* egress MTU toward IPv6, 0 = unlimited (test-run) */
	__u32 mtu_v4;			/* egress MTU toward IPv4, 0 = from the FIB / unlimited */
	__u32 nr_prefixes;		/* 0 = NAT64_DEFAULT_PREFIX */
	struct nat64_prefix prefixes[NAT64_MAX_PREFIXES];	/* [0] is used for 4->6 */
	__u8 self_v6[16];		/* source of ICMPv6 errors we originate */
	__be32 self_v4;			/* source of ICMPv4 errors we originate */
	__be32 rfc6791_v4;		/* RFC 6791 source for untranslatable ICMPv6 error sources */
	__u8 rfc6791_v6[16];		/* and for untranslatable ICMPv4 error sources */
	__u32 nr_pool4;			/* 0 = translate every IPv4 destination (SIIT) */
	__be32 pool4[NAT64_MAX_POOL4];	/* IPv4Address= values */
	__u16 port_min, port_max;	/* host order, with NAT64_F_PORT_RANGE */
	__u32 v6_ifindex;		/* translator link (4to6 redirect target) */
	__u32 wan_ifindex;		/* where IPv4 multicast leaves */
	__u8 wan_mac[6];
	__u8 v6_mac[6];			/* MAC of the translator link, so redirected frames are PACKET_HOST */
	__u32 icmp_errors_per_sec;	/* per CPU rate limit of generated errors, 0 = 100 */
	__u32 nat46_ifindex;		/* ingress device of legacy IPv4 clients, 0 = none */
	__be32 nat46_prefix;		/* their IPv4Prefix= */
	__u32 nat46_prefix_len;
	/* NAT64_F_FASTPATH: the timeouts conntrack itself would set (its sysctls) */
	__u32 fastpath_tcp_timeout_ms;	/* nf_conntrack_tcp_timeout_established */
	__u32 fastpath_udp_timeout_ms;	/* nf_conntrack_udp_timeout_stream */
	__u32 fastpath_udp_young_timeout_ms;	/* nf_conntrack_udp_timeout: replied, not yet a stream */
};

/* LPM keys: prefixlen first, as BPF_MAP_TYPE_LPM_TRIE requires. */
struct nat64_lpm6_key {
	__u32 prefixlen;
	__u8 addr[16];
};

struct nat64_lpm4_key {
	__u32 prefixlen;
	__be32 addr;
};

/* RFC 7757 explicit address mapping: one entry, stored in both tries. */
struct nat64_eam {
	__u8 v6[16];
	__be32 v4;
	__u8 v6_len;
	__u8 v4_len;
	__u8 pad[2];
};

/*
 * Counters, one truth for index, D-Bus name and meaning.
 * X(enum suffix, name on D-Bus and in nat64ctl, explanation)
 */
#define NAT64_COUNTERS(X)							\
	X(PKTS_6TO4,		"packets-6to4",		"IPv6 packets translated to IPv4")		\
	X(BYTES_6TO4,		"bytes-6to4",		"bytes of IPv6 packets translated to IPv4")	\
	X(PKTS_4TO6,		"packets-4to6",		"IPv4 packets translated to IPv6")		\
	X(BYTES_4TO6,		"bytes-4to6",		"bytes of IPv4 packets translated to IPv6")	\
	X(PKTS_PASSED,		"packets-passed",	"packets not for the translator, left to the kernel")	\
	X(ICMP_SENT,		"icmp-errors-sent",	"ICMP errors the translator originated")	\
	X(ROUTE_CACHED,		"route-cached",		"packets toward IPv4 sent on the route the FIB had given their addresses within the last two ticks")	\
	X(FASTPATH_6TO4,	"fastpath-6to4",	"clients' packets of established flows NATed, translated and sent on in one pass (FastPath=yes)")	\
	X(FASTPATH_4TO6,	"fastpath-4to6",	"replies of established flows translated, de-NATed and sent on in one pass (FastPath=yes)")	\
	X(FASTPATH_CACHED,	"fastpath-cached",	"of those (both ways), packets whose flow the fast path had checked with conntrack and the FIB within the last two ticks")	\
	X(FASTPATH_PUNT_HEADER,	"fastpath-punt-header",	"fast path: not TCP or UDP right after the IPv6 header (extension headers, fragments, ICMP), or UDP checksum 0: the slow path")	\
	X(FASTPATH_PUNT_TCP_CONTROL, "fastpath-punt-tcp-control", "fast path: TCP SYN, FIN or RST, left to conntrack's state machine on the slow path")	\
	X(FASTPATH_PUNT_NO_ENTRY, "fastpath-punt-no-entry", "fast path: no conntrack entry (a first packet): the slow path")	\
	X(FASTPATH_PUNT_NOT_ESTABLISHED, "fastpath-punt-not-established", "fast path: the entry is unreplied, not established (TCP), dying or of fixed timeout: the slow path")	\
	X(FASTPATH_PUNT_NOT_NAT66, "fastpath-punt-not-nat66", "fast path: the entry has more than our source NAT (a DNAT, a helper, sequence adjustment), or an EAM hairpin: the slow path")	\
	X(FASTPATH_PUNT_UDP_STREAM, "fastpath-punt-udp-stream", "fast path: a UDP flow 2 s old that conntrack has not yet called a stream: this one packet takes the slow path, which makes it one")	\
	X(FASTPATH_PUNT_ROUTE,	"fastpath-punt-route",	"fast path: hop limit 1, no IPv6 route or neighbour, or larger than the egress MTU: the slow path answers")	\
	X(FASTPATH_PUNT_CSUM_COMPLETE, "fastpath-punt-csum-complete", "fast path: a receive checksum (CHECKSUM_COMPLETE) that only the kernel's forwarding can let go: the slow path")	\
	X(DROP_MALFORMED,	"drop-malformed",	"truncated or inconsistent headers")		\
	X(DROP_NOT_TRANSLATABLE, "drop-not-translatable", "address outside every prefix and EAM, or not global under 64:ff9b::/96")	\
	X(DROP_BAD_CHECKSUM,	"drop-bad-checksum",	"IPv4 header checksum wrong")			\
	X(DROP_TTL_EXPIRED,	"drop-ttl-expired",	"TTL or hop limit reached zero")		\
	X(DROP_TOO_BIG,		"drop-too-big",		"does not fit the egress MTU and may not be fragmented")	\
	X(DROP_FRAGMENT,	"drop-fragment",	"fragment that cannot be translated on its own")	\
	X(DROP_UNSUPPORTED_ICMP, "drop-unsupported-icmp", "ICMP type without an equivalent in the other family")	\
	X(DROP_EXT_HEADER,	"drop-ext-header",	"IPv6 extension header chain refused (RFC 7915 §5.1)")	\
	X(DROP_UDP_ZERO_CHECKSUM, "drop-udp-zero-checksum", "UDP with checksum 0 and UDPZeroChecksum=drop, or a fragment of one")	\
	X(DROP_UNTRANSLATABLE_PROTOCOL, "drop-untranslatable-protocol", "protocol without a counterpart: ICMPv6 or an IPv6 extension header number in IPv4, ICMPv4 in IPv6")	\
	X(DROP_SPOOFED,		"drop-spoofed",		"source inside the translator's own pool")	\
	X(DROP_NO_ROUTE,	"drop-no-route",	"no route or neighbour toward the translated destination")	\
	X(DROP_RATELIMITED,	"drop-icmp-ratelimited", "ICMP error not sent: rate limit")		\
	X(DROP_INTERNAL,	"drop-internal",	"a kernel helper failed while rewriting")	\
	X(MCAST_4TO6_PKTS,	"multicast-4to6-packets", "IPv4 multicast from the WAN translated to its mapped IPv6 group")	\
	X(MCAST_4TO6_BYTES,	"multicast-4to6-bytes",	"bytes of IPv4 multicast translated to a mapped IPv6 group")	\
	X(MCAST_4TO6_UNMAPPED,	"multicast-4to6-unmapped", "IPv4 multicast from the WAN to a group without a map: not translated, left to the host")

enum nat64_counter {
#define NAT64_COUNTER_ENUM(id, name, text) NAT64_CNT_##id,
	NAT64_COUNTERS(NAT64_COUNTER_ENUM)
#undef NAT64_COUNTER_ENUM
	_NAT64_CNT_MAX,
};

/* Slots of the fast path's program array (bpf/lib/fastpath.h), filled by userspace. */
enum nat64_fastpath_prog {
	FASTPATH_PROG_6TO4 = 0,		/* xlat_6to4: after the NAT, toward IPv4 */
	FASTPATH_PROG_AFTER_4TO6 = 1,	/* xlat_fastpath_4to6: from xlat_4to6 */
	FASTPATH_PROG_4TO6 = 2,		/* xlat_4to6: NAT46 clients on the fast path's hook */
	_FASTPATH_PROG_MAX,
};

/* Value of the per-CPU counters map: one lookup per packet. */
struct nat64_counters {
	__u64 c[_NAT64_CNT_MAX];
};

/*
 * Global data of the object (.bss): two configuration slots, userspace
 * writes the inactive one and then flips cfg_active, so a packet always
 * sees one whole configuration (reload is atomic for the datapath).
 * All zero (tc loading the object by hand) = defaults.
 */
struct nat64_globals {
	struct nat64_config cfg[2];
	__u32 cfg_active;		/* slot cfg_active & 1; counts the flips */
	__u32 nr_eam;			/* 0 = skip the EAM tries */
};

/*
 * The drop log: the last NAT64_DROP_LOG_DEPTH dropped packets per drop
 * reason, written only on the drop path and only with NAT64_F_DROP_LOG.
 * Slot (reason * NAT64_DROP_LOG_DEPTH + n); nat64_drop_cursor[reason]
 * counts writes. Addresses of IPv4 packets are in the first 4 bytes.
 */
#define NAT64_DROP_LOG_DEPTH 8

struct nat64_drop_record {
	__u64 ktime_ns;		/* CLOCK_MONOTONIC, 0 = empty slot */
	__u32 reason;		/* enum nat64_counter */
	__u32 ifindex;
	__u32 len;		/* bytes of the frame */
	__u16 ethertype;	/* host order: 0x0800 or 0x86dd */
	__u8 proto;		/* IPPROTO_* of the (first) payload */
	__u8 pad;
	__u16 sport, dport;	/* host order, 0 if unknown */
	__u8 saddr[16];
	__u8 daddr[16];
};

/*
 * Multicast the other way (bpf/lib/mcast.h): key an IPv4 group (network
 * order), value its IPv6 group, one entry per [Multicast] Map=.
 */
#define NAT64_MAX_MCAST_MAPS	4096

struct nat64_mcast_group6 {
	__u8 addr[16];
};

/* skb->mark of the clone that becomes the second fragment (RFC 7915 §4 fragmentation). */
#define NAT64_MARK_TAIL_FRAGMENT 0x64f70001
