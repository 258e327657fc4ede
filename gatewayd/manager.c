/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "build-config.h"
#include "bus.h"
#include "capability.h"
#include "conntrack.h"
#include "log.h"
#include "manager.h"
/* Its "#pragma unroll" is for clang -target bpf; gcc need not hear about it. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#include "rfc6052.h"
#pragma GCC diagnostic pop

/*
 * 6to4 turns a 40-byte IPv6 header into a 20-byte IPv4 header. With the
 * translator link 20 bytes larger than the WAN, every IPv6 packet the kernel
 * forwards into it fits the WAN once translated, and the kernel's own IPv6
 * forwarding answers Packet Too Big for the rest (PMTUD keeps working).
 */
#define TRANSLATION_SHRINK      20U
#define DEFAULT_WAN_MTU         1500U
#define MAX_MTU                 65535U
/* Below this the kernel turns IPv6 off on the link (RFC 8200 §5) and our
 * routes vanish; smaller WANs are the translator's business (it fragments
 * or answers Packet Too Big with at least 1280). */
#define IPV6_MIN_MTU            1280U

#define USEC_PER_MSEC           1000ULL
/* Link events come in bursts (delete + create, up, MTU, ...): sync once. */
#define LINK_SYNC_DELAY_USEC    (50 * USEC_PER_MSEC)
#define LINK_RETRY_DELAY_USEC   (5000 * USEC_PER_MSEC)
/* Our own nft_apply() also deletes the table inside its transaction: look
 * whether the table is really gone only after the burst has settled. */
#define NFT_CHECK_DELAY_USEC    (100 * USEC_PER_MSEC)
/* The conntrack table is looked at this often; above FULL percent of
 * nf_conntrack_max the state is degraded until it is back below CLEAR. */
#define CONNTRACK_CHECK_USEC    (2000 * USEC_PER_MSEC)
#define CONNTRACK_FULL_PERCENT  95ULL
#define CONNTRACK_CLEAR_PERCENT 90ULL
/* keepalived adds a group's addresses one by one: look once they are all there. */
#define HA_CHECK_DELAY_USEC     (10 * USEC_PER_MSEC)
/* Well below nf_conntrack_udp_timeout_stream (120 s): see on_ha_bulk(). */
#define HA_BULK_SYNC_USEC       (30000 * USEC_PER_MSEC)

static const char *const manager_state_table[_MANAGER_STATE_MAX] = {
        [MANAGER_STARTING] = "starting",
        [MANAGER_RUNNING]  = "running",
        [MANAGER_DEGRADED] = "degraded",
        [MANAGER_STOPPING] = "stopping",
};

const char *manager_state_to_string(ManagerState s) {
        if (s < 0 || s >= _MANAGER_STATE_MAX)
                return NULL;
        return manager_state_table[s];
}

static void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

static int read_one_line(const char *path, char *buf, size_t size) {
        _cleanup_(fclosep) FILE *f = NULL;

        f = fopen(path, "re");
        if (!f)
                return negative_errno();
        if (!fgets(buf, (int) size, f))
                return ferror(f) ? -EIO : -ENODATA;
        buf[strcspn(buf, "\n")] = '\0';
        return 0;
}

/* Sets /proc/sys/net/<path> unless it already has the value; says what changed. */
static int sysctl_ensure(const char *path, const char *value) {
        char full[256], current[64] = "";
        int r;

        snprintf(full, sizeof(full), "/proc/sys/net/%s", path);
        r = read_one_line(full, current, sizeof(current));
        if (r >= 0 && streq(current, value))
                return 0;

        r = sysctl_write_net(path, value);
        if (r < 0)
                return log_error_errno(r, "Failed to set %s to %s: %m", full, value);

        log_info("Set %s to %s (was %s).", full, value, current[0] ? current : "unknown");
        return 1;
}

/*
 * Liberal TCP window tracking (why: at the callers) for as long as we run,
 * then the value we found put back at stop: the host is left as it was.
 */
#define TCP_LIBERAL_SYSCTL "netfilter/nf_conntrack_tcp_be_liberal"

static int manager_tcp_liberal_ensure(Manager *m) {
        char current[sizeof(m->tcp_liberal_was)] = "";
        int r;

        if (m->tcp_liberal_was[0])
                return 0;
        (void) read_one_line("/proc/sys/net/" TCP_LIBERAL_SYSCTL, current, sizeof(current));
        r = sysctl_ensure(TCP_LIBERAL_SYSCTL, "1");
        if (r > 0)
                snprintf(m->tcp_liberal_was, sizeof(m->tcp_liberal_was), "%s", current[0] ? current : "0");
        return r;
}

static void manager_tcp_liberal_restore(Manager *m) {
        int r;

        if (!m->tcp_liberal_was[0])
                return;
        r = sysctl_write_net(TCP_LIBERAL_SYSCTL, m->tcp_liberal_was);
        if (r < 0)
                log_warning_errno(r, "Failed to set /proc/sys/net/" TCP_LIBERAL_SYSCTL " back to %s, ignoring: %m",
                                  m->tcp_liberal_was);
        else
                log_info("Set /proc/sys/net/" TCP_LIBERAL_SYSCTL " back to %s.", m->tcp_liberal_was);
        m->tcp_liberal_was[0] = 0;
}

static void warn_port_range_overlap(const Config *c) {
        char line[64];
        unsigned lo, hi;

        if (!c->has_port_range)
                return;
        if (read_one_line("/proc/sys/net/ipv4/ip_local_port_range", line, sizeof(line)) < 0 ||
            sscanf(line, "%u %u", &lo, &hi) != 2)
                return;

        if (c->port_min <= hi && lo <= c->port_max)
                log_warning("PortRange=%u-%u overlaps the kernel's local port range %u-%u "
                            "(net.ipv4.ip_local_port_range): replies to connections the host itself "
                            "opens from IPv4Address= with such a port would be translated. "
                            "Move one of the two ranges.",
                            c->port_min, c->port_max, lo, hi);
}

int manager_new(sd_event *event, const char *config_path, const char *nft_template_path, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;

        m->event = sd_event_ref(event);
        m->state = MANAGER_STARTING;
        m->wan.role = "WAN";
        m->nat46.role = "NAT46";
        m->lan.role = "NAT66";
        /* The translator asks bpf_fib_lookup() whether a NAT46 client's packet
         * is for the gateway itself; the kernel answers only for devices that
         * forward IPv4 (else every packet, even to the host, is translated). */
        m->nat46.ipv4_forwarding = true;
        m->ha_role = _HA_ROLE_INVALID;

        m->config_path = strdup(config_path);
        m->nft_template_path = strdup(nft_template_path);
        if (!m->config_path || !m->nft_template_path)
                return -ENOMEM;

        *ret = TAKE_PTR(m);
        return 0;
}

static void manager_stop_monitors(Manager *m) {
        m->link_sync_source = sd_event_source_disable_unref(m->link_sync_source);
        m->link_monitor_source = sd_event_source_disable_unref(m->link_monitor_source);
        m->link_monitor = netlink_monitor_free(m->link_monitor);
        m->nft_check_source = sd_event_source_disable_unref(m->nft_check_source);
        m->nft_monitor_source = sd_event_source_disable_unref(m->nft_monitor_source);
        m->nft_monitor = nft_monitor_free(m->nft_monitor);
        m->conntrack_check_source = sd_event_source_disable_unref(m->conntrack_check_source);
        m->ha_check_source = sd_event_source_disable_unref(m->ha_check_source);
        m->ha_bulk_source = sd_event_source_disable_unref(m->ha_bulk_source);
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;

        manager_stop_monitors(m);
        m->bus = sd_bus_flush_close_unref(m->bus);
        m->mroute = mroute_free(m->mroute);     /* before the translator: it fills its map */
        m->translator = translator_free(m->translator);
        m->netlink = netlink_close(m->netlink);
        m->config = config_free(m->config);
        free(m->routes);
        free(m->ha_held);
        free(m->config_path);
        free(m->nft_template_path);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

void manager_freep(Manager **m) {
        manager_free(*m);
}

int manager_load_config(Manager *m) {
        Config *c = NULL;
        int r;

        r = config_load(m->config_path, &c);
        if (r < 0)
                return log_error_errno(r, "Configuration \"%s\" is invalid: %m", m->config_path);

        config_free(m->config);
        m->config = c;
        return 0;
}

static void manager_notify_status(Manager *m) {
        const Config *c = m->config;

        switch (m->state) {
        case MANAGER_RUNNING:
                (void) sd_notifyf(false, "STATUS=Translating: WAN \"%s\", translator link " TRANSLATOR_LINK ".",
                                  c->wan_interface);
                break;
        case MANAGER_DEGRADED:
                if (m->conntrack_full && !m->sync_failed && m->wan.ifindex != 0 &&
                    !(c->nat46_interface && m->nat46.ifindex == 0))
                        (void) sd_notify(false, "STATUS=Degraded: the conntrack table is nearly full, new flows may be dropped.");
                else if (m->wan.ifindex == 0)
                        (void) sd_notifyf(false, "STATUS=Degraded: WAN interface \"%s\" is missing.", c->wan_interface);
                else if (c->nat46_interface && m->nat46.ifindex == 0)
                        (void) sd_notifyf(false, "STATUS=Degraded: NAT46 interface \"%s\" is missing.",
                                          c->nat46_interface);
                else
                        (void) sd_notify(false, "STATUS=Degraded: applying the configuration failed, see the log.");
                break;
        case MANAGER_STARTING:
                (void) sd_notify(false, "STATUS=Starting...");
                break;
        case MANAGER_STOPPING:
                (void) sd_notify(false, "STATUS=Stopping...");
                break;
        default:
                break;
        }
}

static void manager_set_state(Manager *m, ManagerState s) {
        bool changed = m->state != s;

        m->state = s;
        manager_notify_status(m);
        if (changed) {
                log_debug("State is now %s.", manager_state_to_string(s));
                bus_emit_state_changed(m);
        }
}

/*
 * Looks the interface up again. Returns 1 if present, 0 if absent (not an
 * error: it may appear later), negative errno if netlink failed.
 */
static int managed_link_resolve(Manager *m, ManagedLink *l, const char *ifname) {
        int old = l->ifindex, ifindex, r;
        uint32_t mtu;

        if (!ifname) {
                l->ifindex = 0;
                return 0;
        }

        r = netlink_link_ifindex(m->netlink, ifname);
        if (r == -ENODEV)
                goto missing;
        if (r < 0)
                return log_error_errno(r, "Failed to look up %s interface \"%s\": %m", l->role, ifname);
        ifindex = r;

        r = netlink_link_mtu(m->netlink, ifindex, &mtu);
        if (r == -ENODEV)
                goto missing;
        if (r < 0)
                return log_error_errno(r, "Failed to read MTU of %s interface \"%s\": %m", l->role, ifname);

        /* Interfaces without a MAC (ppp, tun) have no use for the multicast MAC. */
        r = netlink_link_mac(m->netlink, ifindex, l->mac);
        if (r == -ENODEV)
                goto missing;
        if (r < 0) {
                log_debug_errno(r, "%s interface \"%s\" has no MAC address (%m), using zeros.", l->role, ifname);
                memset(l->mac, 0, sizeof(l->mac));
        }

        if (old != ifindex)
                log_info("%s interface \"%s\" found (ifindex %d, MTU %u).", l->role, ifname, ifindex, mtu);
        l->ifindex = ifindex;
        l->mtu = mtu;
        l->reported_missing = false;
        return 1;

missing:
        if (old > 0)
                log_warning("%s interface \"%s\" disappeared, translation on it stops until it is back.",
                            l->role, ifname);
        else if (!l->reported_missing)
                log_warning("%s interface \"%s\" does not exist, translation on it starts when it appears.",
                            l->role, ifname);
        l->reported_missing = true;
        l->ifindex = 0;
        return 0;
}

/* Creates (or finds) the translator link and gives it mtu. */
static int manager_translator_link_ensure(Manager *m, uint32_t mtu) {
        int ifindex, r;

        r = netlink_translator_link_ensure(m->netlink, mtu, &ifindex);
        if (r < 0)
                return log_error_errno(r, "Failed to set up translator link " TRANSLATOR_LINK ": %m");

        if (ifindex != m->translator_ifindex) {
                char path[64];

                /* A new link: filters and routes of an earlier one went away with
                 * it; only the translator's bookkeeping of it is left to drop. */
                if (m->translator_attached_ifindex > 0)
                        (void) translator_detach(m->translator, m->translator_attached_ifindex);
                m->translator_ifindex = ifindex;
                m->translator_attached_ifindex = 0;
                free(m->routes);
                m->routes = NULL;
                m->n_routes = 0;

                /* 6to4 looks the IPv4 destination up with bpf_fib_lookup() from
                 * this device, which answers only for devices forwarding IPv4. */
                snprintf(path, sizeof(path), "ipv4/conf/%s/forwarding", TRANSLATOR_LINK);
                r = sysctl_ensure(path, "1");
                if (r < 0)
                        return r;
        }
        if (mtu != m->translator_mtu)
                log_info("Translator link " TRANSLATOR_LINK " (ifindex %d) has MTU %u.", ifindex, mtu);
        m->translator_mtu = mtu;
        return 0;
}

static int manager_translator_link_sync(Manager *m) {
        uint32_t mtu;
        int r;

        /* Without a WAN keep the MTU we had (or assume Ethernet's). */
        if (m->wan.ifindex > 0)
                mtu = m->wan.mtu + TRANSLATION_SHRINK;
        else
                mtu = m->translator_mtu ?: DEFAULT_WAN_MTU + TRANSLATION_SHRINK;
        if (mtu < IPV6_MIN_MTU)
                mtu = IPV6_MIN_MTU;
        if (mtu > MAX_MTU)
                mtu = MAX_MTU;

        if (m->translator_ifindex <= 0 || mtu != m->translator_mtu) {
                r = manager_translator_link_ensure(m, mtu);
                if (r < 0)
                        return r;
        }

        /* 4to6 rewrites the destination MAC to this, so the stack takes the
         * redirected frames as addressed to the host. Read at every sync:
         * someone may change it (a link event brings us here). */
        r = netlink_link_mac(m->netlink, m->translator_ifindex, m->translator_mac);
        if (r < 0)
                return log_error_errno(r, "Failed to read MAC of " TRANSLATOR_LINK ": %m");
        return 0;
}

/* Settings for the translator's maps; *ret_eams holds the EAM array they point at. */
static int translator_settings_build(const Manager *m, const Config *c,
                                     TranslatorSettings *ret, struct nat64_eam **ret_eams) {
        _cleanup_free_ struct nat64_eam *eams = NULL;
        struct nat64_config *cfg;

        *ret = (TranslatorSettings) {};
        cfg = &ret->cfg;

        /* Gateway datapath: the kernel forwards (and counts the hop), we redirect. */
        /* The drop log costs only on the drop path (nat64ctl drops). */
        cfg->flags = NAT64_F_REDIRECT | NAT64_F_DROP_LOG;
        if (c->has_port_range)
                cfg->flags |= NAT64_F_PORT_RANGE;
        if (c->udp_zero_checksum == UDP_ZERO_CHECKSUM_DROP)
                cfg->flags |= NAT64_F_UDP_ZERO_DROP;
        if (c->has_rfc6791_address) {
                cfg->flags |= NAT64_F_HAVE_RFC6791_V4;
                cfg->rfc6791_v4 = c->rfc6791_address.s_addr;
        }
        cfg->lowest_ipv6_mtu = c->lowest_ipv6_mtu;
        if (c->multicast_lan_interface)
                cfg->flags |= NAT64_F_MCAST_RX;

        cfg->nr_prefixes = c->n_prefixes;
        for (size_t i = 0; i < c->n_prefixes && i < NAT64_MAX_PREFIXES; i++) {
                memcpy(cfg->prefixes[i].addr, c->prefixes[i].addr.s6_addr, 16);
                cfg->prefixes[i].len = c->prefixes[i].len;
        }

        cfg->nr_pool4 = c->n_ipv4_addresses;
        for (size_t i = 0; i < c->n_ipv4_addresses && i < NAT64_MAX_POOL4; i++)
                cfg->pool4[i] = c->ipv4_addresses[i].s_addr;
        cfg->port_min = c->port_min;
        cfg->port_max = c->port_max;

        /* ICMP errors we originate come from our own address, seen from either side. */
        cfg->self_v4 = c->ipv4_addresses[0].s_addr;
        rfc6052_embed(c->prefixes[0].addr.s6_addr, c->prefixes[0].len,
                      (const __u8 *) &c->ipv4_addresses[0].s_addr, cfg->self_v6);

        cfg->v6_ifindex = m->translator_ifindex;
        memcpy(cfg->v6_mac, m->translator_mac, sizeof(cfg->v6_mac));
        cfg->wan_ifindex = m->wan.ifindex;
        memcpy(cfg->wan_mac, m->wan.mac, sizeof(cfg->wan_mac));

        if (c->nat46_interface && c->has_nat46_prefix) {
                cfg->nat46_ifindex = m->nat46.ifindex;
                cfg->nat46_prefix = c->nat46_prefix.addr.s_addr;
                cfg->nat46_prefix_len = c->nat46_prefix.len;
        }

        if (c->n_eams > 0) {
                eams = calloc(c->n_eams, sizeof(*eams));
                if (!eams)
                        return -ENOMEM;
                for (size_t i = 0; i < c->n_eams; i++) {
                        memcpy(eams[i].v6, c->eams[i].v6.addr.s6_addr, 16);
                        eams[i].v6_len = c->eams[i].v6.len;
                        eams[i].v4 = c->eams[i].v4.addr.s_addr;
                        eams[i].v4_len = c->eams[i].v4.len;
                }
        }
        ret->eams = eams;
        ret->n_eams = c->n_eams;
        *ret_eams = TAKE_PTR(eams);
        return 0;
}

static int manager_translator_apply(Manager *m, const Config *c) {
        _cleanup_free_ struct nat64_eam *eams = NULL;
        _cleanup_free_ struct nat64_lpm6_key *clients = NULL;
        TranslatorSettings s;
        int r;

        r = translator_settings_build(m, c, &s, &eams);
        if (r < 0)
                return log_error_errno(r, "Failed to build translator settings: %m");

        /* The fast path (bpf/lib/fastpath.h): its own copy of who the clients are. */
        if (c->fast_path) {
                /* Conntrack no longer sees every segment of a fast flow, so its
                 * window tracking would call the FIN that comes its way invalid:
                 * liberal, as the kernel's flowtable makes each entry it offloads. */
                r = manager_tcp_liberal_ensure(m);
                if (r < 0)
                        return r;
                s.cfg.flags |= NAT64_F_FASTPATH;
                clients = calloc(c->n_client_prefixes ?: 1, sizeof(*clients));
                if (!clients)
                        return log_error_errno(-ENOMEM, "Failed to build translator settings: %m");
                for (size_t i = 0; i < c->n_client_prefixes; i++) {
                        clients[i].prefixlen = c->client_prefixes[i].len;
                        memcpy(clients[i].addr, c->client_prefixes[i].addr.s6_addr, 16);
                }
                s.fastpath_clients = clients;
                s.n_fastpath_clients = c->n_client_prefixes;
        }

        r = translator_apply(m->translator, &s);
        if (r < 0)
                return log_error_errno(r, "Failed to configure the translator: %m");
        return 0;
}

/* Moves our 4to6 filter to where the interface is now (or nowhere). */
static int managed_link_attach(Manager *m, ManagedLink *l, const char *ifname) {
        int r;

        if (l->attached_ifindex == l->ifindex)
                return 0;

        if (l->attached_ifindex > 0) {
                /* Fails harmlessly when the interface is gone, and the filter with it. */
                r = translator_detach(m->translator, l->attached_ifindex);
                if (r < 0)
                        log_debug_errno(r, "Failed to detach translator from ifindex %d, ignoring: %m",
                                        l->attached_ifindex);
                l->attached_ifindex = 0;
        }

        if (l->ifindex == 0)
                return 0;

        if (l->ipv4_forwarding) {
                char path[64 + IF_NAMESIZE];

                snprintf(path, sizeof(path), "ipv4/conf/%s/forwarding", ifname);
                r = sysctl_ensure(path, "1");
                if (r < 0)
                        return r;
        }

        r = translator_attach_ingress_4to6(m->translator, l->ifindex);
        if (r < 0)
                return log_error_errno(r, "Failed to attach translator to ingress of %s interface \"%s\": %m",
                                       l->role, ifname);
        l->attached_ifindex = l->ifindex;
        log_info("Translator attached to ingress of %s interface \"%s\".", l->role, ifname);
        return 0;
}

/* The fast path at the LAN's ingress, with FastPath=yes (after 4to6's: it may share the hook). */
static int manager_fastpath_attach(Manager *m, const Config *c) {
        int ifindex = c->fast_path && translator_has_fastpath(m->translator) ? m->lan.ifindex : 0;
        int r;

        if (m->lan.attached_ifindex == ifindex &&
            (ifindex == 0 || translator_fastpath_attached(m->translator, ifindex)))
                return 0;

        if (m->lan.attached_ifindex > 0) {
                r = translator_detach_fastpath(m->translator, m->lan.attached_ifindex);
                if (r < 0)
                        log_debug_errno(r, "Failed to detach the fast path from ifindex %d, ignoring: %m",
                                        m->lan.attached_ifindex);
                m->lan.attached_ifindex = 0;
        }
        if (ifindex == 0)
                return 0;

        r = translator_attach_ingress_fastpath(m->translator, ifindex);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the fast path to ingress of NAT66 interface \"%s\": %m",
                                       c->nat66_interface);
        m->lan.attached_ifindex = ifindex;
        log_info("Fast path attached to ingress of NAT66 interface \"%s\".", c->nat66_interface);
        return 0;
}

static int manager_attach(Manager *m, const Config *c) {
        int r;

        if (m->translator_attached_ifindex != m->translator_ifindex) {
                r = translator_attach_egress_6to4(m->translator, m->translator_ifindex);
                if (r < 0)
                        return log_error_errno(r, "Failed to attach translator to egress of " TRANSLATOR_LINK ": %m");
                m->translator_attached_ifindex = m->translator_ifindex;
        }

        r = managed_link_attach(m, &m->wan, c->wan_interface);
        if (r < 0)
                return r;
        r = managed_link_attach(m, &m->nat46, c->nat46_interface);
        if (r < 0)
                return r;
        return manager_fastpath_attach(m, c);
}

/* Multicast the other way: MFC6, the translator's group map, IGMP on the WAN (mroute.c). */
static int manager_mroute_sync(Manager *m, const Config *c) {
        MrouteSettings s = {
                .lan_interface = c->multicast_lan_interface,
                .translator_ifindex = m->translator_ifindex,
                .wan_ifindex = m->wan.ifindex,
                .maps = c->multicast_maps,
                .n_maps = c->n_multicast_maps,
        };

        if (!m->mroute)
                return 0;
        return mroute_sync(m->mroute, &s);
}

static bool prefix6_in(const Prefix6 *p, const Prefix6 *list, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (p->len == list[i].len && memcmp(&p->addr, &list[i].addr, sizeof(p->addr)) == 0)
                        return true;
        return false;
}

/* Routes each Prefix= into the translator link; removes routes of prefixes no longer configured. */
static int manager_routes_sync(Manager *m, const Config *c) {
        Prefix6 *copy;
        char buf[INET6_ADDRSTRLEN];
        int r;

        for (size_t i = 0; i < c->n_prefixes; i++) {
                r = netlink_route6_add(m->netlink, &c->prefixes[i].addr, c->prefixes[i].len, m->translator_ifindex);
                if (r < 0)
                        return log_error_errno(r, "Failed to add route %s/%u dev " TRANSLATOR_LINK ": %m",
                                               inet_ntop(AF_INET6, &c->prefixes[i].addr, buf, sizeof(buf)),
                                               c->prefixes[i].len);
        }

        for (size_t i = 0; i < m->n_routes; i++) {
                if (prefix6_in(&m->routes[i], c->prefixes, c->n_prefixes))
                        continue;
                r = netlink_route6_del(m->netlink, &m->routes[i].addr, m->routes[i].len, m->translator_ifindex);
                if (r < 0 && r != -ESRCH)
                        log_warning_errno(r, "Failed to remove route %s/%u, ignoring: %m",
                                          inet_ntop(AF_INET6, &m->routes[i].addr, buf, sizeof(buf)),
                                          m->routes[i].len);
        }

        copy = calloc(c->n_prefixes ?: 1, sizeof(*copy));
        if (!copy)
                return log_error_errno(-ENOMEM, "Failed to remember routes: %m");
        memcpy(copy, c->prefixes, c->n_prefixes * sizeof(*copy));
        free(m->routes);
        m->routes = copy;
        m->n_routes = c->n_prefixes;
        return 0;
}

static bool ha_held_equal(const struct in_addr *a, size_t n_a, const struct in_addr *b, size_t n_b) {
        return n_a == n_b && (n_a == 0 || memcmp(a, b, n_a * sizeof(*a)) == 0);
}

static void log_ha_held(const Config *c, const struct in_addr *held, size_t n) {
        char list[CONFIG_MAX_IPV4_ADDRESSES * (INET_ADDRSTRLEN + 1)] = "", buf[INET_ADDRSTRLEN];

        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        strcat(list, " ");
                strcat(list, inet_ntop(AF_INET, &held[i], buf, sizeof(buf)));
        }
        if (n > 0)
                log_info("HA: \"%s\" holds IPv4Address= %s, new flows are mapped onto them.", c->wan_interface, list);
        else
                log_info("HA: \"%s\" holds none of IPv4Address=, no new flow is mapped.", c->wan_interface);
}

/*
 * With [HA], the table depends on the node's state too: which IPv4Address=
 * values the WAN holds now and whether it is VRRP master. The first time
 * (start, or [HA] added by a reload) the role comes from the addresses: a
 * daemon restarted on the master finds keepalived's addresses in place.
 */
static int manager_nft_render(Manager *m, const Config *c, char **ret) {
        _cleanup_free_ struct in_addr *held = NULL;
        NftHA ha = {};
        size_t n_held = 0;
        int r;

        if (c->ha_conntrackd_socket) {
                r = ha_held_addresses(c, &held, &n_held);
                if (r < 0)
                        return log_error_errno(r, "Failed to read the addresses of \"%s\": %m", c->wan_interface);
                if (m->ha_role < 0) {
                        m->ha_role = n_held > 0 ? HA_ROLE_MASTER : HA_ROLE_BACKUP;
                        log_info("HA: starting as %s (%s IPv4Address= on \"%s\").", ha_role_to_string(m->ha_role),
                                 n_held > 0 ? "holding" : "not holding", c->wan_interface);
                }
                ha.standby = m->ha_role != HA_ROLE_MASTER || n_held == 0;
                ha.snat_addresses = held;
                ha.n_snat_addresses = n_held;
        }

        r = nft_render_ha(c, &ha, m->nft_template_path, ret);
        if (r < 0)
                return log_error_errno(r, "Failed to render the nftables table from \"%s\": %m",
                                       m->nft_template_path);

        if (c->ha_conntrackd_socket && !ha_held_equal(held, n_held, m->ha_held, m->n_ha_held))
                log_ha_held(c, held, n_held);
        if (c->ha_conntrackd_socket && ha.standby != m->ha_standby)
                log_info("HA: %s.", ha.standby ? "standby, new client flows are dropped"
                                               : "active, new client flows are mapped");
        free(m->ha_held);
        m->ha_held = TAKE_PTR(held);
        m->n_ha_held = n_held;
        m->ha_standby = ha.standby;
        return 0;
}

static int manager_nft_apply(const char *text) {
        _cleanup_free_ char *error = NULL;
        int r;

        r = nft_apply_full(text, &error);
        if (r < 0)
                return log_error_errno(r, "Failed to apply nftables tables " NFT_TABLE_NAME ": %s%s%m",
                                       error ?: "", error ? " " : "");
        return 0;
}

static void manager_update_state(Manager *m, const Config *c, int sync_result) {
        bool degraded;

        m->sync_failed = sync_result < 0;
        degraded = m->sync_failed || m->conntrack_full ||
                m->wan.ifindex == 0 || (c->nat46_interface && m->nat46.ifindex == 0);

        manager_set_state(m, degraded ? MANAGER_DEGRADED : MANAGER_RUNNING);
}

/*
 * Brings the kernel in line with c and the interfaces as they are now. Every
 * step is idempotent, so start, link events and reloads share this path.
 * nft_text: the table to apply first (atomic, and the step most likely to
 * fail, so a failed reload usually changes nothing), or NULL to leave it.
 */
static int manager_sync(Manager *m, const Config *c, const char *nft_text) {
        int r;

        if (nft_text) {
                r = manager_nft_apply(nft_text);
                if (r < 0)
                        goto finish;
        }

        r = managed_link_resolve(m, &m->wan, c->wan_interface);
        if (r < 0)
                goto finish;
        r = managed_link_resolve(m, &m->nat46, c->nat46_interface);
        if (r < 0)
                goto finish;
        r = managed_link_resolve(m, &m->lan, c->nat66_interface);
        if (r < 0)
                goto finish;

        r = manager_translator_link_sync(m);
        if (r < 0)
                goto finish;

        /* Maps first: a filter must never run with settings naming a stale ifindex. */
        r = manager_translator_apply(m, c);
        if (r < 0)
                goto finish;

        r = manager_attach(m, c);
        if (r < 0)
                goto finish;

        r = manager_mroute_sync(m, c);
        if (r < 0)
                goto finish;

        /* Last: only now may traffic for the prefixes reach the translator. */
        r = manager_routes_sync(m, c);
        if (r == -ENODEV)
                /* The translator link went away under us (its event is still
                 * queued): the next sync creates it anew. */
                m->translator_ifindex = 0;

finish:
        manager_update_state(m, c, r);
        return r;
}

static int on_link_sync(sd_event_source *s, uint64_t usec, void *userdata);

/* Arms a one-shot timer to fire in delay, or sooner if it already would. */
static int timer_schedule(Manager *m, sd_event_source **s, uint64_t delay, sd_event_time_handler_t cb) {
        uint64_t now, pending;
        int enabled, r;

        if (!*s)
                return sd_event_add_time_relative(m->event, s, CLOCK_MONOTONIC, delay, 0, cb, m);

        r = sd_event_source_get_enabled(*s, &enabled);
        if (r < 0)
                return r;
        if (enabled != SD_EVENT_OFF) {
                /* A pending retry must not delay a reaction to a fresh event. */
                r = sd_event_now(m->event, CLOCK_MONOTONIC, &now);
                if (r < 0)
                        return r;
                r = sd_event_source_get_time(*s, &pending);
                if (r < 0 || pending <= now + delay)
                        return r;
        }

        r = sd_event_source_set_time_relative(*s, delay);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(*s, SD_EVENT_ONESHOT);
}

static void manager_schedule_link_sync(Manager *m, uint64_t delay) {
        int r;

        r = timer_schedule(m, &m->link_sync_source, delay, on_link_sync);
        if (r < 0)
                log_warning_errno(r, "Failed to schedule link resync, ignoring: %m");
}

static int manager_ha_refresh(Manager *m);

static int on_link_sync(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        int r;

        /* Failures are logged and leave the state degraded: try again later
         * (a link event may also come first). ENODEV: a link vanished while
         * we worked, so look again at once. */
        r = manager_sync(m, m->config, NULL);
        if (r < 0)
                manager_schedule_link_sync(m, r == -ENODEV ? LINK_SYNC_DELAY_USEC : LINK_RETRY_DELAY_USEC);
        else
                /* A WAN that came (back) may hold IPv4Address= already: its
                 * address events came before we knew its ifindex. */
                (void) manager_ha_refresh(m);
        return 0;
}

static bool link_event_concerns(const ManagedLink *l, const char *configured, const char *ifname, int ifindex) {
        if (!configured)
                return false;
        return streq(ifname, configured) || (l->ifindex > 0 && ifindex == l->ifindex);
}

static void on_link_changed(const char *ifname, int ifindex, bool exists, bool up, const uint8_t *mac,
                            void *userdata) {
        Manager *m = userdata;

        log_debug("Link event: \"%s\" (ifindex %d) %s%s.", ifname, ifindex,
                  exists ? "exists" : "removed", exists && up ? ", up" : "");

        if (ifindex == m->translator_ifindex && !exists) {
                log_warning("Translator link " TRANSLATOR_LINK " was removed by someone else, re-creating it.");
                m->translator_ifindex = 0;
                manager_schedule_link_sync(m, LINK_SYNC_DELAY_USEC);
                return;
        }

        if (ifindex == m->translator_ifindex && mac &&
            memcmp(mac, m->translator_mac, sizeof(m->translator_mac)) != 0) {
                log_info("Translator link " TRANSLATOR_LINK " has a new MAC address, following it.");
                manager_schedule_link_sync(m, LINK_SYNC_DELAY_USEC);
                return;
        }

        /* Everything else about nat64tr0 is our own doing; reacting to it would loop. */
        if (link_event_concerns(&m->wan, m->config->wan_interface, ifname, ifindex) ||
            link_event_concerns(&m->nat46, m->config->nat46_interface, ifname, ifindex) ||
            link_event_concerns(&m->lan, m->config->nat66_interface, ifname, ifindex) ||
            (m->config->multicast_lan_interface && streq(ifname, m->config->multicast_lan_interface)))
                manager_schedule_link_sync(m, LINK_SYNC_DELAY_USEC);
}

static int on_link_event(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        int r;

        r = netlink_monitor_process(m->link_monitor, on_link_changed, m);
        if (r < 0) {
                /* E.g. ENOBUFS: events were lost, so look at everything again. */
                log_debug_errno(r, "Failed to read link events (%m), resyncing.");
                manager_schedule_link_sync(m, LINK_SYNC_DELAY_USEC);
        }
        return 0;
}

static int on_nft_check(sd_event_source *s, uint64_t usec, void *userdata) {
        _cleanup_free_ char *text = NULL;
        const char *missing = NFT_TABLE_FAMILY;
        Manager *m = userdata;
        int r;

        r = nft_table_exists(NFPROTO_IPV6);
        if (r > 0 && m->config->has_port_range) {
                missing = NFT_GUARD_TABLE_FAMILY;
                r = nft_table_exists(NFPROTO_IPV4);
        }
        if (r < 0) {
                log_warning_errno(r, "Failed to check for our nftables tables, ignoring: %m");
                return 0;
        }
        if (r > 0)
                return 0;

        if (manager_nft_render(m, m->config, &text) < 0 || manager_nft_apply(text) < 0) {
                manager_set_state(m, MANAGER_DEGRADED);
                return 0;
        }
        log_warning("nftables table %s " NFT_TABLE_NAME " was removed, restored.", missing);
        return 0;
}

static int on_nft_event(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        int r;

        r = nft_monitor_process(m->nft_monitor);
        if (r < 0)
                log_debug_errno(r, "Failed to read nftables events (%m), checking our table.");
        if (r != 0) {
                r = timer_schedule(m, &m->nft_check_source, NFT_CHECK_DELAY_USEC, on_nft_check);
                if (r < 0)
                        log_warning_errno(r, "Failed to schedule nftables check, ignoring: %m");
        }
        return 0;
}

/* With [HA]: re-applies the table if the held addresses or the standby state changed. */
static int manager_ha_refresh(Manager *m) {
        _cleanup_free_ struct in_addr *held = NULL;
        _cleanup_free_ char *text = NULL;
        size_t n_held = 0;
        bool standby;
        int r;

        if (!m->config->ha_conntrackd_socket || m->state == MANAGER_STOPPING)
                return 0;

        r = ha_held_addresses(m->config, &held, &n_held);
        if (r < 0)
                return log_warning_errno(r, "Failed to read the addresses of \"%s\", ignoring: %m",
                                         m->config->wan_interface);
        standby = m->ha_role != HA_ROLE_MASTER || n_held == 0;
        if (standby == m->ha_standby && ha_held_equal(held, n_held, m->ha_held, m->n_ha_held))
                return 0;

        r = manager_nft_render(m, m->config, &text);
        if (r < 0)
                return r;
        r = manager_nft_apply(text);
        if (r < 0) {
                manager_set_state(m, MANAGER_DEGRADED);
                return r;
        }
        return 0;
}

static int on_ha_check(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) manager_ha_refresh(userdata);
        return 0;
}

/* keepalived adds and removes IPv4Address= values: an address event on the WAN. */
static void on_address_changed(int ifindex, void *userdata) {
        Manager *m = userdata;
        int r;

        if (!m->config->ha_conntrackd_socket || ifindex != m->wan.ifindex)
                return;
        r = timer_schedule(m, &m->ha_check_source, HA_CHECK_DELAY_USEC, on_ha_check);
        if (r < 0)
                log_warning_errno(r, "Failed to schedule the HA address check, ignoring: %m");
}

static void on_ha_bulk_done(void *userdata, int error, const char *text) {
        if (error < 0)
                log_debug_errno(error, "conntrackd did not take the bulk send request, ignoring: %m");
}

/*
 * conntrackd sends a flow to its peer when its state changes, not when
 * packets refresh it. A peer that keeps the copies in its kernel table
 * (active/active, DisableExternalCache) would let a UDP flow's copy time out
 * after nf_conntrack_udp_timeout_stream while the flow goes on here, and
 * lose it at a failover. So a master asks conntrackd for a bulk send of its
 * cache every HA_BULK_SYNC_USEC ("conntrackd -B"), which refreshes them all.
 */
static int on_ha_bulk(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        int r;

        (void) sd_event_source_set_time(s, usec + HA_BULK_SYNC_USEC);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);

        if (!m->config->ha_conntrackd_socket || m->ha_role != HA_ROLE_MASTER)
                return 0;
        r = ha_conntrackd_request(m->event, m->config->ha_conntrackd_socket, HA_CONNTRACKD_SEND_BULK,
                                  on_ha_bulk_done, m);
        if (r < 0)
                log_debug_errno(r, "Failed to reach conntrackd at \"%s\", ignoring: %m",
                                m->config->ha_conntrackd_socket);
        return 0;
}

static HARole ha_role_summary(const Manager *m) {
        bool fault = false;

        if (m->n_ha_instances == 0)
                return m->ha_role;
        for (size_t i = 0; i < m->n_ha_instances; i++) {
                if (m->ha_instances[i].role == HA_ROLE_MASTER)
                        return HA_ROLE_MASTER;
                fault = fault || m->ha_instances[i].role == HA_ROLE_FAULT;
        }
        return fault ? HA_ROLE_FAULT : HA_ROLE_BACKUP;
}

int manager_set_ha_state(Manager *m, const char *instance, HARole role) {
        HARole old = _HA_ROLE_INVALID;
        size_t i;

        if (!m->config->ha_conntrackd_socket)
                return -EOPNOTSUPP;

        for (i = 0; i < m->n_ha_instances; i++)
                if (streq(m->ha_instances[i].name, instance))
                        break;
        if (i < m->n_ha_instances)
                old = m->ha_instances[i].role;
        else if (role >= 0) {
                if (m->n_ha_instances >= HA_MAX_INSTANCES)
                        return -E2BIG;
                snprintf(m->ha_instances[i].name, sizeof(m->ha_instances[i].name), "%s", instance);
                m->n_ha_instances++;
        } else
                return 0;       /* a stop of an instance we never heard of */

        if (role < 0) {
                /* Stopped: forget it (keepalived shutting down), keep the order of the rest. */
                memmove(&m->ha_instances[i], &m->ha_instances[i + 1],
                        (m->n_ha_instances - i - 1) * sizeof(m->ha_instances[0]));
                m->n_ha_instances--;
                log_info("HA: VRRP instance \"%s\" stopped.", instance);
        } else {
                m->ha_instances[i].role = role;
                if (role == HA_ROLE_MASTER && old != HA_ROLE_MASTER) {
                        m->ha_failovers++;
                        log_notice("HA: VRRP instance \"%s\" is master here now (was %s).", instance,
                                   old >= 0 ? ha_role_to_string(old) : "unknown");
                } else if (role != old)
                        log_info("HA: VRRP instance \"%s\" is %s here now.", instance, ha_role_to_string(role));
        }

        /* With every instance stopped the node keeps its last role: keepalived is going away. */
        if (m->n_ha_instances > 0)
                m->ha_role = ha_role_summary(m);

        bus_emit_ha_changed(m);
        return manager_ha_refresh(m);
}

static int read_proc_u64(const char *path, uint64_t *ret) {
        char line[64];
        unsigned long long v;
        int r;

        r = read_one_line(path, line, sizeof(line));
        if (r < 0)
                return r;
        if (sscanf(line, "%llu", &v) != 1)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* Every CONNTRACK_CHECK_USEC: is the conntrack table of our namespace nearly full? */
static int on_conntrack_check(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        uint64_t count, max;

        (void) sd_event_source_set_time(s, usec + CONNTRACK_CHECK_USEC);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);

        /* No conntrack (module not loaded yet) or no limit: nothing to say. */
        if (read_proc_u64("/proc/sys/net/netfilter/nf_conntrack_count", &count) < 0 ||
            read_proc_u64("/proc/sys/net/netfilter/nf_conntrack_max", &max) < 0 || max == 0)
                return 0;

        if (!m->conntrack_full && count * 100 >= max * CONNTRACK_FULL_PERCENT) {
                m->conntrack_full = true;
                m->conntrack_full_events++;
                log_warning("conntrack table nearly full (%llu/%llu), new flows may be dropped",
                            (unsigned long long) count, (unsigned long long) max);
        } else if (m->conntrack_full && count * 100 < max * CONNTRACK_CLEAR_PERCENT) {
                m->conntrack_full = false;
                log_notice("conntrack table below %llu%% again (%llu/%llu).", CONNTRACK_CLEAR_PERCENT,
                           (unsigned long long) count, (unsigned long long) max);
        } else
                return 0;

        if (m->state == MANAGER_RUNNING || m->state == MANAGER_DEGRADED)
                manager_update_state(m, m->config, m->sync_failed ? -EIO : 0);
        return 0;
}

static int manager_start_monitors(Manager *m) {
        int r;

        r = netlink_monitor_new(&m->link_monitor);
        if (r < 0)
                return log_error_errno(r, "Failed to open link monitor: %m");
        netlink_monitor_set_addr_cb(m->link_monitor, on_address_changed);
        r = sd_event_add_io(m->event, &m->link_monitor_source, netlink_monitor_fd(m->link_monitor),
                            EPOLLIN, on_link_event, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch link monitor: %m");

        r = nft_monitor_new(&m->nft_monitor);
        if (r < 0)
                return log_error_errno(r, "Failed to open nftables monitor: %m");
        r = sd_event_add_io(m->event, &m->nft_monitor_source, nft_monitor_fd(m->nft_monitor),
                            EPOLLIN, on_nft_event, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch nftables monitor: %m");

        r = sd_event_add_time_relative(m->event, &m->conntrack_check_source, CLOCK_MONOTONIC,
                                       CONNTRACK_CHECK_USEC, 0, on_conntrack_check, m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the conntrack table check: %m");

        /* Always: a reload may add [HA]. */
        r = sd_event_add_time_relative(m->event, &m->ha_bulk_source, CLOCK_MONOTONIC,
                                       HA_BULK_SYNC_USEC, 0, on_ha_bulk, m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the HA bulk sync timer: %m");
        return 0;
}

/*
 * An HA node takes over flows whose TCP state it tracked only until the
 * other node carried them (split brain, a failback, conntrackd's updates
 * going to the external cache): with window tracking, their next segments
 * are out of window, conntrack calls them invalid, NAT66 passes them by and
 * the flow dies. conntrackd's committed entries are liberal already
 * (TCPWindowTracking Off); this makes our own ones so too. The table's
 * module is loaded by then (our nat chains), so the sysctl exists.
 */
static int manager_ha_sysctls(Manager *m, const Config *c) {
        if (!c->ha_conntrackd_socket)
                return 0;
        return manager_tcp_liberal_ensure(m);
}

int manager_start(Manager *m) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = netlink_open(&m->netlink);
        if (r < 0)
                return log_error_errno(r, "Failed to open rtnetlink: %m");

        /* NAT66 needs conntrack, which our table would load moments later;
         * the fast path needs it now, its kfuncs being in the module's BTF. */
        r = conntrack_load();
        if (r < 0)
                log_warning_errno(r, "Failed to have the kernel load nf_conntrack, the fast path may not be available: %m");

        r = translator_new(&m->translator);
        if (r < 0)
                return log_error_errno(r, "Failed to load the BPF translator: %m");

        /* Before the first packet or D-Bus call is looked at. */
        r = capability_drop_load_only();
        if (r < 0)
                return log_error_errno(r, "Failed to give up the capabilities needed only for loading: %m");

        r = mroute_new(m->event, translator_mcast_rx_fd(m->translator), &m->mroute);
        if (r < 0)
                return log_error_errno(r, "Failed to set up multicast routing: %m");

        /* Monitors before the first sync, so no event between the two is lost. */
        r = manager_start_monitors(m);
        if (r < 0)
                return r;

        /* A killed instance may have left its routes: they carry our protocol
         * number, so they are ours. Its table, filters and link are replaced
         * or adopted by the sync below. */
        r = netlink_routes_flush_ours(m->netlink);
        if (r < 0)
                log_warning_errno(r, "Failed to remove routes left by an earlier instance, ignoring: %m");

        /* The kernel forwards IPv6 between the LAN and the translator link. */
        r = sysctl_ensure("ipv6/conf/all/forwarding", "1");
        if (r < 0)
                return r;

        warn_port_range_overlap(m->config);

        r = manager_nft_render(m, m->config, &text);
        if (r < 0)
                return r;

        r = manager_sync(m, m->config, text);
        if (r < 0)
                return r;

        r = manager_ha_sysctls(m, m->config);
        if (r < 0)
                return r;

        log_info("Started, state %s.", manager_state_to_string(m->state));
        return 0;
}

void manager_stop(Manager *m) {
        int r;

        if (m->state == MANAGER_STOPPING)
                return;
        manager_set_state(m, MANAGER_STOPPING);
        (void) sd_notify(false, "STOPPING=1");

        /* First, or our own clean-up would be "repaired". */
        manager_stop_monitors(m);

        /* IGMP memberships, MFC6 entries, our rule; the routing socket last. */
        if (m->mroute)
                mroute_stop(m->mroute);

        if (m->translator) {
                const int ifindexes[] = {
                        m->wan.attached_ifindex,
                        m->nat46.attached_ifindex,
                        m->lan.attached_ifindex,
                        m->translator_attached_ifindex,
                };

                for (size_t i = 0; i < ELEMENTSOF(ifindexes); i++) {
                        if (ifindexes[i] <= 0)
                                continue;
                        r = translator_detach(m->translator, ifindexes[i]);
                        if (r < 0)
                                log_debug_errno(r, "Failed to detach translator from ifindex %d, ignoring: %m",
                                                ifindexes[i]);
                }
                m->wan.attached_ifindex = m->nat46.attached_ifindex = m->translator_attached_ifindex = 0;
                m->lan.attached_ifindex = 0;
        }

        manager_tcp_liberal_restore(m);

        if (m->netlink) {
                r = netlink_routes_flush_ours(m->netlink);
                if (r < 0)
                        log_warning_errno(r, "Failed to remove our routes, ignoring: %m");
                m->n_routes = 0;

                r = netlink_translator_link_delete(m->netlink);
                if (r < 0 && r != -ENODEV)
                        log_warning_errno(r, "Failed to delete translator link " TRANSLATOR_LINK ", ignoring: %m");
                m->translator_ifindex = 0;
        }

        r = nft_remove();
        if (r < 0)
                log_warning_errno(r, "Failed to remove nftables tables " NFT_TABLE_NAME ", ignoring: %m");

        log_info("Stopped, everything we added is removed.");
}

int manager_reload(Manager *m, const char **ret_error) {
        _cleanup_(config_freep) Config *new = NULL;
        _cleanup_free_ char *text = NULL;
        const char *error = NULL;
        int r;

        (void) sd_notify(false, "RELOADING=1\nSTATUS=Reloading configuration...");
        log_info("Reloading configuration \"%s\".", m->config_path);

        r = config_load(m->config_path, &new);
        if (r < 0) {
                log_error_errno(r, "Configuration \"%s\" is invalid, keeping the running one: %m", m->config_path);
                error = "The configuration files are invalid (the daemon's log names file, line and key); nothing was changed.";
                goto finish;
        }

        r = manager_nft_render(m, new, &text);
        if (r < 0) {
                error = "Rendering the nftables table failed; nothing was changed.";
                goto finish;
        }

        r = manager_sync(m, new, text);
        if (r < 0) {
                _cleanup_free_ char *old_text = NULL;

                log_warning("Going back to the running configuration.");
                if (manager_nft_render(m, m->config, &old_text) >= 0)
                        (void) manager_sync(m, m->config, old_text);
                error = "Applying the new configuration failed (see the daemon's log); the previous one is in force.";
                goto finish;
        }

        /* Static maps added over D-Bus are runtime-only: the files' maps replace them. */
        config_free(m->config);
        m->config = TAKE_PTR(new);
        (void) manager_ha_sysctls(m, m->config);
        warn_port_range_overlap(m->config);
        log_info("Configuration reloaded.");
        bus_emit_config_changed(m);

finish:
        (void) sd_notify(false, "READY=1");
        manager_notify_status(m);
        if (r < 0 && ret_error)
                *ret_error = error;
        return r;
}

/* Applies c's table with a different multicast map list; on success c takes the list. */
static int manager_apply_static_maps(Manager *m, MulticastMap *maps, size_t n_maps) {
        _cleanup_free_ char *text = NULL;
        Config candidate = *m->config;
        int r;

        candidate.multicast_maps = maps;
        candidate.n_multicast_maps = n_maps;

        r = manager_nft_render(m, &candidate, &text);
        if (r < 0)
                return r;
        r = manager_mroute_sync(m, &candidate);
        if (r < 0) {
                (void) manager_mroute_sync(m, m->config);
                return r;
        }
        r = manager_nft_apply(text);
        if (r < 0) {
                (void) manager_mroute_sync(m, m->config);
                return r;
        }

        free(m->config->multicast_maps);
        m->config->multicast_maps = maps;
        m->config->n_multicast_maps = n_maps;
        bus_emit_static_maps_changed(m);
        return 0;
}

int manager_add_static_map(Manager *m, const MulticastMap *map, const char **ret_error) {
        Config *c = m->config;
        MulticastMap *maps;
        char g6[INET6_ADDRSTRLEN], g4[INET_ADDRSTRLEN];
        int r;

        if (c->n_multicast_maps >= CONFIG_MAX_MULTICAST_MAPS) {
                *ret_error = "Too many static maps.";
                return -E2BIG;
        }

        r = multicast_map_validate(c, map, SIZE_MAX, ret_error);
        if (r < 0)
                return r;

        maps = calloc(c->n_multicast_maps + 1, sizeof(*maps));
        if (!maps)
                return -ENOMEM;
        memcpy(maps, c->multicast_maps, c->n_multicast_maps * sizeof(*maps));
        maps[c->n_multicast_maps] = *map;

        r = manager_apply_static_maps(m, maps, c->n_multicast_maps + 1);
        if (r < 0) {
                free(maps);
                *ret_error = "Applying the nftables table failed; nothing was changed.";
                return r;
        }

        log_info("Static map %s -> %s added (runtime only).",
                 inet_ntop(AF_INET6, &map->group6, g6, sizeof(g6)),
                 inet_ntop(AF_INET, &map->group4, g4, sizeof(g4)));
        return 0;
}

int manager_remove_static_map(Manager *m, const struct in6_addr *group6) {
        Config *c = m->config;
        MulticastMap *maps;
        char g6[INET6_ADDRSTRLEN];
        size_t n = 0;
        int r;

        maps = calloc(c->n_multicast_maps ?: 1, sizeof(*maps));
        if (!maps)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_multicast_maps; i++)
                if (memcmp(&c->multicast_maps[i].group6, group6, sizeof(*group6)) != 0)
                        maps[n++] = c->multicast_maps[i];

        if (n == c->n_multicast_maps) {
                free(maps);
                return -ENOENT;
        }

        r = manager_apply_static_maps(m, maps, n);
        if (r < 0) {
                free(maps);
                return r;
        }

        log_info("Static map for %s removed (runtime only).", inet_ntop(AF_INET6, group6, g6, sizeof(g6)));
        return 0;
}

int manager_read_counters(Manager *m, uint64_t ret[_NAT64_CNT_MAX]) {
        if (!m->translator)
                return -EAGAIN;
        return translator_read_counters(m->translator, ret);
}
