/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The translator as seen from userspace: load the BPF object through its
 * skeleton, fill its maps, attach it, read its counters.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "nat64_shared.h"

typedef struct Translator Translator;

/* Configuration the maps are filled from (built from Config by the daemon). */
typedef struct TranslatorSettings {
	struct nat64_config cfg;
	const struct nat64_eam *eams;
	size_t n_eams;
	/* With NAT64_F_FASTPATH: who the clients are, as the nft set "clients" */
	const struct nat64_lpm6_key *fastpath_clients;
	size_t n_fastpath_clients;
} TranslatorSettings;

/* Opens and loads the object (no attachment). */
int translator_new(Translator **ret);
Translator *translator_free(Translator *t);	/* detaches what it attached */
void translator_freep(Translator **t);

/* Replaces config and EAM maps. */
int translator_apply(Translator *t, const TranslatorSettings *s);

/*
 * Attaches 6to4 at egress of v6_ifindex (the translator link) and 4to6 at
 * ingress of each of v4_ifindexes (WAN, NAT46 LAN), with clsact + cls_bpf
 * (tcx where libbpf and the kernel have it). Replaces our own earlier
 * filters (same handle/priority), leaves everybody else's alone.
 */
int translator_attach_egress_6to4(Translator *t, int ifindex);
int translator_attach_ingress_4to6(Translator *t, int ifindex);

/*
 * The fast path (bpf/lib/fastpath.h) at ingress of the LAN interface; on
 * an interface that is also 4to6's, it takes 4to6's place and hands IPv4
 * on. Detaching gives the hook back to 4to6 if it had it. -EOPNOTSUPP
 * when the kernel refused the fast path's programs (translator_has_fastpath()).
 */
bool translator_has_fastpath(Translator *t);
int translator_attach_ingress_fastpath(Translator *t, int ifindex);
int translator_detach_fastpath(Translator *t, int ifindex);
bool translator_fastpath_attached(Translator *t, int ifindex);
int translator_detach(Translator *t, int ifindex);	/* both hooks of ifindex */

/* "tcx" or "clsact" once something is attached, "none" before. */
const char *translator_attach_mode(Translator *t);

/* Counters summed over CPUs, indexed by enum nat64_counter. */
int translator_read_counters(Translator *t, uint64_t ret[_NAT64_CNT_MAX]);

/*
 * The last dropped packets per reason (when NAT64_F_DROP_LOG is set), newest
 * first; *ret is allocated, the caller frees it.
 */
int translator_read_drops(Translator *t, struct nat64_drop_record **ret, size_t *ret_n);

/* Program fds (for BPF_PROG_TEST_RUN in tools/ and tests). */
int translator_prog_fd_6to4(Translator *t);
int translator_prog_fd_4to6(Translator *t);
int translator_prog_fd_fastpath(Translator *t);
/* The map IPv4 group -> IPv6 group of multicast the other way (gatewayd/mroute.c). */
int translator_mcast_rx_fd(Translator *t);

/* Counter name/explanation, from NAT64_COUNTERS. */
const char *nat64_counter_to_string(enum nat64_counter c);
const char *nat64_counter_explain(enum nat64_counter c);
