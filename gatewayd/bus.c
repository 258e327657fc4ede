/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <systemd/sd-bus.h>

#include "bus.h"
#include "json.h"
#include "log.h"
#include "nft.h"
#include "statistics.h"

#define BUS_ERROR_NO_SUCH_STATIC_MAP "org.nat64.Gateway1.Error.NoSuchStaticMap"
#define BUS_ERROR_HA_NOT_CONFIGURED "org.nat64.Gateway1.Error.HANotConfigured"
#define BUS_ERROR_SYNC_UNAVAILABLE "org.nat64.Gateway1.Error.SyncUnavailable"

#define PREFIX6_STRLEN (INET6_ADDRSTRLEN + 4)
#define PREFIX4_STRLEN (INET_ADDRSTRLEN + 3)

static const char *format_in6(const struct in6_addr *a, char buf[static INET6_ADDRSTRLEN]) {
        return inet_ntop(AF_INET6, a, buf, INET6_ADDRSTRLEN);
}

static const char *format_in4(const struct in_addr *a, char buf[static INET_ADDRSTRLEN]) {
        return inet_ntop(AF_INET, a, buf, INET_ADDRSTRLEN);
}

static const char *format_prefix6(const Prefix6 *p, char buf[static PREFIX6_STRLEN]) {
        char a[INET6_ADDRSTRLEN];

        snprintf(buf, PREFIX6_STRLEN, "%s/%u", format_in6(&p->addr, a), p->len);
        return buf;
}

static const char *format_prefix4(const Prefix4 *p, char buf[static PREFIX4_STRLEN]) {
        char a[INET_ADDRSTRLEN];

        snprintf(buf, PREFIX4_STRLEN, "%s/%u", format_in4(&p->addr, a), p->len);
        return buf;
}

static int append_prefix6_array(sd_bus_message *reply, const Prefix6 *p, size_t n) {
        char buf[PREFIX6_STRLEN];
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = sd_bus_message_append(reply, "s", format_prefix6(&p[i], buf));
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

/* ---- properties ---- */

#define PROPERTY_ARGS                                                           \
        sd_bus *bus, const char *path, const char *interface, const char *property, \
        sd_bus_message *reply, void *userdata, sd_bus_error *error

static int property_get_state(PROPERTY_ARGS) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "s", manager_state_to_string(m->state));
}

static int property_get_prefixes(PROPERTY_ARGS) {
        Manager *m = userdata;

        return append_prefix6_array(reply, m->config->prefixes, m->config->n_prefixes);
}

static int property_get_client_prefixes(PROPERTY_ARGS) {
        Manager *m = userdata;

        return append_prefix6_array(reply, m->config->client_prefixes, m->config->n_client_prefixes);
}

static int property_get_wan_interface(PROPERTY_ARGS) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "s", m->config->wan_interface);
}

static int property_get_ipv4_addresses(PROPERTY_ARGS) {
        Manager *m = userdata;
        char buf[INET_ADDRSTRLEN];
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        if (r < 0)
                return r;
        for (size_t i = 0; i < m->config->n_ipv4_addresses; i++) {
                r = sd_bus_message_append(reply, "s", format_in4(&m->config->ipv4_addresses[i], buf));
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int property_get_port_range(PROPERTY_ARGS) {
        Manager *m = userdata;

        /* (0, 0): no PortRange=, every port of IPv4Address= is translated. */
        if (!m->config->has_port_range)
                return sd_bus_message_append(reply, "(qq)", 0, 0);
        return sd_bus_message_append(reply, "(qq)", m->config->port_min, m->config->port_max);
}

static int property_get_eam(PROPERTY_ARGS) {
        Manager *m = userdata;
        char b6[PREFIX6_STRLEN], b4[PREFIX4_STRLEN];
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(ss)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < m->config->n_eams; i++) {
                r = sd_bus_message_append(reply, "(ss)",
                                          format_prefix6(&m->config->eams[i].v6, b6),
                                          format_prefix4(&m->config->eams[i].v4, b4));
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int property_get_rfc6791_address(PROPERTY_ARGS) {
        Manager *m = userdata;
        char buf[INET_ADDRSTRLEN];

        if (!m->config->has_rfc6791_address)
                return sd_bus_message_append(reply, "s", "");
        return sd_bus_message_append(reply, "s", format_in4(&m->config->rfc6791_address, buf));
}

static int property_get_lowest_ipv6_mtu(PROPERTY_ARGS) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "u", m->config->lowest_ipv6_mtu);
}

static int property_get_udp_zero_checksum(PROPERTY_ARGS) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "s", udp_zero_checksum_to_string(m->config->udp_zero_checksum));
}

static int property_get_nat46_interface(PROPERTY_ARGS) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "s", m->config->nat46_interface ?: "");
}

static int property_get_nat66_interface(PROPERTY_ARGS) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "s", m->config->nat66_interface ?: "");
}

static int property_get_fast_path(PROPERTY_ARGS) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "b", m->config->fast_path);
}

/* FastPath=yes and the kernel took the fast path's programs (the hook on NAT66Interface aside). */
static int property_get_fast_path_active(PROPERTY_ARGS) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "b", m->config->fast_path && m->translator &&
                                     translator_has_fastpath(m->translator));
}

static int property_get_multicast_lan_interface(PROPERTY_ARGS) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "s", m->config->multicast_lan_interface ?: "");
}

static int property_get_nat46_prefix(PROPERTY_ARGS) {
        Manager *m = userdata;
        char buf[PREFIX4_STRLEN];

        if (!m->config->has_nat46_prefix)
                return sd_bus_message_append(reply, "s", "");
        return sd_bus_message_append(reply, "s", format_prefix4(&m->config->nat46_prefix, buf));
}

/* The translator's 4to6 sits on the [NAT46] interface. */
static int property_get_nat46_active(PROPERTY_ARGS) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "b", m->config->nat46_interface && m->nat46.attached_ifindex > 0);
}

static int property_get_multicast_map_count(PROPERTY_ARGS) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "u", (uint32_t) m->config->n_multicast_maps);
}

static int property_get_static_maps(PROPERTY_ARGS) {
        Manager *m = userdata;
        char b6[INET6_ADDRSTRLEN], b4[INET_ADDRSTRLEN];
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(ss)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < m->config->n_multicast_maps; i++) {
                r = sd_bus_message_append(reply, "(ss)",
                                          format_in6(&m->config->multicast_maps[i].group6, b6),
                                          format_in4(&m->config->multicast_maps[i].group4, b4));
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int property_get_ha_conntrackd_socket(PROPERTY_ARGS) {
        Manager *m = userdata;

        return sd_bus_message_append(reply, "s", m->config->ha_conntrackd_socket ?: "");
}

static int property_get_ha_role(PROPERTY_ARGS) {
        Manager *m = userdata;

        /* "": no [HA], the gateway stands alone. */
        if (!m->config->ha_conntrackd_socket)
                return sd_bus_message_append(reply, "s", "");
        return sd_bus_message_append(reply, "s", ha_role_to_string(m->ha_role) ?: "");
}

static int property_get_ha_instances(PROPERTY_ARGS) {
        Manager *m = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(ss)");
        if (r < 0)
                return r;
        for (size_t i = 0; m->config->ha_conntrackd_socket && i < m->n_ha_instances; i++) {
                r = sd_bus_message_append(reply, "(ss)", m->ha_instances[i].name,
                                          ha_role_to_string(m->ha_instances[i].role));
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int property_get_ha_held_addresses(PROPERTY_ARGS) {
        Manager *m = userdata;
        char buf[INET_ADDRSTRLEN];
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        if (r < 0)
                return r;
        for (size_t i = 0; m->config->ha_conntrackd_socket && i < m->n_ha_held; i++) {
                r = sd_bus_message_append(reply, "s", format_in4(&m->ha_held[i], buf));
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

/* ---- methods ---- */

/* Writes are root's (the D-Bus policy says so too; this holds on any bus). */
static int check_root(sd_bus_message *msg, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t euid;
        int r;

        r = sd_bus_query_sender_creds(msg, SD_BUS_CREDS_EUID, &creds);
        if (r < 0)
                return r;
        r = sd_bus_creds_get_euid(creds, &euid);
        if (r < 0)
                return r;
        if (euid != 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Only root may call %s().", sd_bus_message_get_member(msg));
        return 0;
}

static int append_nft_statistics(sd_bus_message *reply) {
        NftCounter counters[16];
        size_t n = 0;
        int r;

        /* Without the table (being restored) there is nothing to add, which is no error. */
        if (nft_read_counters(counters, ELEMENTSOF(counters), &n) < 0)
                n = 0;

        for (size_t i = 0; i < gateway_statistics_count; i++) {
                const GatewayStatistic *s = &gateway_statistics[i];
                uint64_t packets = 0, bytes = 0;

                if (!s->nft_counter)
                        continue;
                for (size_t j = 0; j < n; j++)
                        if (streq(counters[j].name, s->nft_counter)) {
                                packets = counters[j].packets;
                                bytes = counters[j].bytes;
                        }
                r = sd_bus_message_append(reply, "{st}", s->packets, packets);
                if (r < 0)
                        return r;
                if (s->bytes) {
                        r = sd_bus_message_append(reply, "{st}", s->bytes, bytes);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int append_statistics(Manager *m, sd_bus_message *reply) {
        uint64_t counters[_NAT64_CNT_MAX] = {};
        int r;

        r = manager_read_counters(m, counters);
        if (r < 0)
                return r;

        r = sd_bus_message_open_container(reply, 'a', "{st}");
        if (r < 0)
                return r;
        for (int i = 0; i < _NAT64_CNT_MAX; i++) {
                r = sd_bus_message_append(reply, "{st}", nat64_counter_to_string(i), counters[i]);
                if (r < 0)
                        return r;
        }
        r = append_nft_statistics(reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "{st}", GATEWAY_STATISTIC_CONNTRACK_FULL, m->conntrack_full_events);
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "{st}", GATEWAY_STATISTIC_HA_FAILOVERS, m->ha_failovers);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

static int method_get_statistics(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = append_statistics(m, reply);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to read the translator's counters: %m");
        return sd_bus_send(NULL, reply, NULL);
}

static int append_drop_record(sd_bus_message *reply, const struct nat64_drop_record *d) {
        char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], ifname[IF_NAMESIZE] = "";
        int family = d->ethertype == ETH_P_IPV6 ? AF_INET6 : AF_INET;

        if (!inet_ntop(family, d->saddr, src, sizeof(src)) || !inet_ntop(family, d->daddr, dst, sizeof(dst)))
                return -EINVAL;
        (void) if_indextoname(d->ifindex, ifname);

        return sd_bus_message_append(reply, "(tssssyqqu)",
                                     (uint64_t) (d->ktime_ns / 1000),
                                     nat64_counter_to_string(d->reason) ?: "unknown",
                                     ifname, src, dst, d->proto, d->sport, d->dport, d->len);
}

static int method_get_recent_drops(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ struct nat64_drop_record *drops = NULL;
        Manager *m = userdata;
        size_t n = 0;
        int r;

        if (m->translator) {
                r = translator_read_drops(m->translator, &drops, &n);
                if (r < 0)
                        return sd_bus_error_set_errnof(error, r, "Failed to read the drop log: %m");
        }

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(tssssyqqu)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = append_drop_record(reply, &drops[i]);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* The bus passes any valid UTF-8, but sd-bus will not read a string with a Unicode
 * noncharacter (U+FFFE, U+FDD0, ...) and fails with -EBADMSG, which would reach the
 * caller as InconsistentMessage "Bad message". It is a malformed argument like any other. */
static int bus_error_set_unreadable_args(sd_bus_message *msg, sd_bus_error *error, int r) {
        if (r != -EBADMSG)
                return r;
        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                 "Malformed arguments to %s(): not UTF-8 text without Unicode noncharacters.",
                                 sd_bus_message_get_member(msg));
}

static int method_add_static_map(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *s6, *s4, *reason = NULL;
        MulticastMap map = {};
        int r;

        r = check_root(msg, error);
        if (r < 0)
                return r;

        r = sd_bus_message_read(msg, "ss", &s6, &s4);
        if (r < 0)
                return bus_error_set_unreadable_args(msg, error, r);
        if (parse_in6(s6, &map.group6) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Not an IPv6 address: \"%s\".", s6);
        if (parse_in4(s4, &map.group4) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Not an IPv4 address: \"%s\".", s4);

        r = manager_add_static_map(m, &map, &reason);
        if (r == -EINVAL)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Static map %s %s refused: %s",
                                         s6, s4, reason ?: "invalid");
        if (r == -E2BIG)
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "At most %d static maps.", CONFIG_MAX_MULTICAST_MAPS);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to add static map: %m");

        return sd_bus_reply_method_return(msg, NULL);
}

static int method_remove_static_map(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        struct in6_addr group6;
        const char *s6;
        int r;

        r = check_root(msg, error);
        if (r < 0)
                return r;

        r = sd_bus_message_read(msg, "s", &s6);
        if (r < 0)
                return bus_error_set_unreadable_args(msg, error, r);
        if (parse_in6(s6, &group6) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Not an IPv6 address: \"%s\".", s6);

        r = manager_remove_static_map(m, &group6);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_STATIC_MAP, "No static map for %s.", s6);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to remove static map: %m");

        return sd_bus_reply_method_return(msg, NULL);
}

static int method_reload(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *reason = NULL;
        int r;

        r = check_root(msg, error);
        if (r < 0)
                return r;

        r = manager_reload(m, &reason);
        if (r < 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_FAILED, reason ?: "Reload failed.");

        return sd_bus_reply_method_return(msg, NULL);
}

static int method_set_ha_state(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *instance, *state;
        HARole role;
        int r;

        r = check_root(msg, error);
        if (r < 0)
                return r;

        r = sd_bus_message_read(msg, "ss", &instance, &state);
        if (r < 0)
                return bus_error_set_unreadable_args(msg, error, r);
        if (!ha_instance_name_valid(instance))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Not a VRRP instance name (1-%d of A-Z a-z 0-9 _ . -): \"%s\".",
                                         HA_INSTANCE_NAME_MAX, instance);
        role = ha_role_from_string(state);
        if (role < 0 && strcasecmp(state, "stop") != 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Not a VRRP state (master, backup, fault, stop): \"%s\".", state);

        r = manager_set_ha_state(m, instance, role);
        if (r == -EOPNOTSUPP)
                return sd_bus_error_set(error, BUS_ERROR_HA_NOT_CONFIGURED,
                                        "The gateway is not part of an HA group (no [HA] in gateway.conf).");
        if (r == -E2BIG)
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED, "At most %d VRRP instances.",
                                         HA_MAX_INSTANCES);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to apply the HA state: %m");

        return sd_bus_reply_method_return(msg, NULL);
}

/* The call waits for conntrackd; its answer completes it from the event loop. */
static int sync_statistics_add(void *userdata, const char *name, uint64_t value) {
        return sd_bus_message_append(userdata, "{st}", name, value);
}

static void on_sync_statistics(void *userdata, int error, const char *text) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = userdata, *reply = NULL;
        int r;

        if (error < 0) {
                r = sd_bus_reply_method_errorf(call, BUS_ERROR_SYNC_UNAVAILABLE,
                                               "conntrackd did not answer: %s.", strerror(-error));
                goto finish;
        }

        r = sd_bus_message_new_method_return(call, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "{st}");
        if (r >= 0)
                r = ha_conntrackd_stats_parse(text, sync_statistics_add, reply);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        else
                r = sd_bus_reply_method_errorf(call, BUS_ERROR_SYNC_UNAVAILABLE,
                                               "conntrackd's statistics could not be read: %s.", strerror(-r));
finish:
        if (r < 0)
                log_debug_errno(r, "Failed to answer GetSyncStatistics(), ignoring: %m");
}

static int method_get_sync_statistics(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int r;

        if (!m->config->ha_conntrackd_socket)
                return sd_bus_error_set(error, BUS_ERROR_HA_NOT_CONFIGURED,
                                        "The gateway is not part of an HA group (no [HA] in gateway.conf).");

        r = ha_conntrackd_stats_query(m->event, m->config->ha_conntrackd_socket, on_sync_statistics,
                                      sd_bus_message_ref(msg));
        if (r < 0) {
                sd_bus_message_unref(msg);
                return sd_bus_error_setf(error, BUS_ERROR_SYNC_UNAVAILABLE,
                                         "conntrackd is not reachable at \"%s\": %s.",
                                         m->config->ha_conntrackd_socket, strerror(-r));
        }
        return 1;
}

static int method_describe(sd_bus_message *msg, void *userdata, sd_bus_error *error);

static const sd_bus_vtable gateway_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Prefixes", "as", property_get_prefixes, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("WANInterface", "s", property_get_wan_interface, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("IPv4Addresses", "as", property_get_ipv4_addresses, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PortRange", "(qq)", property_get_port_range, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("EAM", "a(ss)", property_get_eam, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RFC6791Address", "s", property_get_rfc6791_address, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LowestIPv6MTU", "u", property_get_lowest_ipv6_mtu, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("UDPZeroChecksum", "s", property_get_udp_zero_checksum, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ClientPrefixes", "as", property_get_client_prefixes, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("NAT66Interface", "s", property_get_nat66_interface, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("FastPath", "b", property_get_fast_path, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("FastPathActive", "b", property_get_fast_path_active, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("NAT46Interface", "s", property_get_nat46_interface, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("NAT46IPv4Prefix", "s", property_get_nat46_prefix, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("StaticMaps", "a(ss)", property_get_static_maps, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("NAT46Active", "b", property_get_nat46_active, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("MulticastMapCount", "u", property_get_multicast_map_count, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("MulticastLANInterface", "s", property_get_multicast_lan_interface, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("HAConntrackdSocket", "s", property_get_ha_conntrackd_socket, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("HARole", "s", property_get_ha_role, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("HAInstances", "a(ss)", property_get_ha_instances, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("HAHeldAddresses", "as", property_get_ha_held_addresses, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),

        /* UNPRIVILEGED: sd-bus would otherwise demand CAP_SYS_ADMIN of every
         * caller; reads are for everyone, writes check for root themselves. */
        SD_BUS_METHOD_WITH_ARGS("GetStatistics",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a{st}", counters),
                                method_get_statistics,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetRecentDrops",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a(tssssyqqu)", drops),
                                method_get_recent_drops,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AddStaticMap",
                                SD_BUS_ARGS("s", ipv6, "s", ipv4),
                                SD_BUS_NO_RESULT,
                                method_add_static_map,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RemoveStaticMap",
                                SD_BUS_ARGS("s", ipv6),
                                SD_BUS_NO_RESULT,
                                method_remove_static_map,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reload",
                                SD_BUS_NO_ARGS,
                                SD_BUS_NO_RESULT,
                                method_reload,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetHAState",
                                SD_BUS_ARGS("s", instance, "s", state),
                                SD_BUS_NO_RESULT,
                                method_set_ha_state,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetSyncStatistics",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("a{st}", counters),
                                method_get_sync_statistics,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Describe",
                                SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("s", json),
                                method_describe,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

/* ---- Describe(): the properties and statistics as JSON ---- */

/*
 * Converts the next complete value of a sealed message to JSON, generically,
 * so Describe() cannot drift from what the properties say:
 * a{sX} -> object, other arrays and structs -> arrays.
 */
static int json_write_value(FILE *f, sd_bus_message *msg) {
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(msg, &type, &contents);
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;

        switch (type) {
        case SD_BUS_TYPE_STRING: {
                const char *s;

                r = sd_bus_message_read_basic(msg, type, &s);
                if (r < 0)
                        return r;
                json_write_string(f, s);
                return 0;
        }
        case SD_BUS_TYPE_BOOLEAN: {
                int b;

                r = sd_bus_message_read_basic(msg, type, &b);
                if (r < 0)
                        return r;
                fputs(b ? "true" : "false", f);
                return 0;
        }
        case SD_BUS_TYPE_UINT16: {
                uint16_t v;

                r = sd_bus_message_read_basic(msg, type, &v);
                if (r < 0)
                        return r;
                fprintf(f, "%u", v);
                return 0;
        }
        case SD_BUS_TYPE_UINT32: {
                uint32_t v;

                r = sd_bus_message_read_basic(msg, type, &v);
                if (r < 0)
                        return r;
                fprintf(f, "%u", v);
                return 0;
        }
        case SD_BUS_TYPE_UINT64: {
                uint64_t v;

                r = sd_bus_message_read_basic(msg, type, &v);
                if (r < 0)
                        return r;
                fprintf(f, "%llu", (unsigned long long) v);
                return 0;
        }
        case SD_BUS_TYPE_ARRAY:
        case SD_BUS_TYPE_STRUCT:
        case SD_BUS_TYPE_DICT_ENTRY: {
                bool object = type == SD_BUS_TYPE_ARRAY && contents[0] == SD_BUS_TYPE_DICT_ENTRY_BEGIN;
                bool first = true;

                r = sd_bus_message_enter_container(msg, type, contents);
                if (r < 0)
                        return r;
                if (type != SD_BUS_TYPE_DICT_ENTRY)
                        fputc(object ? '{' : '[', f);
                for (;;) {
                        r = sd_bus_message_at_end(msg, false);
                        if (r < 0)
                                return r;
                        if (r > 0)
                                break;
                        if (!first)
                                fputc(type == SD_BUS_TYPE_DICT_ENTRY ? ':' : ',', f);
                        first = false;
                        r = json_write_value(f, msg);
                        if (r < 0)
                                return r;
                }
                if (type != SD_BUS_TYPE_DICT_ENTRY)
                        fputc(object ? '}' : ']', f);
                return sd_bus_message_exit_container(msg);
        }
        default:
                return -EOPNOTSUPP;
        }
}

/* Fills a scratch message with fill(), then writes its one value as JSON. */
static int json_write_via_message(FILE *f, sd_bus *bus, int (*fill)(sd_bus_message *msg, void *userdata),
                                  void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *scratch = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &scratch, NULL, BUS_PATH, BUS_INTERFACE, "Describe");
        if (r < 0)
                return r;
        r = fill(scratch, userdata);
        if (r < 0)
                return r;
        r = sd_bus_message_seal(scratch, 1, 0);
        if (r < 0)
                return r;
        r = sd_bus_message_rewind(scratch, true);
        if (r < 0)
                return r;
        return json_write_value(f, scratch);
}

typedef struct PropertyFill {
        const sd_bus_vtable *v;
        Manager *m;
} PropertyFill;

static int fill_property(sd_bus_message *msg, void *userdata) {
        PropertyFill *p = userdata;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = p->v->x.property.get(sd_bus_message_get_bus(msg), BUS_PATH, BUS_INTERFACE,
                                 p->v->x.property.member, msg, p->m, &error);
        sd_bus_error_free(&error);
        return r;
}

static int fill_statistics(sd_bus_message *msg, void *userdata) {
        return append_statistics(userdata, msg);
}

static int method_describe(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *json = NULL;
        Manager *m = userdata;
        sd_bus *bus = sd_bus_message_get_bus(msg);
        size_t size = 0;
        FILE *f;
        int r = 0;

        f = open_memstream(&json, &size);
        if (!f)
                return -ENOMEM;

        fputc('{', f);
        for (const sd_bus_vtable *v = gateway_vtable; v->type != _SD_BUS_VTABLE_END; v++) {
                PropertyFill p = { .v = v, .m = m };

                if (v->type != _SD_BUS_VTABLE_PROPERTY)
                        continue;
                json_write_string(f, v->x.property.member);
                fputc(':', f);
                r = json_write_via_message(f, bus, fill_property, &p);
                if (r < 0)
                        break;
                fputc(',', f);
        }
        if (r >= 0) {
                json_write_string(f, "Statistics");
                fputc(':', f);
                /* Without a loaded translator there are no counters: say so, not fail. */
                if (json_write_via_message(f, bus, fill_statistics, m) < 0)
                        fputs("null", f);
                fprintf(f, ",\"TranslatorIfindex\":%d,\"WANIfindex\":%d,\"NAT46Ifindex\":%d,\"AttachMode\":",
                        m->translator_ifindex, m->wan.ifindex, m->nat46.ifindex);
                json_write_string(f, m->translator ? translator_attach_mode(m->translator) : "none");
                fputc('}', f);
        }
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to describe the gateway: %m");

        return sd_bus_reply_method_return(msg, "s", json);
}

/* ---- set-up and signals ---- */

int bus_setup(Manager *m) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");

        r = sd_bus_add_object_vtable(bus, NULL, BUS_PATH, BUS_INTERFACE, gateway_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Failed to publish " BUS_PATH ": %m");

        /* Before touching the kernel: a second instance must fail here, not fight the first. */
        r = sd_bus_request_name(bus, BUS_NAME, 0);
        if (r == -EEXIST)
                return log_error_errno(r, "Bus name " BUS_NAME " is taken: another nat64-gatewayd is running.");
        if (r < 0)
                return log_error_errno(r, "Failed to acquire bus name " BUS_NAME ": %m");

        r = sd_bus_attach_event(bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");

        /* Without its bus the service is not what its unit promises: exit, let systemd restart it. */
        r = sd_bus_set_exit_on_disconnect(bus, true);
        if (r < 0)
                return log_error_errno(r, "Failed to set exit-on-disconnect: %m");

        m->bus = TAKE_PTR(bus);
        return 0;
}

static void bus_emit(Manager *m, char **names) {
        int r;

        if (!m->bus)
                return;
        r = sd_bus_emit_properties_changed_strv(m->bus, BUS_PATH, BUS_INTERFACE, names);
        if (r < 0)
                log_debug_errno(r, "Failed to emit PropertiesChanged, ignoring: %m");
}

void bus_emit_state_changed(Manager *m) {
        char *names[] = { (char *) "State", (char *) "NAT46Active", NULL };

        bus_emit(m, names);
}

void bus_emit_ha_changed(Manager *m) {
        char *names[] = { (char *) "HARole", (char *) "HAInstances", (char *) "HAHeldAddresses", NULL };

        bus_emit(m, names);
}

void bus_emit_static_maps_changed(Manager *m) {
        char *names[] = { (char *) "StaticMaps", (char *) "MulticastMapCount", NULL };

        bus_emit(m, names);
}

void bus_emit_config_changed(Manager *m) {
        char *names[ELEMENTSOF(gateway_vtable)];
        size_t n = 0;

        for (const sd_bus_vtable *v = gateway_vtable; v->type != _SD_BUS_VTABLE_END; v++)
                if (v->type == _SD_BUS_VTABLE_PROPERTY && !streq(v->x.property.member, "State"))
                        names[n++] = (char *) v->x.property.member;
        names[n] = NULL;

        bus_emit(m, names);
}
