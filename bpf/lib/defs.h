/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The headers and numbers every part of the translator uses.
 *
 * Kernel UAPI and libbpf headers only, never libc (bpf/meson.build builds
 * with -nostdinc); ICMPv4's numbers come from icmp4.h for that reason.
 */
#pragma once

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
