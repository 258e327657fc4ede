/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * High availability with keepalived (VRRP) and conntrackd (state sync),
 * docs/HA.md. The daemon runs no protocol of its own: keepalived's notify
 * script (ha-notify) tells it the VRRP state of each instance over D-Bus,
 * and conntrackd's own UNIX socket gives the sync statistics.
 */
#pragma once

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "conf.h"

typedef enum HARole {
        HA_ROLE_MASTER,
        HA_ROLE_BACKUP,
        HA_ROLE_FAULT,
        _HA_ROLE_MAX,
        _HA_ROLE_INVALID = -22,
} HARole;

const char *ha_role_to_string(HARole r);
/* keepalived's spelling too ("MASTER"); "stop" is no role: _HA_ROLE_INVALID. */
HARole ha_role_from_string(const char *s);

/* VRRP instances one node may report (STYLE.md 7: capped). */
#define HA_MAX_INSTANCES 16
#define HA_INSTANCE_NAME_MAX 64

/* A keepalived instance name: 1..64 of [A-Za-z0-9_.-]. */
bool ha_instance_name_valid(const char *s);

/*
 * The IPv4Address= values of c the WAN interface holds now (keepalived adds
 * and removes them). *ret is allocated (NULL if none), *ret_n the count.
 */
int ha_held_addresses(const Config *c, struct in_addr **ret, size_t *ret_n);

/*
 * Asks conntrackd for its statistics ("conntrackd -s") over its UNIX socket,
 * without blocking: done(userdata, error, text) runs once, from the event
 * loop, with the text conntrackd wrote (error 0) or a negative errno.
 */
typedef void (*ha_stats_done_t)(void *userdata, int error, const char *text);
int ha_conntrackd_stats_query(sd_event *event, const char *socket_path, ha_stats_done_t done, void *userdata);

/*
 * The same for any request of conntrackd's control protocol (the numbers of
 * conntrack-tools' include/conntrackd.h that "conntrackd -s", "-B" send).
 */
#define HA_CONNTRACKD_STATS     21
#define HA_CONNTRACKD_SEND_BULK 22
int ha_conntrackd_request(sd_event *event, const char *socket_path, int request, ha_stats_done_t done,
                          void *userdata);

/*
 * conntrackd's statistics text as (name, value) pairs: "internal-active",
 * "external-created-failed", "sync-bytes-sent", "sync-lost-msgs", ...
 * Calls add() per pair; stops at its first negative return.
 */
int ha_conntrackd_stats_parse(const char *text, int (*add)(void *userdata, const char *name, uint64_t value),
                              void *userdata);
