/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The statistics GetStatistics() gives next to the translator's own
 * (NAT64_COUNTERS in bpf/nat64_shared.h): the named counters of the daemon's
 * nftables table and the daemon's own. One table for the daemon, which
 * fills them in, and for nat64ctl, which explains them.
 */
#pragma once

#include <stddef.h>

typedef struct GatewayStatistic {
        const char *nft_counter;        /* counter in the nft table, NULL: the daemon's own */
        const char *packets, *bytes;    /* names on D-Bus; bytes NULL if not given */
        const char *explanation;
} GatewayStatistic;

extern const GatewayStatistic gateway_statistics[];
extern const size_t gateway_statistics_count;

#define GATEWAY_STATISTIC_CONNTRACK_FULL "conntrack-full-events"
#define GATEWAY_STATISTIC_HA_FAILOVERS "ha-failovers"       /* = the entry in statistics.c */

/* The explanation of a statistic named name (packets or bytes), NULL if none. */
const char *gateway_statistic_explain(const char *name);
