/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nat64ctl: the operator's tool for nat64-gatewayd, over its D-Bus API
 * (org.nat64.Gateway1.xml), as resolvectl and networkctl are for their
 * daemons. check-config needs no daemon: it runs the daemon's own parser.
 * See nat64ctl(8).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <time.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "build-config.h"
#include "bus.h"
#include "conf.h"
#include "json.h"
#include "log.h"
#include "macro.h"
#include "rfc6052.h"
#include "statistics.h"
#include "translator.h"

/*
 * Exit statuses (nat64ctl(8)). Verbs return negative errno for "failed"
 * (EXIT_FAILURE: the bus, or the daemon said no) or one of these directly.
 */
#define EXIT_USAGE       2
#define EXIT_NOT_RUNNING 3      /* as LSB's "program is not running" */

static bool arg_json = false;
static bool arg_no_pager = false;
static const char *arg_address = NULL;

/* ---- small helpers ---- */

static char **strv_free(char **l) {
        if (l)
                for (char **s = l; *s; s++)
                        free(*s);
        free(l);
        return NULL;
}

static size_t strv_length(char **l) {
        size_t n = 0;

        for (; l && l[n]; n++)
                ;
        return n;
}

/* ---- pager: long outputs (thousands of maps) into less, as systemd's tools do ---- */

static pid_t pager_pid = 0;

static void pager_open(void) {
        const char *pager;
        int fd[2];
        pid_t pid;

        if (arg_no_pager || !isatty(STDOUT_FILENO))
                return;
        pager = getenv("NAT64CTL_PAGER") ?: getenv("PAGER");
        if (pager && (pager[0] == '\0' || streq(pager, "cat")))
                return;

        if (pipe(fd) < 0) {
                log_debug_errno(negative_errno(), "Failed to create pager pipe, ignoring: %m");
                return;
        }
        fflush(stdout);

        pid = fork();
        if (pid < 0) {
                log_debug_errno(negative_errno(), "Failed to fork pager, ignoring: %m");
                close(fd[0]);
                close(fd[1]);
                return;
        }
        if (pid == 0) {
                char buf[4096];
                ssize_t n;

                if (dup2(fd[0], STDIN_FILENO) < 0)
                        _exit(EXIT_FAILURE);
                close(fd[0]);
                close(fd[1]);
                /* Quit at once if the output fits one screen, pass control characters, quit on ^C. */
                setenv("LESS", "FRSXMK", false);
                if (pager)
                        execl("/bin/sh", "sh", "-c", pager, (char *) NULL);
                execlp("less", "less", (char *) NULL);
                execlp("more", "more", (char *) NULL);

                /* No pager installed: pass the output through rather than lose it. */
                while ((n = read(STDIN_FILENO, buf, sizeof(buf))) > 0)
                        if (write(STDOUT_FILENO, buf, (size_t) n) != n)
                                break;
                _exit(EXIT_SUCCESS);
        }

        if (dup2(fd[1], STDOUT_FILENO) < 0)
                log_debug_errno(negative_errno(), "Failed to redirect output to pager, ignoring: %m");
        close(fd[0]);
        close(fd[1]);
        pager_pid = pid;
}

static void pager_close(void) {
        if (pager_pid <= 0)
                return;

        /* End of input for the pager, then wait until the user leaves it. */
        fflush(stdout);
        close(STDOUT_FILENO);
        (void) waitpid(pager_pid, NULL, 0);
        pager_pid = 0;
}

/* ---- talking to the daemon ---- */

static int bus_connect(sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        /* Without --address, sd-bus honours DBUS_SYSTEM_BUS_ADDRESS. */
        if (!arg_address)
                return sd_bus_open_system(ret);

        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_address(bus, arg_address);
        if (r < 0)
                return r;
        r = sd_bus_set_bus_client(bus, true);
        if (r < 0)
                return r;
        r = sd_bus_start(bus);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(bus);
        return 0;
}

/*
 * Logs a failed call with the D-Bus error's name and message (the daemon's
 * reason is in the message) and returns what the verb should: exit status 3
 * when nobody owns the name, negative errno otherwise.
 */
static int log_bus_error(const sd_bus_error *error, int r, const char *what) {
        if (sd_bus_error_has_name(error, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
            sd_bus_error_has_name(error, SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
                log_error("nat64-gatewayd is not running (nobody owns " BUS_NAME ").");
                return EXIT_NOT_RUNNING;
        }
        if (sd_bus_error_is_set(error))
                log_error("Failed to %s: %s: %s", what, error->name, error->message ?: "");
        else
                log_error_errno(r, "Failed to %s: %m", what);
        return r < 0 ? r : -EIO;
}

/* ---- status ---- */

typedef struct GatewayStatus {
        char *state;
        char **prefixes;
        char *wan_interface;
        char **ipv4_addresses;
        uint16_t port_range[2];
        size_t n_eams;
        char *rfc6791_address;
        uint32_t lowest_ipv6_mtu;
        char *udp_zero_checksum;
        char **client_prefixes;
        char *nat46_interface;
        char *nat46_ipv4_prefix;
        int nat46_active;               /* -1: the daemon does not say (older API) */
        int fast_path, fast_path_active; /* -1 likewise */
        size_t n_static_maps;
} GatewayStatus;

static void gateway_status_done(GatewayStatus *s) {
        free(s->state);
        strv_free(s->prefixes);
        free(s->wan_interface);
        strv_free(s->ipv4_addresses);
        free(s->rfc6791_address);
        free(s->udp_zero_checksum);
        strv_free(s->client_prefixes);
        free(s->nat46_interface);
        free(s->nat46_ipv4_prefix);
}

/* Readers for one property value; the message is inside its variant. */
typedef int (*PropertyReader)(sd_bus_message *m, void *field);

static int read_string(sd_bus_message *m, void *field) {
        char **p = field;
        const char *s;
        int r;

        r = sd_bus_message_read(m, "s", &s);
        if (r < 0)
                return r;
        free(*p);
        *p = strdup(s);
        return *p ? 0 : -ENOMEM;
}

static int read_strv(sd_bus_message *m, void *field) {
        char ***p = field;

        strv_free(*p);
        *p = NULL;
        return sd_bus_message_read_strv(m, p);
}

static int read_u32(sd_bus_message *m, void *field) {
        return sd_bus_message_read(m, "u", field);
}

static int read_bool(sd_bus_message *m, void *field) {
        int *b = field, v, r;

        r = sd_bus_message_read(m, "b", &v);
        if (r < 0)
                return r;
        *b = !!v;
        return 0;
}

static int read_port_range(sd_bus_message *m, void *field) {
        uint16_t *range = field;

        return sd_bus_message_read(m, "(qq)", &range[0], &range[1]);
}

/* a(ss) where status shows only how many there are (EAM, StaticMaps). */
static int read_pair_count(sd_bus_message *m, void *field) {
        size_t *n = field;
        int r;

        *n = 0;
        r = sd_bus_message_enter_container(m, 'a', "(ss)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_skip(m, "(ss)")) > 0)
                (*n)++;
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static const struct {
        const char *name;
        const char *signature;
        PropertyReader read;
        size_t offset;
} status_properties[] = {
        { "State",           "s",     read_string,     offsetof(GatewayStatus, state)             },
        { "Prefixes",        "as",    read_strv,       offsetof(GatewayStatus, prefixes)          },
        { "WANInterface",    "s",     read_string,     offsetof(GatewayStatus, wan_interface)     },
        { "IPv4Addresses",   "as",    read_strv,       offsetof(GatewayStatus, ipv4_addresses)    },
        { "PortRange",       "(qq)",  read_port_range, offsetof(GatewayStatus, port_range)        },
        { "EAM",             "a(ss)", read_pair_count, offsetof(GatewayStatus, n_eams)            },
        { "RFC6791Address",  "s",     read_string,     offsetof(GatewayStatus, rfc6791_address)   },
        { "LowestIPv6MTU",   "u",     read_u32,        offsetof(GatewayStatus, lowest_ipv6_mtu)   },
        { "UDPZeroChecksum", "s",     read_string,     offsetof(GatewayStatus, udp_zero_checksum) },
        { "ClientPrefixes",  "as",    read_strv,       offsetof(GatewayStatus, client_prefixes)   },
        { "NAT46Interface",  "s",     read_string,     offsetof(GatewayStatus, nat46_interface)   },
        { "NAT46IPv4Prefix", "s",     read_string,     offsetof(GatewayStatus, nat46_ipv4_prefix) },
        { "NAT46Active",     "b",     read_bool,       offsetof(GatewayStatus, nat46_active)      },
        { "FastPath",        "b",     read_bool,       offsetof(GatewayStatus, fast_path)         },
        { "FastPathActive",  "b",     read_bool,       offsetof(GatewayStatus, fast_path_active)  },
        { "StaticMaps",      "a(ss)", read_pair_count, offsetof(GatewayStatus, n_static_maps)     },
};

/* Reads GetAll()'s a{sv} into s; properties this tool does not know are skipped (newer daemon). */
static int read_status(sd_bus_message *reply, GatewayStatus *s) {
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *name, *contents;
                size_t i;

                r = sd_bus_message_read(reply, "s", &name);
                if (r < 0)
                        return r;
                for (i = 0; i < ELEMENTSOF(status_properties); i++)
                        if (streq(name, status_properties[i].name))
                                break;

                r = sd_bus_message_peek_type(reply, NULL, &contents);
                if (r < 0)
                        return r;
                if (i >= ELEMENTSOF(status_properties) || !streq(contents, status_properties[i].signature)) {
                        r = sd_bus_message_skip(reply, "v");
                        if (r < 0)
                                return r;
                } else {
                        r = sd_bus_message_enter_container(reply, 'v', contents);
                        if (r < 0)
                                return r;
                        r = status_properties[i].read(reply, (uint8_t *) s + status_properties[i].offset);
                        if (r < 0)
                                return r;
                        r = sd_bus_message_exit_container(reply);
                        if (r < 0)
                                return r;
                }
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(reply);
}

#define LABEL_WIDTH 17

static void print_field(const char *label, const char *value) {
        printf("%*s: %s\n", LABEL_WIDTH, label, value);
}

/* A list: the first item beside the label, the others aligned under it. */
static void print_list(const char *label, char **l, const char *if_empty) {
        if (strv_length(l) == 0) {
                print_field(label, if_empty);
                return;
        }
        for (char **s = l; *s; s++)
                printf("%*s%s %s\n", LABEL_WIDTH, s == l ? label : "", s == l ? ":" : " ", *s);
}

/*
 * prefix + v4 as RFC 6052 §2.4 writes it: with a /96 prefix the IPv4 part
 * in dotted decimal ("64:ff9b:1:fffe::198.51.100.1"), as in the config.
 * The embedding itself is rfc6052.h's, shared with the translator.
 */
static const char *format_embedded(const Prefix6 *prefix, const struct in_addr *v4, char buf[static INET6_ADDRSTRLEN]) {
        static const char placeholder[] = "ffff:ffff";
        const size_t k = strlen(placeholder);
        struct in6_addr a;
        size_t n;

        rfc6052_embed(prefix->addr.s6_addr, prefix->len, (const uint8_t *) v4, a.s6_addr);
        if (prefix->len != 96)
                return inet_ntop(AF_INET6, &a, buf, INET6_ADDRSTRLEN);

        /* A non-zero placeholder keeps inet_ntop()'s "::" inside the prefix;
         * it is then replaced (glibc prints ::ffff:0:0/96-like prefixes
         * its own way: those keep the hex form). */
        memset(a.s6_addr + 12, 0xff, 4);
        inet_ntop(AF_INET6, &a, buf, INET6_ADDRSTRLEN);
        n = strlen(buf);
        if (n >= k && streq(buf + n - k, placeholder))
                return inet_ntop(AF_INET, v4, buf + n - k, INET_ADDRSTRLEN) ? buf : NULL;

        rfc6052_embed(prefix->addr.s6_addr, prefix->len, (const uint8_t *) v4, a.s6_addr);
        return inet_ntop(AF_INET6, &a, buf, INET6_ADDRSTRLEN);
}

/*
 * How a client's packet crosses the gateway, one line per client prefix
 * (and one for NAT46 clients):
 *   2001:db8:d0be:f00d::/64 -> NAT66 -> 64:ff9b:1:fffe::198.51.100.1 -> NAT64 -> 198.51.100.1 (wan0)
 * NAT66 maps onto the first prefix (the one 4->6 uses too).
 */
#define CHAIN_MAX_CLIENT_LINES 4

/* The start of a chain line: the "Chain:" label on the first, alignment on the others. */
static void print_chain_start(bool first) {
        printf("%*s%s ", LABEL_WIDTH, first ? "Chain" : "", first ? ":" : " ");
}

/* From NAT66 on, every line is the same; the pool has at least one address. */
static void print_chain_end(const GatewayStatus *s, const char *nat66_source) {
        size_t n_pool = strv_length(s->ipv4_addresses);

        printf("NAT66 -> %s -> NAT64 -> %s", nat66_source, n_pool > 0 ? s->ipv4_addresses[0] : "");
        if (n_pool > 1)
                printf(" (+%zu more)", n_pool - 1);
        printf(" (%s)\n", s->wan_interface ?: "");
}

static void print_chain(const GatewayStatus *s) {
        char nat66_source[INET6_ADDRSTRLEN], nat46[INET6_ADDRSTRLEN];
        size_t n_clients = strv_length(s->client_prefixes), i;
        struct in_addr pool0;
        Prefix6 prefix;
        Prefix4 p4;

        /* Nothing to draw without a prefix and an address. */
        if (strv_length(s->prefixes) == 0 || parse_prefix6(s->prefixes[0], &prefix) < 0 ||
            strv_length(s->ipv4_addresses) == 0 || parse_in4(s->ipv4_addresses[0], &pool0) < 0 ||
            !format_embedded(&prefix, &pool0, nat66_source))
                return;

        for (i = 0; i < n_clients && i < CHAIN_MAX_CLIENT_LINES; i++) {
                print_chain_start(i == 0);
                printf("%s -> ", s->client_prefixes[i]);
                print_chain_end(s, nat66_source);
        }
        if (n_clients > CHAIN_MAX_CLIENT_LINES)
                printf("%*s  (and %zu more client prefixes)\n", LABEL_WIDTH, "", n_clients - CHAIN_MAX_CLIENT_LINES);

        /* NAT46: 192.168.1.2 becomes <prefix>::192.168.1.2 at the LAN edge, then as above. */
        if (s->nat46_ipv4_prefix && parse_prefix4(s->nat46_ipv4_prefix, &p4) >= 0 &&
            format_embedded(&prefix, &p4.addr, nat46)) {
                print_chain_start(i == 0);
                printf("%s (%s) -> NAT46 -> %s", s->nat46_ipv4_prefix, s->nat46_interface ?: "", nat46);
                if (prefix.len == 96)   /* other lengths split the IPv4 bits around the u octet */
                        printf("/%u", 96 + p4.len);
                printf(" -> ");
                print_chain_end(s, nat66_source);
        }
}

static void print_status(const GatewayStatus *s) {
        char buf[64];

        print_field("State", s->state ?: "unknown");
        print_list("Prefixes", s->prefixes, "none");
        print_field("WAN Interface", s->wan_interface ?: "");
        print_list("IPv4 Addresses", s->ipv4_addresses, "none");
        if (s->port_range[0] == 0 && s->port_range[1] == 0)
                print_field("Port Range", "all");
        else {
                snprintf(buf, sizeof(buf), "%u-%u", s->port_range[0], s->port_range[1]);
                print_field("Port Range", buf);
        }
        snprintf(buf, sizeof(buf), "%zu", s->n_eams);
        print_field("EAM Entries", buf);
        print_field("RFC 6791 Address", s->rfc6791_address && s->rfc6791_address[0] ? s->rfc6791_address : "none");
        snprintf(buf, sizeof(buf), "%u", s->lowest_ipv6_mtu);
        print_field("Lowest IPv6 MTU", buf);
        print_field("UDP Zero Checksum", s->udp_zero_checksum ?: "");
        print_list("Client Prefixes", s->client_prefixes, "none");
        if (s->nat46_interface && s->nat46_interface[0])
                printf("%*s: %s on %s%s\n", LABEL_WIDTH, "NAT46", s->nat46_ipv4_prefix ?: "", s->nat46_interface,
                       s->nat46_active < 0 ? "" : s->nat46_active ? " (attached)" : " (not attached)");
        else
                print_field("NAT46", "off");
        /* FastPath=yes on a kernel that refused its programs (gateway.conf(5)) is the case to see. */
        if (s->fast_path > 0)
                print_field("Fast Path", s->fast_path_active < 0 ? "on" :
                                         s->fast_path_active ? "on (active)" : "on (not available on this kernel)");
        else if (s->fast_path == 0)
                print_field("Fast Path", "off");
        snprintf(buf, sizeof(buf), "%zu", s->n_static_maps);
        print_field("Static Maps", buf);
        print_chain(s);
}

/* --json: the daemon's own Describe(), so tools get one schema whichever way they ask. */
static int verb_status_json(sd_bus *bus) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *json;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "Describe", &error, &reply, NULL);
        if (r < 0)
                return log_bus_error(&error, r, "describe the gateway");
        r = sd_bus_message_read(reply, "s", &json);
        if (r < 0)
                return log_error_errno(r, "Failed to parse Describe() reply: %m");

        pager_open();
        puts(json);
        return 0;
}

static int verb_status(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(gateway_status_done) GatewayStatus s = { .nat46_active = -1, .fast_path = -1, .fast_path_active = -1 };
        int r;

        if (arg_json)
                return verb_status_json(bus);

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, "org.freedesktop.DBus.Properties", "GetAll",
                               &error, &reply, "s", BUS_INTERFACE);
        if (r < 0)
                return log_bus_error(&error, r, "read the gateway's properties");
        r = read_status(reply, &s);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the gateway's properties: %m");

        pager_open();
        print_status(&s);
        return 0;
}

/* ---- statistics ---- */

/* The explanation of a counter the daemon names: the translator's (NAT64_COUNTERS)
 * or the table's and the daemon's (statistics.c); NULL for one this build does not know. */
static const char *counter_explain(const char *name) {
        for (enum nat64_counter c = 0; c < _NAT64_CNT_MAX; c++)
                if (streq(name, nat64_counter_to_string(c)))
                        return nat64_counter_explain(c);
        return gateway_statistic_explain(name);
}

/* Drop counters by their names: the translator's "drop-<reason>" (NAT64_COUNTERS),
 * the nftables table's "<what>-drops" (GetStatistics() in the API). */
static bool counter_is_drop(const char *name) {
        size_t n = strlen(name);

        return strncmp(name, "drop-", strlen("drop-")) == 0 ||
                (n > strlen("-drops") && streq(name + n - strlen("-drops"), "-drops"));
}

typedef struct Counter {
        const char *name;       /* points into the reply */
        uint64_t value;
} Counter;

static void print_counters(const Counter *counters, size_t n, bool drops) {
        int name_width = 0, value_width = 1;

        for (size_t i = 0; i < n; i++) {
                int w = snprintf(NULL, 0, "%llu", (unsigned long long) counters[i].value);

                if ((int) strlen(counters[i].name) > name_width)
                        name_width = (int) strlen(counters[i].name);
                if (w > value_width)
                        value_width = w;
        }

        printf("%s\n", drops ? "Drops:" : "Traffic:");
        for (size_t i = 0; i < n; i++) {
                const char *text;

                if (counter_is_drop(counters[i].name) != drops)
                        continue;
                text = counter_explain(counters[i].name);
                printf("  %-*s %*llu%s%s\n", name_width, counters[i].name,
                       value_width, (unsigned long long) counters[i].value, text ? "  " : "", text ?: "");
        }
}

static int verb_statistics(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ Counter *counters = NULL;
        size_t n = 0, allocated = 0;
        const char *name;
        uint64_t value;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "GetStatistics", &error, &reply, NULL);
        if (r < 0)
                return log_bus_error(&error, r, "get statistics");

        r = sd_bus_message_enter_container(reply, 'a', "{st}");
        if (r < 0)
                return log_error_errno(r, "Failed to parse GetStatistics() reply: %m");
        while ((r = sd_bus_message_read(reply, "{st}", &name, &value)) > 0) {
                if (n >= allocated) {
                        Counter *c;

                        allocated = allocated * 2 ?: 32;
                        c = reallocarray(counters, allocated, sizeof(Counter));
                        if (!c)
                                return log_error_errno(ENOMEM, "Out of memory.");
                        counters = c;
                }
                counters[n++] = (Counter) { .name = name, .value = value };
        }
        if (r < 0)
                return log_error_errno(r, "Failed to parse GetStatistics() reply: %m");

        pager_open();
        if (arg_json) {
                /* The D-Bus dictionary as it is: {"packets-6to4": 12, ...}. */
                putchar('{');
                for (size_t i = 0; i < n; i++) {
                        if (i > 0)
                                putchar(',');
                        json_write_string(stdout, counters[i].name);
                        printf(":%llu", (unsigned long long) counters[i].value);
                }
                puts("}");
                return 0;
        }

        print_counters(counters, n, false);
        print_counters(counters, n, true);
        return 0;
}

/* ---- drops ---- */

static const char *ip_protocol_name(uint8_t proto) {
        switch (proto) {
        case IPPROTO_TCP:    return "tcp";
        case IPPROTO_UDP:    return "udp";
        case IPPROTO_ICMP:   return "icmp";
        case IPPROTO_ICMPV6: return "icmpv6";
        default:             return NULL;
        }
}

static int verb_drops(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *reason, *ifname, *src, *dst;
        uint64_t usec;
        uint16_t sport, dport;
        uint32_t len;
        uint8_t proto;
        size_t n = 0;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "GetRecentDrops", &error, &reply, NULL);
        if (r < 0)
                return log_bus_error(&error, r, "read the drop log");
        r = sd_bus_message_enter_container(reply, 'a', "(tssssyqqu)");
        if (r < 0)
                return log_error_errno(r, "Failed to parse the drop log: %m");

        pager_open();
        if (arg_json)
                putchar('[');
        else
                printf("%-12s %-22s %-9s %-6s %s\n", "AGE", "REASON", "LINK", "PROTO", "SOURCE -> DESTINATION");
        while ((r = sd_bus_message_read(reply, "(tssssyqqu)", &usec, &reason, &ifname, &src, &dst,
                                        &proto, &sport, &dport, &len)) > 0) {
                struct timespec now;
                const char *pname = ip_protocol_name(proto);

                if (arg_json) {
                        printf("%s{\"monotonic_usec\":%llu,\"reason\":", n > 0 ? "," : "",
                               (unsigned long long) usec);
                        json_write_string(stdout, reason);
                        printf(",\"link\":");
                        json_write_string(stdout, ifname);
                        printf(",\"source\":");
                        json_write_string(stdout, src);
                        printf(",\"destination\":");
                        json_write_string(stdout, dst);
                        printf(",\"protocol\":%u,\"source_port\":%u,\"destination_port\":%u,\"length\":%u}",
                               proto, sport, dport, len);
                } else {
                        char pbuf[8];

                        clock_gettime(CLOCK_MONOTONIC, &now);
                        if (!pname) {
                                snprintf(pbuf, sizeof(pbuf), "%u", proto);
                                pname = pbuf;
                        }
                        printf("%-12.3f %-22s %-9s %-6s %s", ((double) now.tv_sec * 1e6 + now.tv_nsec / 1e3 -
                                                          (double) usec) / 1e6,
                               reason, ifname, pname, src);
                        if (sport || dport)
                                printf(" port %u -> %s port %u", sport, dst, dport);
                        else
                                printf(" -> %s", dst);
                        printf(" (%u bytes)\n", len);
                }
                n++;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to parse the drop log: %m");
        if (arg_json)
                puts("]");
        else
                printf("\n%zu recent drop%s (the last %d per reason; AGE in seconds). "
                       "See nat64ctl statistics for the reasons.\n", n, n == 1 ? "" : "s",
                       NAT64_DROP_LOG_DEPTH);
        return 0;
}

/* ---- static maps ---- */

static int verb_maps(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *group6, *group4;
        size_t n = 0;
        int r;

        r = sd_bus_get_property(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "StaticMaps", &error, &reply, "a(ss)");
        if (r < 0)
                return log_bus_error(&error, r, "read the static maps");
        r = sd_bus_message_enter_container(reply, 'a', "(ss)");
        if (r < 0)
                return log_error_errno(r, "Failed to parse StaticMaps: %m");

        pager_open();
        if (arg_json)
                putchar('[');
        else
                printf("%-*s %s\n", INET6_ADDRSTRLEN, "IPV6 GROUP", "IPV4 GROUP");
        while ((r = sd_bus_message_read(reply, "(ss)", &group6, &group4)) > 0) {
                if (arg_json) {
                        printf("%s{\"ipv6\":", n > 0 ? "," : "");
                        json_write_string(stdout, group6);
                        printf(",\"ipv4\":");
                        json_write_string(stdout, group4);
                        putchar('}');
                } else
                        printf("%-*s %s\n", INET6_ADDRSTRLEN, group6, group4);
                n++;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to parse StaticMaps: %m");
        if (arg_json)
                puts("]");
        else
                printf("\n%zu static map%s.\n", n, n == 1 ? "" : "s");
        return 0;
}

static int verb_map_add(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "AddStaticMap", &error, NULL,
                               "ss", argv[1], argv[2]);
        if (r < 0)
                return log_bus_error(&error, r, "add static map");
        return 0;
}

static int verb_map_remove(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "RemoveStaticMap", &error, NULL,
                               "s", argv[1]);
        if (r < 0)
                return log_bus_error(&error, r, "remove static map");
        return 0;
}

/* ---- HA (docs/HA.md) ---- */

static int get_string_property(sd_bus *bus, const char *name, sd_bus_error *error, char **ret) {
        return sd_bus_get_property_string(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, name, error, ret);
}

/* Prints conntrackd's counters, or why there are none; JSON: an object or null. */
static void print_sync_statistics(sd_bus *bus) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *name;
        uint64_t value;
        bool first = true;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "GetSyncStatistics", &error, &reply, NULL);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "{st}");
        if (r < 0) {
                if (arg_json)
                        fputs("null", stdout);
                else
                        printf("Sync: unavailable (%s)\n", error.message ?: strerror(-r));
                return;
        }

        if (arg_json)
                putchar('{');
        else
                printf("Sync (conntrackd):\n");
        while ((r = sd_bus_message_read(reply, "{st}", &name, &value)) > 0) {
                if (arg_json) {
                        if (!first)
                                putchar(',');
                        json_write_string(stdout, name);
                        printf(":%llu", (unsigned long long) value);
                } else
                        printf("  %-28s %llu\n", name, (unsigned long long) value);
                first = false;
        }
        if (arg_json)
                putchar('}');
}

static int verb_ha(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *instances = NULL, *stats = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *role = NULL;
        char **held = NULL;
        uint64_t failovers = 0;
        const char *name, *state;
        uint64_t value;
        bool first = true;
        int r;

        r = get_string_property(bus, "HARole", &error, &role);
        if (r < 0)
                return log_bus_error(&error, r, "get the HA role");
        if (!role[0]) {
                if (arg_json)
                        puts("{\"HARole\":\"\"}");
                else
                        printf("HA: not configured (no [HA] in gateway.conf).\n");
                return 0;
        }

        r = sd_bus_get_property(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "HAInstances", &error, &instances, "a(ss)");
        if (r < 0)
                return log_bus_error(&error, r, "get the VRRP instances");
        r = sd_bus_get_property_strv(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "HAHeldAddresses", &error, &held);
        if (r < 0)
                return log_bus_error(&error, r, "get the held addresses");
        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "GetStatistics", &error, &stats, NULL);
        if (r < 0) {
                strv_free(held);
                return log_bus_error(&error, r, "get statistics");
        }
        r = sd_bus_message_enter_container(stats, 'a', "{st}");
        while (r >= 0 && (r = sd_bus_message_read(stats, "{st}", &name, &value)) > 0)
                if (streq(name, GATEWAY_STATISTIC_HA_FAILOVERS))
                        failovers = value;

        if (arg_json) {
                printf("{\"HARole\":");
                json_write_string(stdout, role);
                printf(",\"HAInstances\":{");
        } else
                printf("Role: %s\nInstances:", role);

        r = sd_bus_message_enter_container(instances, 'a', "(ss)");
        while (r >= 0 && (r = sd_bus_message_read(instances, "(ss)", &name, &state)) > 0) {
                if (arg_json) {
                        if (!first)
                                putchar(',');
                        json_write_string(stdout, name);
                        putchar(':');
                        json_write_string(stdout, state);
                } else
                        printf(" %s=%s", name, state);
                first = false;
        }
        if (arg_json) {
                printf("},\"HAHeldAddresses\":[");
                for (size_t i = 0; held && held[i]; i++) {
                        if (i > 0)
                                putchar(',');
                        json_write_string(stdout, held[i]);
                }
                printf("],\"Failovers\":%llu,\"Sync\":", (unsigned long long) failovers);
                print_sync_statistics(bus);
                puts("}");
        } else {
                printf("%s\nHeld addresses:", first ? " (none reported yet)" : "");
                for (size_t i = 0; held && held[i]; i++)
                        printf(" %s", held[i]);
                printf("%s\nFailovers: %llu\n", held && held[0] ? "" : " none", (unsigned long long) failovers);
                print_sync_statistics(bus);
        }
        strv_free(held);
        return 0;
}

static int verb_ha_state(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "SetHAState", &error, NULL,
                               "ss", argv[1], argv[2]);
        if (r < 0)
                return log_bus_error(&error, r, "set the HA state");
        return 0;
}

/* ---- reload, check-config ---- */

static int verb_reload(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_INTERFACE, "Reload", &error, NULL, NULL);
        if (r < 0)
                return log_bus_error(&error, r, "reload");
        return 0;
}

/* The daemon's parser (conf.c), so a file that passes here is one the daemon takes. */
static int verb_check_config(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(config_freep) Config *c = NULL;
        const char *path = argc > 1 ? argv[1] : CONFIG_DEFAULT_PATH;
        int r;

        /* config_load() has logged every error with file, line and key. */
        r = config_load(path, &c);
        if (r < 0)
                return r;
        r = config_dump(c, stdout);
        if (r < 0)
                return log_error_errno(r, "Failed to print the configuration: %m");
        return 0;
}

/* ---- command line ---- */

/* Arguments are checked here, before any call: a typo is a usage error (2), not the daemon's refusal (1). */
typedef enum ArgKind {
        ARG_NONE,
        ARG_IPV6,
        ARG_IPV4,
} ArgKind;

#define VERB_MAX_ARGS 2

typedef struct Verb {
        const char *name;
        unsigned min_args, max_args;    /* after the verb's name */
        ArgKind kinds[VERB_MAX_ARGS];
        bool needs_bus;
        int (*run)(sd_bus *bus, int argc, char *argv[]);
        const struct Verb *sub;         /* "map add": verbs of their own */
} Verb;

static const Verb map_verbs[] = {
        { "add",    2, 2, { ARG_IPV6, ARG_IPV4 }, true, verb_map_add    },
        { "remove", 1, 1, { ARG_IPV6 },           true, verb_map_remove },
        {}
};

static const Verb verbs[] = {
        { "status",       0, 0, {}, true,  verb_status       },
        { "statistics",   0, 0, {}, true,  verb_statistics   },
        { "drops",        0, 0, {}, true,  verb_drops        },
        { "maps",         0, 0, {}, true,  verb_maps         },
        { "map",          1, 3, {}, true,  NULL, map_verbs   },
        { "reload",       0, 0, {}, true,  verb_reload       },
        { "ha",           0, 0, {}, true,  verb_ha           },
        { "ha-state",     2, 2, {}, true,  verb_ha_state     },
        { "check-config", 0, 1, {}, false, verb_check_config },
        {}
};

static int check_arg(ArgKind kind, const char *s) {
        struct in6_addr a6;
        struct in_addr a4;

        switch (kind) {
        case ARG_IPV6:
                if (parse_in6(s, &a6) < 0) {
                        log_error("Not an IPv6 address: \"%s\".", s);
                        return -EINVAL;
                }
                return 0;
        case ARG_IPV4:
                if (parse_in4(s, &a4) < 0) {
                        log_error("Not an IPv4 address: \"%s\".", s);
                        return -EINVAL;
                }
                return 0;
        default:
                return 0;
        }
}

/* Finds argv[0] in table, checks the arguments, connects if needed, runs it. */
static int dispatch_verb(const Verb *table, const char *parent, int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const Verb *v;
        unsigned n_args = (unsigned) argc - 1;
        int r;

        for (v = table; v->name; v++)
                if (streq(argv[0], v->name))
                        break;
        if (!v->name) {
                log_error("Unknown command \"%s%s%s\". See nat64ctl --help.",
                          parent ?: "", parent ? " " : "", argv[0]);
                return EXIT_USAGE;
        }
        if (n_args < v->min_args) {
                log_error("Too few arguments for \"%s%s%s\". See nat64ctl --help.",
                          parent ?: "", parent ? " " : "", v->name);
                return EXIT_USAGE;
        }
        if (n_args > v->max_args) {
                log_error("Too many arguments for \"%s%s%s\". See nat64ctl --help.",
                          parent ?: "", parent ? " " : "", v->name);
                return EXIT_USAGE;
        }

        if (v->sub)
                return dispatch_verb(v->sub, v->name, argc - 1, argv + 1);

        for (unsigned i = 0; i < n_args && i < VERB_MAX_ARGS; i++)
                if (check_arg(v->kinds[i], argv[i + 1]) < 0)
                        return EXIT_USAGE;

        if (v->needs_bus) {
                r = bus_connect(&bus);
                if (r < 0)
                        return log_error_errno(r, "Failed to connect to %s: %m",
                                               arg_address ?: "the system bus");
        }
        return v->run(bus, argc, argv);
}

static void help(void) {
        printf("nat64ctl [OPTIONS...] COMMAND ...\n\n"
               "Query and control nat64-gatewayd.\n\n"
               "Commands:\n"
               "  status                 Show state, configuration and the NAT66 -> NAT64 chain\n"
               "                         (default)\n"
               "  statistics             Show the translator's counters with their meaning\n"
               "  drops                  Show the last dropped packets per drop reason\n"
               "  maps                   List the static multicast maps\n"
               "  map add IPV6 IPV4      Add a static multicast map (until the next reload)\n"
               "  map remove IPV6        Remove a static multicast map\n"
               "  reload                 Re-read the configuration files and apply them\n"
               "  ha                     Show the HA role, VRRP instances, held addresses,\n"
               "                         failovers and conntrackd's sync statistics\n"
               "  ha-state INSTANCE STATE\n"
               "                         Tell the daemon a VRRP instance's state (master, backup,\n"
               "                         fault, stop); keepalived's notify script ha-notify does\n"
               "  check-config [FILE]    Check a configuration file without the daemon and print\n"
               "                         the effective configuration (default: %s)\n"
               "\nOptions:\n"
               "  -h --help              Show this help\n"
               "     --version           Show package version\n"
               "     --json              JSON output (status, statistics, drops, maps, ha)\n"
               "     --no-pager          Do not pipe output into a pager\n"
               "     --address=ADDRESS   D-Bus address of the bus to use (default: the system bus,\n"
               "                         or $DBUS_SYSTEM_BUS_ADDRESS)\n"
               "\nExit status: 0 success, 1 failure (the bus or the daemon refused), 2 usage error,\n"
               "3 nat64-gatewayd is not running. See nat64ctl(8).\n",
               CONFIG_DEFAULT_PATH);
}

/* Returns 1 to go on, 0 to exit successfully, negative errno on bad usage. */
static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100,
                ARG_JSON,
                ARG_NO_PAGER,
                ARG_ADDRESS,
        };
        static const struct option options[] = {
                { "help",     no_argument,       NULL, 'h'          },
                { "version",  no_argument,       NULL, ARG_VERSION  },
                { "json",     no_argument,       NULL, ARG_JSON     },
                { "no-pager", no_argument,       NULL, ARG_NO_PAGER },
                { "address",  required_argument, NULL, ARG_ADDRESS  },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("nat64ctl %s\n", PACKAGE_VERSION);
                        return 0;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_NO_PAGER:
                        arg_no_pager = true;
                        break;
                case ARG_ADDRESS:
                        if (optarg[0] == '\0') {
                                log_error("--address= needs a D-Bus address.");
                                return -EINVAL;
                        }
                        arg_address = optarg;
                        break;
                default:        /* getopt_long() has said what was wrong */
                        return -EINVAL;
                }
        return 1;
}

static int run(int argc, char *argv[]) {
        char *default_verb[] = { (char *) "status", NULL };
        int r;

        r = parse_argv(argc, argv);
        if (r < 0)
                return EXIT_USAGE;
        if (r == 0)
                return 0;

        if (optind >= argc)
                return dispatch_verb(verbs, NULL, 1, default_verb);
        return dispatch_verb(verbs, NULL, argc - optind, argv + optind);
}

int main(int argc, char *argv[]) {
        int r;

        /* A tool for people: plain messages, unless journald reads them. */
        log_show_priority = getenv("JOURNAL_STREAM") != NULL;

        r = run(argc, argv);
        if (fflush(stdout) != 0 && r >= 0) {
                log_error_errno(negative_errno(), "Failed to write output: %m");
                r = -EIO;
        }
        pager_close();
        return r < 0 ? EXIT_FAILURE : r;
}
