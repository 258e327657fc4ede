/* SPDX-License-Identifier: (LGPL-2.1-or-later OR BSD-2-Clause) */
/*
 * RFC 6052 §2.2 address mapping: the one implementation, used by the
 * translator in BPF and by userspace (nft ruleset, D-Bus, tests).
 *
 * Bits 64..71 of the IPv6 address (the "u" octet, byte 8) are always zero
 * and never carry IPv4 bits; prefixes shorter than 96 bits wrap around it.
 * Written as a switch over the six lengths (the table of §2.2) so that the
 * BPF verifier only ever sees constant offsets.
 */
#pragma once

#include <linux/types.h>

#ifdef __clang__
#define RFC6052_UNROLL _Pragma("unroll")
#else
#define RFC6052_UNROLL
#endif

#ifndef RFC6052_INLINE
#define RFC6052_INLINE static inline __attribute__((always_inline))
#endif

RFC6052_INLINE int rfc6052_prefix_len_valid(__u32 len)
{
	return len == 32 || len == 40 || len == 48 || len == 56 || len == 64 || len == 96;
}

/* Copy v4 into / out of addr for prefix length len (RFC 6052 §2.2 figure). */
#define RFC6052_PLACE(len, addr, v4, TO_V6)					\
	do {									\
		switch (len) {							\
		case 32: TO_V6(addr, v4, 4, 0); TO_V6(addr, v4, 5, 1);		\
			 TO_V6(addr, v4, 6, 2); TO_V6(addr, v4, 7, 3); break;	\
		case 40: TO_V6(addr, v4, 5, 0); TO_V6(addr, v4, 6, 1);		\
			 TO_V6(addr, v4, 7, 2); TO_V6(addr, v4, 9, 3); break;	\
		case 48: TO_V6(addr, v4, 6, 0); TO_V6(addr, v4, 7, 1);		\
			 TO_V6(addr, v4, 9, 2); TO_V6(addr, v4, 10, 3); break;	\
		case 56: TO_V6(addr, v4, 7, 0); TO_V6(addr, v4, 9, 1);		\
			 TO_V6(addr, v4, 10, 2); TO_V6(addr, v4, 11, 3); break;	\
		case 64: TO_V6(addr, v4, 9, 0); TO_V6(addr, v4, 10, 1);		\
			 TO_V6(addr, v4, 11, 2); TO_V6(addr, v4, 12, 3); break;	\
		default: TO_V6(addr, v4, 12, 0); TO_V6(addr, v4, 13, 1);	\
			 TO_V6(addr, v4, 14, 2); TO_V6(addr, v4, 15, 3); break;	\
		}								\
	} while (0)
#define RFC6052_INTO_V6(addr, v4, a, b) ((addr)[a] = (v4)[b])
#define RFC6052_FROM_V6(addr, v4, a, b) ((v4)[b] = (addr)[a])

/* Synthesize prefix + v4 (network order bytes) into out (RFC 6052 §2.3). */
RFC6052_INLINE void rfc6052_embed(const __u8 prefix[16], __u32 prefix_len,
				  const __u8 v4[4], __u8 out[16])
{
	int i;

RFC6052_UNROLL
	for (i = 0; i < 16; i++)
		out[i] = (i < (int)(prefix_len / 8)) ? prefix[i] : 0;
	RFC6052_PLACE(prefix_len, out, v4, RFC6052_INTO_V6);
}

/* Does addr lie in prefix/len? Only whole bytes: every RFC 6052 length is. */
RFC6052_INLINE int rfc6052_match(const __u8 prefix[16], __u32 prefix_len,
				 const __u8 addr[16])
{
	int i;

RFC6052_UNROLL
	for (i = 0; i < 12; i++)
		if (i < (int)(prefix_len / 8) && addr[i] != prefix[i])
			return 0;
	return 1;
}

/* Extract the IPv4 address (RFC 6052 §2.3); the suffix and u octet are ignored. */
RFC6052_INLINE void rfc6052_extract(const __u8 addr[16], __u32 prefix_len, __u8 v4[4])
{
	RFC6052_PLACE(prefix_len, addr, v4, RFC6052_FROM_V6);
}

/* 64:ff9b::/96, the Well-Known Prefix (RFC 6052 §2.1). */
RFC6052_INLINE int rfc6052_is_wkp(const __u8 prefix[16], __u32 prefix_len)
{
	return prefix_len == 96 && prefix[0] == 0x00 && prefix[1] == 0x64 &&
	       prefix[2] == 0xff && prefix[3] == 0x9b &&
	       !(prefix[4] | prefix[5] | prefix[6] | prefix[7] | prefix[8] |
		 prefix[9] | prefix[10] | prefix[11]);
}

/*
 * RFC 6052 §3.1: the Well-Known Prefix must not carry non-global IPv4
 * addresses. The blocks are RFC 6890's (and RFC 5737's) "not global" ones.
 */
RFC6052_INLINE int ipv4_is_global(const __u8 a[4])
{
	if (a[0] == 0 || a[0] == 10 || a[0] == 127 || a[0] >= 224)
		return 0;	/* this network, private, loopback, multicast, reserved */
	if (a[0] == 100 && (a[1] & 0xc0) == 64)
		return 0;	/* 100.64.0.0/10 shared address space */
	if (a[0] == 169 && a[1] == 254)
		return 0;	/* link local */
	if (a[0] == 172 && (a[1] & 0xf0) == 16)
		return 0;	/* 172.16.0.0/12 */
	if (a[0] == 192 && a[1] == 0 && (a[2] == 0 || a[2] == 2))
		return 0;	/* 192.0.0.0/24 IETF, 192.0.2.0/24 documentation */
	if (a[0] == 192 && a[1] == 168)
		return 0;	/* 192.168.0.0/16 */
	if (a[0] == 198 && (a[1] & 0xfe) == 18)
		return 0;	/* 198.18.0.0/15 benchmarking */
	if (a[0] == 198 && a[1] == 51 && a[2] == 100)
		return 0;	/* 198.51.100.0/24 documentation */
	if (a[0] == 203 && a[1] == 0 && a[2] == 113)
		return 0;	/* 203.0.113.0/24 documentation */
	return 1;
}
