/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * modules-tool: gatewayd/netlink.c and gatewayd/nft.c one call at a time,
 * the driver of tests/unit/test_modules.py. Run it inside a network
 * namespace of its own (ip netns exec): it changes links, routes and the
 * nftables ruleset of the namespace it runs in.
 *
 *   link-ensure MTU                    prints the ifindex of nat64tr0
 *   link-delete
 *   link-info IFNAME                   prints "ifindex N mtu M mac XX:..:XX"
 *   link-monitor IFNAME TIMEOUT_MS     prints "ready", then "new|del IFNAME up|down"
 *                                      per event for IFNAME until it is deleted (exit 0),
 *                                      or times out (exit 1)
 *   route-add PREFIX/LEN IFNAME
 *   route-del PREFIX/LEN IFNAME
 *   routes-flush
 *   nft-render CONF TEMPLATE           prints the table
 *   nft-apply CONF TEMPLATE            nft's error text on stderr if it fails
 *   nft-remove
 *   nft-exists                         prints "yes" or "no"
 *   nft-monitor-once TIMEOUT_MS        prints "ready", then "table-deleted" once
 *                                      our table is deleted (exit 0), or times out (exit 1)
 *
 * Exit 0 on success, 1 on failure (the error on stderr), 2 on bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "log.h"
#include "macro.h"
#include "netlink.h"
#include "nft.h"

static void netlink_closep(Netlink **nl) {
        netlink_close(*nl);
}

static void nft_monitor_freep(NftMonitor **m) {
        nft_monitor_free(*m);
}

static void netlink_monitor_freep(NetlinkMonitor **m) {
        netlink_monitor_free(*m);
}

static int parse_number(const char *s, unsigned long max, unsigned long *ret) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd to become readable until deadline; 0 on timeout. */
static int wait_readable(int fd, int64_t deadline) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int64_t left = deadline - now_ms();
        int r;

        if (left <= 0)
                return 0;
        r = poll(&p, 1, (int) left);
        if (r < 0)
                return errno == EINTR ? 1 : negative_errno();
        return r;
}

static void say_ready(void) {
        /* The test starts its action only after this line. */
        printf("ready\n");
        fflush(stdout);
}

static int do_link_ensure(Netlink *nl, char **args) {
        unsigned long mtu;
        int ifindex, r;

        if (parse_number(args[0], UINT32_MAX, &mtu) < 0)
                return log_error_errno(-EINVAL, "Invalid MTU \"%s\".", args[0]);

        r = netlink_translator_link_ensure(nl, (uint32_t) mtu, &ifindex);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the translator link: %m");

        printf("%d\n", ifindex);
        return 0;
}

static int do_link_delete(Netlink *nl, char **args) {
        int r;

        r = netlink_translator_link_delete(nl);
        if (r < 0)
                return log_error_errno(r, "Failed to delete the translator link: %m");
        return 0;
}

static int do_link_info(Netlink *nl, char **args) {
        uint8_t mac[6];
        uint32_t mtu;
        int ifindex, r;

        ifindex = netlink_link_ifindex(nl, args[0]);
        if (ifindex < 0)
                return log_error_errno(ifindex, "Failed to look up \"%s\": %m", args[0]);
        r = netlink_link_mtu(nl, ifindex, &mtu);
        if (r < 0)
                return log_error_errno(r, "Failed to read MTU of \"%s\": %m", args[0]);
        r = netlink_link_mac(nl, ifindex, mac);
        if (r < 0)
                return log_error_errno(r, "Failed to read MAC of \"%s\": %m", args[0]);

        printf("ifindex %d mtu %u mac %02x:%02x:%02x:%02x:%02x:%02x\n", ifindex, mtu,
               mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
        return 0;
}

static int route_args(Netlink *nl, char **args, Prefix6 *ret_prefix, int *ret_ifindex) {
        int ifindex;

        if (parse_prefix6(args[0], ret_prefix) < 0)
                return log_error_errno(-EINVAL, "Invalid prefix \"%s\".", args[0]);

        ifindex = netlink_link_ifindex(nl, args[1]);
        if (ifindex < 0)
                return log_error_errno(ifindex, "Failed to look up \"%s\": %m", args[1]);

        *ret_ifindex = ifindex;
        return 0;
}

static int do_route_add(Netlink *nl, char **args) {
        Prefix6 p;
        int ifindex, r;

        r = route_args(nl, args, &p, &ifindex);
        if (r < 0)
                return r;

        r = netlink_route6_add(nl, &p.addr, p.len, ifindex);
        if (r < 0)
                return log_error_errno(r, "Failed to add route %s: %m", args[0]);
        return 0;
}

static int do_route_del(Netlink *nl, char **args) {
        Prefix6 p;
        int ifindex, r;

        r = route_args(nl, args, &p, &ifindex);
        if (r < 0)
                return r;

        r = netlink_route6_del(nl, &p.addr, p.len, ifindex);
        if (r < 0)
                return log_error_errno(r, "Failed to delete route %s: %m", args[0]);
        return 0;
}

static int do_routes_flush(Netlink *nl, char **args) {
        int r;

        r = netlink_routes_flush_ours(nl);
        if (r < 0)
                return log_error_errno(r, "Failed to flush our routes: %m");
        return 0;
}

typedef struct LinkWatch {
        const char *ifname;
        bool deleted;
} LinkWatch;

static void on_link(const char *ifname, int ifindex, bool exists, bool up, const uint8_t *mac, void *userdata) {
        LinkWatch *w = userdata;

        if (!streq(ifname, w->ifname))
                return;
        printf("%s %s %s\n", exists ? "new" : "del", ifname, up ? "up" : "down");
        fflush(stdout);
        if (!exists)
                w->deleted = true;
}

static int do_link_monitor(Netlink *nl, char **args) {
        _cleanup_(netlink_monitor_freep) NetlinkMonitor *m = NULL;
        LinkWatch w = { .ifname = args[0] };
        unsigned long timeout;
        int64_t deadline;
        int r;

        if (parse_number(args[1], 600000, &timeout) < 0)
                return log_error_errno(-EINVAL, "Invalid timeout \"%s\".", args[1]);

        r = netlink_monitor_new(&m);
        if (r < 0)
                return log_error_errno(r, "Failed to open the link monitor: %m");
        say_ready();

        deadline = now_ms() + (int64_t) timeout;
        while (!w.deleted) {
                r = wait_readable(netlink_monitor_fd(m), deadline);
                if (r < 0)
                        return log_error_errno(r, "Failed to wait for link events: %m");
                if (r == 0)
                        return log_error_errno(-ETIMEDOUT, "\"%s\" was not deleted: %m", w.ifname);

                r = netlink_monitor_process(m, on_link, &w);
                if (r < 0)
                        return log_error_errno(r, "Failed to read link events: %m");
        }
        return 0;
}

static int config_args(char **args, Config **ret_config, char **ret_text) {
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        r = config_load(args[0], &c);
        if (r < 0)
                return log_error_errno(r, "Failed to load \"%s\": %m", args[0]);

        r = nft_render(c, args[1], ret_text);
        if (r < 0)
                return log_error_errno(r, "Failed to render \"%s\": %m", args[1]);

        *ret_config = TAKE_PTR(c);
        return 0;
}

static int do_nft_render(Netlink *nl, char **args) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *text = NULL;
        int r;

        r = config_args(args, &c, &text);
        if (r < 0)
                return r;

        fputs(text, stdout);
        return 0;
}

static int do_nft_apply(Netlink *nl, char **args) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *text = NULL, *error = NULL;
        int r;

        r = config_args(args, &c, &text);
        if (r < 0)
                return r;

        r = nft_apply_full(text, &error);
        if (r < 0) {
                fputs(error ?: "", stderr);
                return log_error_errno(r, "Failed to apply the table: %m");
        }
        return 0;
}

static int do_nft_remove(Netlink *nl, char **args) {
        int r;

        r = nft_remove();
        if (r < 0)
                return log_error_errno(r, "Failed to remove the table: %m");
        return 0;
}

static int do_nft_exists(Netlink *nl, char **args) {
        int r;

        r = nft_table_exists(NFPROTO_IPV6);
        if (r < 0)
                return log_error_errno(r, "Failed to look for the table: %m");

        printf("%s\n", r > 0 ? "yes" : "no");
        return 0;
}

static int do_nft_monitor_once(Netlink *nl, char **args) {
        _cleanup_(nft_monitor_freep) NftMonitor *m = NULL;
        unsigned long timeout;
        int64_t deadline;
        int r;

        if (parse_number(args[0], 600000, &timeout) < 0)
                return log_error_errno(-EINVAL, "Invalid timeout \"%s\".", args[0]);

        r = nft_monitor_new(&m);
        if (r < 0)
                return log_error_errno(r, "Failed to open the nftables monitor: %m");
        say_ready();

        deadline = now_ms() + (int64_t) timeout;
        for (;;) {
                r = wait_readable(nft_monitor_fd(m), deadline);
                if (r < 0)
                        return log_error_errno(r, "Failed to wait for nftables events: %m");
                if (r == 0)
                        return log_error_errno(-ETIMEDOUT, "Our table was not deleted: %m");

                r = nft_monitor_process(m);
                if (r < 0)
                        return log_error_errno(r, "Failed to read nftables events: %m");
                if (r > 0)
                        break;
        }

        printf("table-deleted\n");
        return 0;
}

static const struct {
        const char *name;
        int n_args;
        bool needs_netlink;
        int (*run)(Netlink *nl, char **args);
} commands[] = {
        { "link-ensure",      1, true,  do_link_ensure      },
        { "link-delete",      0, true,  do_link_delete      },
        { "link-info",        1, true,  do_link_info        },
        { "link-monitor",     2, false, do_link_monitor     },
        { "route-add",        2, true,  do_route_add        },
        { "route-del",        2, true,  do_route_del        },
        { "routes-flush",     0, true,  do_routes_flush     },
        { "nft-render",       2, false, do_nft_render       },
        { "nft-apply",        2, false, do_nft_apply        },
        { "nft-remove",       0, false, do_nft_remove       },
        { "nft-exists",       0, false, do_nft_exists       },
        { "nft-monitor-once", 1, false, do_nft_monitor_once },
};

int main(int argc, char *argv[]) {
        _cleanup_(netlink_closep) Netlink *nl = NULL;
        const char *level = getenv("NAT64_LOG_LEVEL");
        int r;

        if (level && streq(level, "debug"))
                log_max_level = LOG_DEBUG;

        for (size_t i = 0; argc >= 2 && i < ELEMENTSOF(commands); i++) {
                if (!streq(argv[1], commands[i].name))
                        continue;
                if (argc - 2 != commands[i].n_args)
                        break;

                if (commands[i].needs_netlink) {
                        r = netlink_open(&nl);
                        if (r < 0) {
                                log_error_errno(r, "Failed to open rtnetlink: %m");
                                return EXIT_FAILURE;
                        }
                }

                r = commands[i].run(nl, argv + 2);
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        }

        fprintf(stderr, "Usage: %s COMMAND [ARGS...] (see the top of modules-tool.c)\n", argv[0]);
        return 2;
}
