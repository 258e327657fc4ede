/* SPDX-License-Identifier: (LGPL-2.1-or-later OR BSD-2-Clause) */
/* One's-complement arithmetic (RFC 1071, RFC 1624) for the translator. */
#pragma once

#include <linux/types.h>

/* Headers are summed as 16-bit words: tell the compiler such reads alias. */
typedef __u16 __attribute__((may_alias)) csum_word_t;

static __always_inline __u16 csum_fold32(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

static __always_inline __u32 csum_add32(__u32 a, __u32 b)
{
	__u32 r = a + b;

	return r + (r < a);
}

/* RFC 791 header checksum over a 20-byte IPv4 header without options. */
static __always_inline __u16 ipv4_hdr_csum(const void *hdr)
{
	const csum_word_t *w = hdr;
	__u32 sum = 0;
	int i;

#pragma unroll
	for (i = 0; i < 10; i++)
		sum += w[i];
	return ~csum_fold32(sum);
}
