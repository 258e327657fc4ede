/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fragments: the Fragment header's fields, and their IPv4 form
 * (RFC 7915 §4.1, §5.1.1).
 */
#pragma once

#include "parse.h"

static __always_inline __u16 frag6_offset(const struct ipv6_info *info)
{
	return info->frag_field >> 3;
}

static __always_inline int frag6_more(const struct ipv6_info *info)
{
	return info->frag_field & 1;
}

static __always_inline __u16 ipv4_frag_field_of(const struct ipv6_info *info)
{
	return (frag6_offset(info) & IP_OFFMASK) | (frag6_more(info) ? IP_MF : 0);
}
