/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Multicast the other way (docs/DESIGN.md "Reverse multicast"): IPv4
 * groups of [Multicast] Map= received on the WAN, translated by the BPF
 * 4to6 program (bpf/lib/mcast.h) and forwarded to the LAN by the kernel's
 * IPv6 multicast routing. This module holds all the state that takes:
 *
 *   - an MRT6_INIT socket on a multicast routing table of our own
 *     (MROUTE_TABLE), so it never meets pimd or smcroute on the default
 *     one, and the IPv6 multicast rule "iif nat64tr0 lookup MROUTE_TABLE";
 *   - two MIFs (the translator link, [Multicast] LANInterface=) and one
 *     (*,G) MFC6 per map, parent the translator link, output the LAN;
 *   - the entries of the BPF map IPv4 group -> IPv6 group;
 *   - IGMP membership of every IPv4 group on the WAN, so upstream sends it.
 *
 * The kernel drops MIFs and MFC6 entries with the socket that made them,
 * and memberships with theirs: mroute_stop() removes them in order and
 * closes the routing socket last.
 */
#pragma once

#include <stddef.h>

#include <systemd/sd-event.h>

#include "conf.h"

/* Our IPv6 multicast routing table ("ip -6 mroute show table 64") and rule. */
#define MROUTE_TABLE            64
#define MROUTE_RULE_PRIORITY    1064

typedef struct Mroute Mroute;

/* What the kernel should have; ifindexes 0 while the link is absent. */
typedef struct MrouteSettings {
        const char *lan_interface;      /* NULL: multicast the other way is off */
        int translator_ifindex;
        int wan_ifindex;
        const MulticastMap *maps;
        size_t n_maps;
} MrouteSettings;

/* map_fd: the translator's nat64_mcast_rx (not closed by us). Opens nothing yet. */
int mroute_new(sd_event *event, int map_fd, Mroute **ret);
Mroute *mroute_free(Mroute *m);         /* mroute_stop() first */
void mroute_freep(Mroute **m);

/* Brings the kernel in line with s (idempotent; a failure is reconciled by the next call). */
int mroute_sync(Mroute *m, const MrouteSettings *s);

/* Removes every membership, BPF entry, MFC6, MIF and our rule; closes the routing socket last. */
void mroute_stop(Mroute *m);
