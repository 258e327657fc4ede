/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nat64-xlat-run: feed frames to the loaded translator with
 * BPF_PROG_TEST_RUN, for packet tests, Jool's conformance vectors and the
 * fuzzer. The translator is configured from the command line; frames come
 * on stdin, one per line:
 *
 *     6to4|4to6|fastpath MARK HEX-ETHERNET-FRAME
 *
 * and each answer is one line: "RETVAL HEX-OUTPUT-FRAME" (TC_ACT_SHOT
 * prints "2 -"). With --counters, the counters are printed at the end as
 * "name value" lines after a line "counters".
 *
 * "fastpath" runs the fast path's LAN program (xlat_fastpath, bpf/lib/
 * fastpath.h), which needs --fastpath-client and looks up conntrack of the
 * namespace the tool runs in (tests/fuzz/fuzz_fastpath.py runs it in the
 * gateway's). --counter-changes appends to each answer the counters that
 * run moved, "name+N,name+N" or "-".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "conf.h"
#include "log.h"
#include "translator.h"

#define MAX_FRAME 65536
#define MAX_EAMS 64
#define MAX_MCAST_RX 16
#define MAX_FASTPATH_CLIENTS 16

static int parse_mtu(const char *s, uint32_t *ret) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || *end || v > 65535)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_eam(const char *v6s, const char *v4s, struct nat64_eam *ret) {
        Prefix6 p6;
        Prefix4 p4;

        if (parse_prefix6(v6s, &p6) < 0 || parse_prefix4(v4s, &p4) < 0 || 128 - p6.len < 32 - p4.len)
                return -EINVAL;
        *ret = (struct nat64_eam) { .v4 = p4.addr.s_addr, .v6_len = p6.len, .v4_len = p4.len };
        memcpy(ret->v6, &p6.addr, 16);
        return 0;
}

static int hex_to_bytes(const char *hex, uint8_t *out, size_t max, size_t *ret_len) {
        size_t n = strlen(hex);

        if (n % 2 || n / 2 > max)
                return -EINVAL;
        for (size_t i = 0; i < n / 2; i++) {
                unsigned v;

                if (sscanf(hex + 2 * i, "%2x", &v) != 1)
                        return -EINVAL;
                out[i] = v;
        }
        *ret_len = n / 2;
        return 0;
}

/* "name+N,..." of the counters that moved since *last (updated), or "-". */
static int print_counter_changes(Translator *t, uint64_t last[static _NAT64_CNT_MAX]) {
        uint64_t now[_NAT64_CNT_MAX];
        bool any = false;
        int r;

        r = translator_read_counters(t, now);
        if (r < 0)
                return r;
        for (int i = 0; i < _NAT64_CNT_MAX; i++)
                if (now[i] != last[i]) {
                        printf("%s%s+%llu", any ? "," : " ", nat64_counter_to_string(i),
                               (unsigned long long) (now[i] - last[i]));
                        any = true;
                }
        if (!any)
                printf(" -");
        memcpy(last, now, sizeof(now));
        return 0;
}

static void bpf_object_closep(struct bpf_object **o) {
        bpf_object__close(*o);  /* NULL-safe */
}

static void help(void) {
        printf("nat64-xlat-run [OPTIONS] < frames\n"
               "  --prefix P/LEN       RFC 6052 prefix (repeatable; none: 64:ff9b:1:fffe::/96)\n"
               "  --no-prefix          translate by EAM only\n"
               "  --eam V6/L,V4/L      explicit address mapping (repeatable)\n"
               "  --pool4 A            IPv4Address (repeatable)\n"
               "  --port-range A-B     PortRange\n"
               "  --self-v4 A --self-v6 A   sources of generated ICMP errors\n"
               "  --rfc6791-v4 A --rfc6791-v6 A\n"
               "  --lowest-ipv6-mtu N --mtu-v6 N --mtu-v4 N\n"
               "  --router-mode        decrement TTL / hop limit\n"
               "  --redirect           gateway mode: FIB lookup and redirect (as nat64-gatewayd)\n"
               "  --baseline OBJ       time OBJ's first program on every frame instead\n"
               "  --udp-zero-drop      drop IPv4 UDP with checksum 0\n"
               "  --counters           print counters at the end\n"
               "  --mcast-rx G4,G6     reverse multicast map IPv4 group -> IPv6 group (repeatable)\n"
               "  --wan-ifindex N      the WAN's ifindex (reverse multicast arrives there)\n"
               "  --translator-ifindex N  the translator link's ifindex (the fast path checks its MTU)\n"
               "  --fastpath-client P/LEN  FastPath=yes with this client prefix (repeatable)\n"
               "  --fastpath-uncached  the fast path keeps no flow: conntrack and the FIB every packet\n"
               "  --counter-changes    each answer ends with the counters its run moved\n");
}

int main(int argc, char *argv[]) {
        enum {
                ARG_PREFIX = 0x100, ARG_NO_PREFIX, ARG_EAM, ARG_POOL4, ARG_PORT_RANGE, ARG_SELF4, ARG_SELF6,
                ARG_6791_4, ARG_6791_6, ARG_LOWEST, ARG_MTU6, ARG_MTU4, ARG_ROUTER, ARG_UDP0, ARG_COUNTERS,
                ARG_REDIRECT, ARG_BASELINE, ARG_MCAST_RX, ARG_WAN_IFINDEX, ARG_FASTPATH_CLIENT,
                ARG_COUNTER_CHANGES, ARG_TRANSLATOR_IFINDEX, ARG_FASTPATH_UNCACHED,
        };
        static const struct option options[] = {
                { "help",            no_argument,       NULL, 'h' },
                { "prefix",          required_argument, NULL, ARG_PREFIX },
                { "no-prefix",       no_argument,       NULL, ARG_NO_PREFIX },
                { "eam",             required_argument, NULL, ARG_EAM },
                { "pool4",           required_argument, NULL, ARG_POOL4 },
                { "port-range",      required_argument, NULL, ARG_PORT_RANGE },
                { "self-v4",         required_argument, NULL, ARG_SELF4 },
                { "self-v6",         required_argument, NULL, ARG_SELF6 },
                { "rfc6791-v4",      required_argument, NULL, ARG_6791_4 },
                { "rfc6791-v6",      required_argument, NULL, ARG_6791_6 },
                { "lowest-ipv6-mtu", required_argument, NULL, ARG_LOWEST },
                { "mtu-v6",          required_argument, NULL, ARG_MTU6 },
                { "mtu-v4",          required_argument, NULL, ARG_MTU4 },
                { "router-mode",     no_argument,       NULL, ARG_ROUTER },
                { "udp-zero-drop",   no_argument,       NULL, ARG_UDP0 },
                { "counters",        no_argument,       NULL, ARG_COUNTERS },
                { "redirect",        no_argument,       NULL, ARG_REDIRECT },
                { "baseline",        required_argument, NULL, ARG_BASELINE },
                { "mcast-rx",        required_argument, NULL, ARG_MCAST_RX },
                { "wan-ifindex",     required_argument, NULL, ARG_WAN_IFINDEX },
                { "fastpath-client", required_argument, NULL, ARG_FASTPATH_CLIENT },
                { "counter-changes", no_argument,       NULL, ARG_COUNTER_CHANGES },
                { "translator-ifindex", required_argument, NULL, ARG_TRANSLATOR_IFINDEX },
                { "fastpath-uncached", no_argument,     NULL, ARG_FASTPATH_UNCACHED },
                {}
        };
        _cleanup_(translator_freep) Translator *t = NULL;
        static struct nat64_eam eams[MAX_EAMS];
        static struct nat64_lpm6_key clients[MAX_FASTPATH_CLIENTS];
        TranslatorSettings s = { .eams = eams, .fastpath_clients = clients };
        struct nat64_config *cfg = &s.cfg;
        static uint8_t in[MAX_FRAME], out[MAX_FRAME];
        static char line[2 * MAX_FRAME + 64];
        _cleanup_(bpf_object_closep) struct bpf_object *baseline = NULL;
        const char *baseline_path = NULL;
        bool print_counters = false, counter_changes = false;
        uint64_t last_counters[_NAT64_CNT_MAX] = {};
        struct { struct in_addr g4; struct in6_addr g6; } mcast_rx[MAX_MCAST_RX];
        size_t n_mcast_rx = 0;
        int c, r, baseline_fd = -1, fastpath_fd = -1;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                struct in6_addr a6;
                struct in_addr a4;
                Prefix6 p6;
                char *comma;
                unsigned lo, hi;

                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_PREFIX:
                        if (cfg->nr_prefixes >= NAT64_MAX_PREFIXES || parse_prefix6(optarg, &p6) < 0)
                                goto bad;
                        memcpy(cfg->prefixes[cfg->nr_prefixes].addr, &p6.addr, 16);
                        cfg->prefixes[cfg->nr_prefixes++].len = p6.len;
                        break;
                case ARG_NO_PREFIX:
                        cfg->flags |= NAT64_F_NO_PREFIX;
                        break;
                case ARG_EAM:
                        comma = strchr(optarg, ',');
                        if (!comma || s.n_eams >= MAX_EAMS)
                                goto bad;
                        *comma = 0;
                        if (parse_eam(optarg, comma + 1, &eams[s.n_eams++]) < 0)
                                goto bad;
                        break;
                case ARG_POOL4:
                        if (cfg->nr_pool4 >= NAT64_MAX_POOL4 || parse_in4(optarg, &a4) < 0)
                                goto bad;
                        cfg->pool4[cfg->nr_pool4++] = a4.s_addr;
                        break;
                case ARG_PORT_RANGE:
                        if (sscanf(optarg, "%u-%u", &lo, &hi) != 2 || lo > hi || hi > 65535)
                                goto bad;
                        cfg->flags |= NAT64_F_PORT_RANGE;
                        cfg->port_min = lo;
                        cfg->port_max = hi;
                        break;
                case ARG_SELF4:
                        if (parse_in4(optarg, &a4) < 0)
                                goto bad;
                        cfg->self_v4 = a4.s_addr;
                        break;
                case ARG_SELF6:
                        if (parse_in6(optarg, &a6) < 0)
                                goto bad;
                        memcpy(cfg->self_v6, &a6, 16);
                        break;
                case ARG_6791_4:
                        if (parse_in4(optarg, &a4) < 0)
                                goto bad;
                        cfg->rfc6791_v4 = a4.s_addr;
                        cfg->flags |= NAT64_F_HAVE_RFC6791_V4;
                        break;
                case ARG_6791_6:
                        if (parse_in6(optarg, &a6) < 0)
                                goto bad;
                        memcpy(cfg->rfc6791_v6, &a6, 16);
                        cfg->flags |= NAT64_F_HAVE_RFC6791_V6;
                        break;
                case ARG_LOWEST:
                        if (parse_mtu(optarg, &cfg->lowest_ipv6_mtu) < 0)
                                goto bad;
                        break;
                case ARG_MTU6:
                        if (parse_mtu(optarg, &cfg->mtu_v6) < 0)
                                goto bad;
                        break;
                case ARG_MTU4:
                        if (parse_mtu(optarg, &cfg->mtu_v4) < 0)
                                goto bad;
                        break;
                case ARG_ROUTER:
                        cfg->flags |= NAT64_F_ROUTER_MODE;
                        break;
                case ARG_UDP0:
                        cfg->flags |= NAT64_F_UDP_ZERO_DROP;
                        break;
                case ARG_COUNTERS:
                        print_counters = true;
                        break;
                case ARG_REDIRECT:
                        cfg->flags |= NAT64_F_REDIRECT;
                        break;
                case ARG_BASELINE:
                        baseline_path = optarg;
                        break;
                case ARG_MCAST_RX:
                        comma = strchr(optarg, ',');
                        if (!comma || n_mcast_rx >= MAX_MCAST_RX)
                                goto bad;
                        *comma = 0;
                        if (parse_in4(optarg, &mcast_rx[n_mcast_rx].g4) < 0 ||
                            parse_in6(comma + 1, &mcast_rx[n_mcast_rx].g6) < 0)
                                goto bad;
                        n_mcast_rx++;
                        cfg->flags |= NAT64_F_MCAST_RX;
                        break;
                case ARG_WAN_IFINDEX:
                        if (parse_mtu(optarg, &cfg->wan_ifindex) < 0)
                                goto bad;
                        break;
                case ARG_TRANSLATOR_IFINDEX:
                        if (parse_mtu(optarg, &cfg->v6_ifindex) < 0)
                                goto bad;
                        break;
                case ARG_FASTPATH_CLIENT:
                        if (s.n_fastpath_clients >= MAX_FASTPATH_CLIENTS || parse_prefix6(optarg, &p6) < 0)
                                goto bad;
                        clients[s.n_fastpath_clients].prefixlen = p6.len;
                        memcpy(clients[s.n_fastpath_clients++].addr, &p6.addr, 16);
                        cfg->flags |= NAT64_F_FASTPATH;
                        break;
                case ARG_COUNTER_CHANGES:
                        counter_changes = true;
                        break;
                case ARG_FASTPATH_UNCACHED:
                        cfg->flags |= NAT64_F_FASTPATH_UNCACHED;
                        break;
                default:
                        return 2;
                }
                continue;
        bad:
                log_error("Invalid option argument \"%s\".", optarg);
                return 2;
        }

        r = translator_new(&t);
        if (r < 0) {
                log_error_errno(r, "Failed to load the translator: %m");
                return 1;
        }
        r = translator_apply(t, &s);
        if (r < 0) {
                log_error_errno(r, "Failed to configure the translator: %m");
                return 1;
        }

        if (s.n_fastpath_clients > 0) {
                if (!translator_has_fastpath(t)) {
                        log_error("The fast path is not available here (conntrack's kfuncs).");
                        return 77;      /* meson's "skipped" */
                }
                fastpath_fd = translator_prog_fd_fastpath(t);
                if (fastpath_fd < 0) {
                        log_error_errno(fastpath_fd, "Failed to find the fast path's program: %m");
                        return 1;
                }
        }
        if (counter_changes) {
                r = translator_read_counters(t, last_counters);
                if (r < 0)
                        return 1;
        }

        for (size_t i = 0; i < n_mcast_rx; i++) {
                r = bpf_map_update_elem(translator_mcast_rx_fd(t), &mcast_rx[i].g4, &mcast_rx[i].g6, BPF_ANY);
                if (r < 0) {
                        log_error_errno(r, "Failed to fill the reverse multicast map: %m");
                        return 1;
                }
        }

        /* bench/translator-cost: the same test run with an empty program,
         * to tell the translator's own cost from the test run's. */
        if (baseline_path) {
                baseline = bpf_object__open_file(baseline_path, NULL);
                if (!baseline || bpf_object__load(baseline) < 0) {
                        log_error("Failed to load %s.", baseline_path);
                        return 1;
                }
                baseline_fd = bpf_program__fd(bpf_object__next_program(baseline, NULL));
        }

        while (fgets(line, sizeof(line), stdin)) {
                char dir[16], hex[2 * MAX_FRAME + 1];
                unsigned mark;
                size_t len;
                struct __sk_buff ctx = {};
                DECLARE_LIBBPF_OPTS(bpf_test_run_opts, opts,
                                    .data_in = in, .data_out = out, .data_size_out = sizeof(out),
                                    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
                                    .repeat = 1);

                if (sscanf(line, "%15s %x %131072s", dir, &mark, hex) != 3 ||
                    hex_to_bytes(hex, in, sizeof(in), &len) < 0) {
                        printf("error -\n");
                        fflush(stdout);
                        continue;
                }
                opts.data_size_in = len;
                ctx.mark = mark;
                if (strcmp(dir, "fastpath") == 0 && fastpath_fd < 0) {
                        printf("error -\n");   /* without --fastpath-client */
                        fflush(stdout);
                        continue;
                }
                r = bpf_prog_test_run_opts(baseline_fd >= 0 ? baseline_fd :
                                           strcmp(dir, "fastpath") == 0 ? fastpath_fd :
                                           strcmp(dir, "6to4") == 0 ? translator_prog_fd_6to4(t)
                                                                    : translator_prog_fd_4to6(t), &opts);
                if (r < 0) {
                        printf("error -\n");
                } else if (getenv("NAT64_XLAT_RUN_TIMING")) {
                        /* ns of one run (repeat > 1 would re-run an already translated packet) */
                        printf("%u %u\n", opts.retval, opts.duration);
                } else {
                        printf("%u ", opts.retval);
                        if (opts.retval == 2 /* TC_ACT_SHOT */)
                                printf("-");
                        else
                                for (size_t i = 0; i < opts.data_size_out; i++)
                                        printf("%02x", out[i]);
                        if (counter_changes && print_counter_changes(t, last_counters) < 0)
                                return 1;
                        printf("\n");
                }
                fflush(stdout);
        }

        if (print_counters) {
                uint64_t cnt[_NAT64_CNT_MAX];

                r = translator_read_counters(t, cnt);
                if (r < 0)
                        return 1;
                printf("counters\n");
                for (int i = 0; i < _NAT64_CNT_MAX; i++)
                        printf("%s %llu\n", nat64_counter_to_string(i), (unsigned long long) cnt[i]);
        }
        return 0;
}
