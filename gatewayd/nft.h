/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The daemon's one nftables table ("inet nat64_gateway"), rendered from the
 * template in nft/ and applied through libnftables. Nothing else is touched.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

#define NFT_TABLE_FAMILY "inet"
#define NFT_TABLE_NFPROTO NFPROTO_INET
#define NFT_TABLE_NAME "nat64_gateway"

/* Renders the ruleset text for c (caller frees *ret). Pure, no side effects. */
int nft_render(const Config *c, const char *template_path, char **ret);

/*
 * Replaces the table atomically with the rendered text: one libnftables
 * transaction that creates, deletes and re-creates the table, so either the
 * old or the new table is in place, never none or half.
 */
int nft_apply(const char *ruleset_text);
/* The same; on failure *ret_error (if not NULL) gets nft's error text, for the caller to log. */
int nft_apply_full(const char *ruleset_text, char **ret_error);

/* Deletes the table if it exists (0 also when it did not exist). */
int nft_remove(void);

/* The named counters of our table (at most max); -ENOENT without the table. */
typedef struct NftCounter {
        char name[32];
        uint64_t packets, bytes;
} NftCounter;
int nft_read_counters(NftCounter *ret, size_t max, size_t *ret_n);

/* 1 if the table exists, 0 if not, negative errno on failure. */
int nft_table_exists(void);

/*
 * Netlink socket subscribed to NFNLGRP_NFTABLES. nft_monitor_process() reads
 * what is pending and returns 1 if our table was deleted (or the ruleset
 * flushed), 0 otherwise.
 */
typedef struct NftMonitor NftMonitor;
int nft_monitor_new(NftMonitor **ret);
int nft_monitor_fd(NftMonitor *m);
int nft_monitor_process(NftMonitor *m);
NftMonitor *nft_monitor_free(NftMonitor *m);
