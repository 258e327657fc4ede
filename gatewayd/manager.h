/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The running gateway: the configuration in force and everything the daemon
 * put into the kernel for it (translator link, tc filters, routes, nftables
 * table). The manager is the only place that changes that state; bus.c and
 * main.c call into it.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "conf.h"
#include "ha.h"
#include "mroute.h"
#include "netlink.h"
#include "nft.h"
#include "translator.h"

typedef enum ManagerState {
        MANAGER_STARTING,
        MANAGER_RUNNING,
        MANAGER_DEGRADED,       /* running, but an interface we need is missing (or the conntrack table is nearly full) */
        MANAGER_STOPPING,
        _MANAGER_STATE_MAX,
        _MANAGER_STATE_INVALID = -22,
} ManagerState;

const char *manager_state_to_string(ManagerState s);

/* An interface the translator hooks (WAN, NAT46 LAN): it may come and go. */
typedef struct ManagedLink {
        const char *role;               /* "WAN", "NAT46": for log lines */
        int ifindex;                    /* 0 while absent */
        int attached_ifindex;           /* where our 4to6 filter sits, 0 = nowhere */
        uint32_t mtu;
        uint8_t mac[6];
        bool reported_missing;          /* "does not exist" logged once, not per event */
        bool ipv4_forwarding;           /* needs net.ipv4.conf.<link>.forwarding=1 */
} ManagedLink;

typedef struct Manager {
        sd_event *event;
        sd_bus *bus;                    /* set by bus_setup() */

        char *config_path;
        char *nft_template_path;
        char tcp_liberal_was[8];        /* nf_conntrack_tcp_be_liberal before we set it; "" = untouched */
        Config *config;

        ManagerState state;

        Netlink *netlink;
        Translator *translator;
        Mroute *mroute;                 /* [Multicast] the other way: routing table 64, IGMP */
        int translator_ifindex;         /* nat64tr0, 0 while absent */
        int translator_attached_ifindex;
        uint32_t translator_mtu;
        uint8_t translator_mac[6];

        ManagedLink wan;
        ManagedLink nat46;
        ManagedLink lan;                /* [NAT66] Interface=: where the fast path sits */

        /* Prefixes we routed into the translator link (for removing stale ones). */
        Prefix6 *routes;
        size_t n_routes;

        NetlinkMonitor *link_monitor;
        sd_event_source *link_monitor_source;
        sd_event_source *link_sync_source;      /* deferred resync after link events */

        NftMonitor *nft_monitor;
        sd_event_source *nft_monitor_source;
        sd_event_source *nft_check_source;      /* timer: is our table still there? */

        sd_event_source *conntrack_check_source; /* periodic: nf_conntrack_count vs nf_conntrack_max */
        bool conntrack_full;                    /* above the threshold at the last check */
        uint64_t conntrack_full_events;         /* times it went above ("conntrack-full-events") */
        bool sync_failed;                       /* the last manager_sync() failed */

        /* [HA] (docs/HA.md): what keepalived's notify script reported, per VRRP instance */
        struct {
                char name[HA_INSTANCE_NAME_MAX + 1];
                HARole role;
        } ha_instances[HA_MAX_INSTANCES];
        size_t n_ha_instances;
        HARole ha_role;                         /* the node's: master of any instance, else fault, else backup */
        uint64_t ha_failovers;                  /* instances that became master here ("ha-failovers") */
        struct in_addr *ha_held;                /* IPv4Address= on the WAN now, as last rendered */
        size_t n_ha_held;
        bool ha_standby;                        /* the table in force drops new flows */
        sd_event_source *ha_check_source;       /* deferred look at the addresses after events */
        sd_event_source *ha_bulk_source;        /* timer: conntrackd sends its whole cache */
} Manager;

int manager_new(sd_event *event, const char *config_path, const char *nft_template_path, Manager **ret);
Manager *manager_free(Manager *m);
void manager_freep(Manager **m);

/* Reads the configuration (logs the errors). */
int manager_load_config(Manager *m);

/*
 * Puts everything in place (adopting what a killed instance left behind) and
 * starts the link and nftables monitors. A missing WAN/NAT46 interface is
 * not an error: the state is then "degraded" until it appears.
 */
int manager_start(Manager *m);

/* Removes everything the daemon added. Safe to call more than once. */
void manager_stop(Manager *m);

/*
 * Re-reads the configuration files and applies them. On failure the old
 * configuration stays in force and a negative errno is returned;
 * *ret_error (if non-NULL) then points at a static explanation.
 */
int manager_reload(Manager *m, const char **ret_error);

/* Runtime-only static multicast maps (not written to disk). */
int manager_add_static_map(Manager *m, const MulticastMap *map, const char **ret_error);
int manager_remove_static_map(Manager *m, const struct in6_addr *group6);

int manager_read_counters(Manager *m, uint64_t ret[_NAT64_CNT_MAX]);

/* keepalived's notify: instance is now role (_HA_ROLE_INVALID: stopped, forget it). -EOPNOTSUPP without [HA]. */
int manager_set_ha_state(Manager *m, const char *instance, HARole role);
