/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The daemon's nftables tables, rendered from the template in nft/ and
 * applied through libnftables: "ip6 nat64_gateway" (NAT66) and, with
 * PortRange=, "ip nat64_gateway" (the guard of the port range). Both are
 * created, replaced and deleted together; nothing else is touched.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

#define NFT_TABLE_FAMILY "ip6"
/* The PortRange= guard (IPv4); see the template. */
#define NFT_GUARD_TABLE_FAMILY "ip"
#define NFT_TABLE_NAME "nat64_gateway"

/* Renders the ruleset text for c (caller frees *ret). Pure, no side effects. */
int nft_render(const Config *c, const char *template_path, char **ret);

/*
 * What an HA node ([HA] in gateway.conf, docs/HA.md) changes in the table:
 * new flows are mapped only onto the IPv4Address= values the node holds
 * right now (none held: onto all, which does not matter as standby then
 * drops new flows), and while standby (not VRRP master, or no address held)
 * new client flows are dropped, so nothing is mapped before conntrackd has
 * committed the flows of the old master.
 */
typedef struct NftHA {
        bool standby;
        const struct in_addr *snat_addresses;
        size_t n_snat_addresses;
} NftHA;
int nft_render_ha(const Config *c, const NftHA *ha, const char *template_path, char **ret);

/*
 * Replaces the tables atomically with the rendered text: one libnftables
 * transaction that creates, deletes and re-creates them, so either the old
 * or the new tables are in place, never none or half.
 */
int nft_apply(const char *ruleset_text);
/* The same; on failure *ret_error (if not NULL) gets nft's error text, for the caller to log. */
int nft_apply_full(const char *ruleset_text, char **ret_error);

/* Deletes the tables that exist (0 also when none did). */
int nft_remove(void);

/* The named counters of our tables (at most max); -ENOENT without the NAT66 table. */
typedef struct NftCounter {
        char name[32];
        uint64_t packets, bytes;
} NftCounter;
int nft_read_counters(NftCounter *ret, size_t max, size_t *ret_n);

/* 1 if our table of family (NFPROTO_IPV6, NFPROTO_IPV4) exists, 0 if not, negative errno on failure. */
int nft_table_exists(uint8_t family);

/*
 * Netlink socket subscribed to NFNLGRP_NFTABLES. nft_monitor_process() reads
 * what is pending and returns 1 if one of our tables was deleted (or the
 * ruleset flushed), 0 otherwise.
 */
typedef struct NftMonitor NftMonitor;
int nft_monitor_new(NftMonitor **ret);
int nft_monitor_fd(NftMonitor *m);
int nft_monitor_process(NftMonitor *m);
NftMonitor *nft_monitor_free(NftMonitor *m);
