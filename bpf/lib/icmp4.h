/* SPDX-License-Identifier: (LGPL-2.1-or-later OR BSD-2-Clause) */
/*
 * The ICMPv4 header and the types and codes the translator uses.
 *
 * Why not <linux/icmp.h>: it includes <linux/if.h>, which includes glibc's
 * <sys/socket.h>; under clang -target bpf glibc takes its 32-bit branch and
 * wants gnu/stubs-32.h (libc6-dev-i386). The BPF objects are built with
 * -nostdinc from kernel UAPI headers only (bpf/meson.build), so the few
 * definitions needed live here, with the RFC that assigns each number.
 */
#pragma once

#include <linux/types.h>

struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	union {
		struct {
			__be16 id;
			__be16 sequence;
		} echo;
		__be32 gateway;
		struct {
			__be16 __unused;
			__be16 mtu;		/* RFC 1191 §4 */
		} frag;
		__u8 reserved[4];
	} un;
};

/* Types: RFC 792. */
#define ICMP_ECHOREPLY		0
#define ICMP_DEST_UNREACH	3
#define ICMP_SOURCE_QUENCH	4
#define ICMP_REDIRECT		5
#define ICMP_ECHO		8
#define ICMP_TIME_EXCEEDED	11
#define ICMP_PARAMETERPROB	12

/* Destination Unreachable codes: RFC 792 (0-5), RFC 1122 §3.2.2.1 (6-12),
 * RFC 1812 §5.2.7.1 (13-15). */
#define ICMP_NET_UNREACH	0
#define ICMP_HOST_UNREACH	1
#define ICMP_PROT_UNREACH	2
#define ICMP_PORT_UNREACH	3
#define ICMP_FRAG_NEEDED	4
#define ICMP_SR_FAILED		5
#define ICMP_NET_UNKNOWN	6
#define ICMP_HOST_UNKNOWN	7
#define ICMP_HOST_ISOLATED	8
#define ICMP_NET_ANO		9
#define ICMP_HOST_ANO		10
#define ICMP_NET_UNR_TOS	11
#define ICMP_HOST_UNR_TOS	12
#define ICMP_PKT_FILTERED	13
#define ICMP_PREC_VIOLATION	14
#define ICMP_PREC_CUTOFF	15

/* Time Exceeded codes: RFC 792. */
#define ICMP_EXC_TTL		0
#define ICMP_EXC_FRAGTIME	1
