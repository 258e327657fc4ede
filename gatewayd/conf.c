/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gateway.conf parser (PRODUCT.md "Configuration").
 *
 * libinih splits "Key=Value" and tracks sections; it is fed through our own
 * line reader, which counts lines (inih 55 passes no line numbers to the
 * handler), cuts the "# ..." / "; ..." comments PRODUCT.md's example puts
 * after values, refuses what inih would silently accept (lines without
 * '=', "Key: Value", continuation lines, lines too long for its buffer) and
 * checks section names, so that every error names file, line and key.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <malloc.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "conf.h"
#include "log.h"
#include "macro.h"
#include "nat64_shared.h"
#include "rfc6052.h"

/* RFC 8200 §5: every IPv6 link carries 1280 bytes; below that is no IPv6 link. */
#define IPV6_MIN_MTU 1280
#define IPV6_MAX_MTU 65535

/* RFC 6052 §2.2: bits 64..71 of an IPv4-embedded address (the "u" octet) are zero. */
#define RFC6052_U_OCTET_INDEX 8

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif

static void *mfree(void *p) {
        free(p);
        return NULL;
}

static void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

/* a + b + c in a new string. */
static char *strjoin(const char *a, const char *b, const char *c) {
        size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
        char *s = malloc(n);

        if (s)
                snprintf(s, n, "%s%s%s", a, b, c);
        return s;
}

static const char *const udp_zero_checksum_table[_UDP_ZERO_CHECKSUM_MAX] = {
        [UDP_ZERO_CHECKSUM_COMPUTE] = "compute",
        [UDP_ZERO_CHECKSUM_DROP]    = "drop",
};

const char *udp_zero_checksum_to_string(UdpZeroChecksum v) {
        if (v < 0 || v >= _UDP_ZERO_CHECKSUM_MAX)
                return NULL;
        return udp_zero_checksum_table[v];
}

UdpZeroChecksum udp_zero_checksum_from_string(const char *s) {
        if (!s)
                return _UDP_ZERO_CHECKSUM_INVALID;
        for (size_t i = 0; i < ELEMENTSOF(udp_zero_checksum_table); i++)
                if (streq(s, udp_zero_checksum_table[i]))
                        return (UdpZeroChecksum) i;
        return _UDP_ZERO_CHECKSUM_INVALID;
}

/* ---- Address and number parsing, shared with D-Bus argument checking ---- */

/* Decimal digits only: strtoul() would also take signs, spaces and "0x". */
static int parse_unsigned(const char *s, unsigned min, unsigned max, unsigned *ret) {
        unsigned long v = 0;

        if (!s || !*s)
                return -EINVAL;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EINVAL;
                v = v * 10 + (unsigned) (*s - '0');
                if (v > max)
                        return -ERANGE;
        }
        if (v < min)
                return -ERANGE;

        *ret = (unsigned) v;
        return 0;
}

static unsigned family_bits(int family) {
        return family == AF_INET6 ? 128 : 32;
}

/* Are the bits of bytes[] from bit 'from' on all zero? */
static bool host_bits_zero(const uint8_t *bytes, unsigned n_bits, unsigned from) {
        for (unsigned bit = from; bit < n_bits; bit++)
                if (bytes[bit / 8] & (0x80 >> (bit % 8)))
                        return false;
        return true;
}

static void clear_host_bits(uint8_t *bytes, unsigned n_bits, unsigned from) {
        for (unsigned bit = from; bit < n_bits; bit++)
                bytes[bit / 8] &= (uint8_t) ~(0x80 >> (bit % 8));
}

/* Do a and b agree in their first n_bits bits? Two prefixes overlap iff they
 * agree over the shorter length. */
static bool bits_equal(const uint8_t *a, const uint8_t *b, unsigned n_bits) {
        for (unsigned bit = 0; bit < n_bits; bit++) {
                uint8_t m = 0x80 >> (bit % 8);

                if ((a[bit / 8] & m) != (b[bit / 8] & m))
                        return false;
        }
        return true;
}

static bool prefix6_overlaps(const Prefix6 *a, const Prefix6 *b) {
        return bits_equal(a->addr.s6_addr, b->addr.s6_addr, MIN(a->len, b->len));
}

static bool prefix6_equal(const Prefix6 *a, const Prefix6 *b) {
        return a->len == b->len && prefix6_overlaps(a, b);
}

/*
 * "ADDRESS[/LENGTH]" of the given family into ret_addr (16 or 4 bytes) and
 * ret_len; without "/LENGTH" the prefix is the one address. Host bits are
 * not checked here.
 */
static int parse_prefix_any(int family, const char *s, void *ret_addr, uint8_t *ret_len) {
        char text[INET6_ADDRSTRLEN];
        union {
                struct in6_addr in6;
                struct in_addr in4;
        } addr;
        unsigned bits = family_bits(family), len = bits;
        const char *slash;
        size_t n;

        if (!s)
                return -EINVAL;

        slash = strchr(s, '/');
        n = slash ? (size_t) (slash - s) : strlen(s);
        if (n >= sizeof(text))
                return -EINVAL;
        memcpy(text, s, n);
        text[n] = '\0';

        if (inet_pton(family, text, &addr) != 1)
                return -EINVAL;
        if (slash && parse_unsigned(slash + 1, 0, bits, &len) < 0)
                return -EINVAL;

        memcpy(ret_addr, &addr, bits / 8);
        *ret_len = (uint8_t) len;
        return 0;
}

int parse_prefix6(const char *s, Prefix6 *ret) {
        Prefix6 p;

        if (parse_prefix_any(AF_INET6, s, &p.addr, &p.len) < 0 ||
            !host_bits_zero(p.addr.s6_addr, 128, p.len))
                return -EINVAL;

        *ret = p;
        return 0;
}

int parse_prefix4(const char *s, Prefix4 *ret) {
        Prefix4 p;

        if (parse_prefix_any(AF_INET, s, &p.addr, &p.len) < 0 ||
            !host_bits_zero((const uint8_t *) &p.addr, 32, p.len))
                return -EINVAL;

        *ret = p;
        return 0;
}

int parse_in6(const char *s, struct in6_addr *ret) {
        struct in6_addr a;

        if (!s || inet_pton(AF_INET6, s, &a) != 1)
                return -EINVAL;

        *ret = a;
        return 0;
}

int parse_in4(const char *s, struct in_addr *ret) {
        struct in_addr a;

        if (!s || inet_pton(AF_INET, s, &a) != 1)
                return -EINVAL;

        *ret = a;
        return 0;
}

/* Unicast: not "this network" 0/8, loopback 127/8, or 224/3 (multicast,
 * reserved, broadcast) (RFC 6890 §2.2.2). */
static bool in4_is_unicast(struct in_addr a) {
        uint8_t first = (uint8_t) (ntohl(a.s_addr) >> 24);

        return first != 0 && first != 127 && first < 224;
}

/* Linux interface names (as systemd's ifname_valid()): 1..IFNAMSIZ-1
 * printable characters without '/', ':' or spaces, not "." or "..", and not
 * "all" or "default", which name sysctl directories under net.ipv*.conf.
 * Nor '"' or '\\', which the kernel takes but nft's quoted strings (the
 * port range guard matches the WAN by name) could not carry. */
static bool ifname_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n >= IFNAMSIZ)
                return false;
        if (streq(s, ".") || streq(s, "..") || streq(s, "all") || streq(s, "default"))
                return false;
        for (const char *c = s; *c; c++)
                if ((unsigned char) *c <= ' ' || (unsigned char) *c >= 0x7f || strchr("/:\"\\", *c))
                        return false;
        return true;
}

/* RFC 4291 §2.7: scopes 0 (reserved), 1 (interface-local) and 2 (link-local)
 * stay on one link; F is reserved too. */
#define IPV6_MCAST_SCOPE_LINK_LOCAL 2
#define IPV6_MCAST_SCOPE_RESERVED   0xf

int multicast_map_validate(const Config *c, const MulticastMap *m, size_t skip_index, const char **ret_error) {
        uint32_t group4 = ntohl(m->group4.s_addr);
        const char *error = NULL;

        if (!IN6_IS_ADDR_MULTICAST(&m->group6))
                error = "the IPv6 group is not a multicast address (ff00::/8, RFC 4291 §2.7)";
        else if ((m->group6.s6_addr[1] & 0x0f) <= IPV6_MCAST_SCOPE_LINK_LOCAL ||
                 (m->group6.s6_addr[1] & 0x0f) == IPV6_MCAST_SCOPE_RESERVED)
                error = "the IPv6 group's scope is reserved, interface-local or link-local (RFC 4291 §2.7): "
                        "a router never forwards it";
        else if (!IN_MULTICAST(group4))
                error = "the IPv4 group is not a multicast address (224.0.0.0/4, RFC 5771)";
        else if ((group4 & 0xffffff00u) == 0xe0000000u)
                error = "the IPv4 group is in 224.0.0.0/24, the link-local block that is never forwarded (RFC 5771 §4)";
        else if (skip_index == SIZE_MAX && c->n_multicast_maps >= CONFIG_MAX_MULTICAST_MAPS)
                error = "too many multicast maps, at most " STRINGIFY(CONFIG_MAX_MULTICAST_MAPS);
        else
                for (size_t i = 0; i < c->n_multicast_maps; i++) {
                        if (i == skip_index)
                                continue;
                        if (IN6_ARE_ADDR_EQUAL(&c->multicast_maps[i].group6, &m->group6)) {
                                error = "the IPv6 group is already mapped";
                                break;
                        }
                        if (c->multicast_maps[i].group4.s_addr == m->group4.s_addr) {
                                error = "the IPv4 group is already mapped";
                                break;
                        }
                }

        if (error) {
                if (ret_error)
                        *ret_error = error;
                return -EINVAL;
        }
        return 0;
}

/* ---- The parser ---- */

/* Entries of config_keys[] below. */
#define CONFIG_N_KEYS 16

typedef struct SourceLocation {
        const char *file;
        unsigned line;          /* 0: the error is about the files as a whole */
        const char *section;    /* NULL: none */
        const char *key;        /* NULL: none */
} SourceLocation;

typedef struct ConfigParser {
        Config *config;
        const char *main_path;
        int error;              /* first error, negative errno; 0 while all is well */

        /* The file being read. */
        const char *path;
        FILE *file;
        unsigned line_number;
        char *line;             /* getline() buffer */
        size_t line_allocated;
        const char *section;    /* current section, one of the known names; NULL before any */
        bool in_bad_section;    /* after an unknown or malformed header: its keys are skipped */

        /* Keys given a bad value somewhere: not reported again as missing. */
        bool key_invalid[CONFIG_N_KEYS];

        /* Drop-in paths, kept until the end since locations point into them. */
        char **dropin_paths;
        size_t n_dropin_paths;

        /* Where each c->eams[i] was given, for the overlap check once all
         * files are read. */
        SourceLocation *eam_locations;
} ConfigParser;

static void config_parser_done(ConfigParser *p) {
        for (size_t i = 0; i < p->n_dropin_paths; i++)
                free(p->dropin_paths[i]);
        free(p->dropin_paths);
        free(p->eam_locations);
        free(p->line);
}

static SourceLocation current_location(const ConfigParser *p, const char *key) {
        return (SourceLocation) {
                .file = p->path,
                .line = p->line_number,
                .section = p->section,
                .key = key,
        };
}

/* Remembers the first error of the load; running out of memory overrides
 * it, since that ends the load at once. Returns r. */
static int config_fail(ConfigParser *p, int r) {
        if (p->error == 0 || r == -ENOMEM)
                p->error = r;
        return r;
}

/* Logs "FILE:LINE: [Section] Key=: reason" and marks the load as failed. */
_printf_(3, 4)
static int config_error(ConfigParser *p, SourceLocation where, const char *format, ...) {
        char reason[LINE_MAX], tag[256] = "";
        va_list ap;

        va_start(ap, format);
        vsnprintf(reason, sizeof(reason), format, ap);
        va_end(ap);

        if (where.section && where.key)
                snprintf(tag, sizeof(tag), " [%s] %s=:", where.section, where.key);
        else if (where.section)
                snprintf(tag, sizeof(tag), " [%s]:", where.section);
        else if (where.key)
                snprintf(tag, sizeof(tag), " %s=:", where.key);

        if (where.line > 0)
                log_error("%s:%u:%s %s", where.file, where.line, tag, reason);
        else
                log_error("%s:%s %s", where.file, tag, reason);

        return config_fail(p, -EINVAL);
}

/* Makes room for n items in *array, doubling as it grows (as systemd's
 * GREEDY_REALLOC), so that filling a list of CONFIG_MAX_EAMS stays linear. */
static int greedy_realloc(void **array, size_t n, size_t item_size) {
        void *a;

        if (*array && malloc_usable_size(*array) >= n * item_size)
                return 0;
        a = realloc(*array, 2 * n * item_size);
        if (!a)
                return -ENOMEM;
        *array = a;
        return 0;
}

/* Appends *item to *array (n entries of item_size), at most max entries. */
static int config_append(ConfigParser *p, const char *key, void **array, size_t *n, size_t max,
                         const void *item, size_t item_size) {
        if (*n >= max)
                return config_error(p, current_location(p, key), "too many entries, at most %zu", max);
        if (greedy_realloc(array, *n + 1, item_size) < 0)
                return -ENOMEM;

        memcpy((uint8_t *) *array + *n * item_size, item, item_size);
        (*n)++;
        return 0;
}

#define CONFIG_APPEND(p, key, array, n, max, item) \
        config_append((p), (key), (void **) &(array), &(n), (max), &(item), sizeof(item))

#define LIST_RESET(array, n)                    \
        do {                                    \
                free(array);                    \
                (array) = NULL;                 \
                (n) = 0;                        \
        } while (0)

/* Parses a prefix value of the family, logging what is wrong with it. */
static int config_parse_prefix(ConfigParser *p, const char *key, int family, const char *value,
                               void *ret_addr, uint8_t *ret_len) {
        const char *family_name = family == AF_INET6 ? "IPv6" : "IPv4";
        unsigned bits = family_bits(family);
        uint8_t addr[16], len;

        if (parse_prefix_any(family, value, addr, &len) < 0)
                return config_error(p, current_location(p, key), "\"%s\" is not an %s prefix", value, family_name);

        if (!host_bits_zero(addr, bits, len)) {
                char masked[INET6_ADDRSTRLEN];

                clear_host_bits(addr, bits, len);
                inet_ntop(family, addr, masked, sizeof(masked));
                return config_error(p, current_location(p, key),
                                    "%s prefix \"%s\" has bits set beyond its length (did you mean %s/%u?)",
                                    family_name, value, masked, len);
        }

        memcpy(ret_addr, addr, bits / 8);
        *ret_len = len;
        return 0;
}

static int config_parse_prefix6(ConfigParser *p, const char *key, const char *value, Prefix6 *ret) {
        return config_parse_prefix(p, key, AF_INET6, value, &ret->addr, &ret->len);
}

static int config_parse_prefix4(ConfigParser *p, const char *key, const char *value, Prefix4 *ret) {
        return config_parse_prefix(p, key, AF_INET, value, &ret->addr, &ret->len);
}

static int config_parse_unicast4(ConfigParser *p, const char *key, const char *value, struct in_addr *ret) {
        struct in_addr a;

        if (parse_in4(value, &a) < 0)
                return config_error(p, current_location(p, key), "\"%s\" is not an IPv4 address", value);
        if (!in4_is_unicast(a))
                return config_error(p, current_location(p, key), "\"%s\" is not a unicast IPv4 address", value);

        *ret = a;
        return 0;
}

static int config_parse_ifname(ConfigParser *p, const char *key, const char *value, char **field) {
        char *copy;

        if (!*value) {
                *field = mfree(*field);
                return 0;
        }
        if (!ifname_valid(value))
                return config_error(p, current_location(p, key),
                                    "\"%s\" is not a valid interface name (1-%d characters, no '/', ':', '\"', '\\' or spaces)",
                                    value, IFNAMSIZ - 1);

        copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        free(*field);
        *field = copy;
        return 0;
}

/* Splits "FIRST SECOND" (any whitespace between) in place; exactly two words. */
static int split_pair(char *s, char **ret_first, char **ret_second) {
        static const char whitespace[] = " \t";
        char *first = s, *second;
        size_t n = strcspn(s, whitespace);

        if (n == 0 || s[n] == '\0')
                return -EINVAL;
        s[n] = '\0';
        second = s + n + 1;
        second += strspn(second, whitespace);
        if (*second == '\0' || second[strcspn(second, whitespace)] != '\0')
                return -EINVAL;

        *ret_first = first;
        *ret_second = second;
        return 0;
}

/* [Translator] Prefix=: RFC 6052 §2.2 prefixes the translator embeds IPv4 in. */
static int config_parse_nat64_prefix(ConfigParser *p, const char *key, const char *value) {
        Config *c = p->config;
        Prefix6 prefix;
        int r;

        if (!*value) {
                LIST_RESET(c->prefixes, c->n_prefixes);
                return 0;
        }

        r = config_parse_prefix6(p, key, value, &prefix);
        if (r < 0)
                return r;
        if (!rfc6052_prefix_len_valid(prefix.len))
                return config_error(p, current_location(p, key),
                                    "prefix length /%u of \"%s\" is not one of 32, 40, 48, 56, 64, 96 (RFC 6052 §2.2)",
                                    prefix.len, value);
        if (prefix.addr.s6_addr[RFC6052_U_OCTET_INDEX] != 0)
                return config_error(p, current_location(p, key),
                                    "bits 64..71 of \"%s\" (the u octet) must be zero (RFC 6052 §2.2)", value);
        /* An address inside two prefixes would have two IPv4 meanings. */
        for (size_t i = 0; i < c->n_prefixes; i++)
                if (prefix6_overlaps(&prefix, &c->prefixes[i]))
                        return config_error(p, current_location(p, key),
                                            "\"%s\" overlaps a prefix given before", value);

        return CONFIG_APPEND(p, key, c->prefixes, c->n_prefixes, CONFIG_MAX_PREFIXES, prefix);
}

static int config_parse_wan_interface(ConfigParser *p, const char *key, const char *value) {
        return config_parse_ifname(p, key, value, &p->config->wan_interface);
}

static int config_parse_ipv4_address(ConfigParser *p, const char *key, const char *value) {
        Config *c = p->config;
        struct in_addr a;
        int r;

        if (!*value) {
                LIST_RESET(c->ipv4_addresses, c->n_ipv4_addresses);
                return 0;
        }

        r = config_parse_unicast4(p, key, value, &a);
        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_ipv4_addresses; i++)
                if (c->ipv4_addresses[i].s_addr == a.s_addr)
                        return config_error(p, current_location(p, key), "\"%s\" is listed twice", value);

        return CONFIG_APPEND(p, key, c->ipv4_addresses, c->n_ipv4_addresses, CONFIG_MAX_IPV4_ADDRESSES, a);
}

static int config_parse_port_range(ConfigParser *p, const char *key, const char *value) {
        Config *c = p->config;
        unsigned first, last;
        const char *dash;
        char text[sizeof("65535")];
        size_t n;

        if (!*value) {
                c->has_port_range = false;
                return 0;
        }

        dash = strchr(value, '-');
        n = dash ? (size_t) (dash - value) : 0;
        if (!dash || n >= sizeof(text))
                goto invalid;
        memcpy(text, value, n);
        text[n] = '\0';
        if (parse_unsigned(text, 1, UINT16_MAX, &first) < 0 ||
            parse_unsigned(dash + 1, 1, UINT16_MAX, &last) < 0 ||
            first > last)
                goto invalid;

        c->has_port_range = true;
        c->port_min = (uint16_t) first;
        c->port_max = (uint16_t) last;
        return 0;

invalid:
        return config_error(p, current_location(p, key),
                            "\"%s\" is not a port range FIRST-LAST with 1 <= FIRST <= LAST <= 65535", value);
}

/* [Translator] EAM=: RFC 7757 explicit address mappings. */
static int config_parse_eam(ConfigParser *p, const char *key, const char *value) {
        Config *c = p->config;
        _cleanup_free_ char *words = NULL;
        char *text6, *text4;
        EamEntry eam;
        int r;

        if (!*value) {
                LIST_RESET(c->eams, c->n_eams);
                p->eam_locations = mfree(p->eam_locations);
                return 0;
        }

        words = strdup(value);
        if (!words)
                return -ENOMEM;
        if (split_pair(words, &text6, &text4) < 0)
                return config_error(p, current_location(p, key),
                                    "\"%s\" is not \"IPV6-PREFIX IPV4-PREFIX\"", value);

        r = config_parse_prefix6(p, key, text6, &eam.v6);
        if (r < 0)
                return r;
        r = config_parse_prefix4(p, key, text4, &eam.v4);
        if (r < 0)
                return r;
        /* RFC 7757 §3.2: the IPv4 suffix is copied right after the IPv6
         * prefix, so the IPv6 side needs at least as many suffix bits (extra
         * ones are zero toward IPv6 and ignored toward IPv4). */
        if (128 - eam.v6.len < 32 - eam.v4.len)
                return config_error(p, current_location(p, key),
                                    "/%u leaves %u host bits, fewer than the %u of /%u (RFC 7757 §3.2)",
                                    eam.v6.len, 128 - eam.v6.len, 32 - eam.v4.len, eam.v4.len);

        /* Room for this entry's location first: the append below is the
         * last step that can fail, and it checks the cap for both arrays. */
        if (greedy_realloc((void **) &p->eam_locations, c->n_eams + 1, sizeof(SourceLocation)) < 0)
                return -ENOMEM;
        p->eam_locations[c->n_eams] = current_location(p, key);

        return CONFIG_APPEND(p, key, c->eams, c->n_eams, CONFIG_MAX_EAMS, eam);
}

static int config_parse_rfc6791_address(ConfigParser *p, const char *key, const char *value) {
        Config *c = p->config;
        int r;

        if (!*value) {
                c->has_rfc6791_address = false;
                return 0;
        }

        r = config_parse_unicast4(p, key, value, &c->rfc6791_address);
        if (r < 0)
                return r;
        c->has_rfc6791_address = true;
        return 0;
}

static int config_parse_lowest_ipv6_mtu(ConfigParser *p, const char *key, const char *value) {
        unsigned mtu;

        if (!*value) {
                p->config->lowest_ipv6_mtu = IPV6_MIN_MTU;
                return 0;
        }
        if (parse_unsigned(value, IPV6_MIN_MTU, IPV6_MAX_MTU, &mtu) < 0)
                return config_error(p, current_location(p, key),
                                    "\"%s\" is not an MTU between %d and %d", value, IPV6_MIN_MTU, IPV6_MAX_MTU);

        p->config->lowest_ipv6_mtu = mtu;
        return 0;
}

static int config_parse_udp_zero_checksum(ConfigParser *p, const char *key, const char *value) {
        UdpZeroChecksum v;

        if (!*value) {
                p->config->udp_zero_checksum = UDP_ZERO_CHECKSUM_COMPUTE;
                return 0;
        }
        v = udp_zero_checksum_from_string(value);
        if (v < 0)
                return config_error(p, current_location(p, key),
                                    "\"%s\" is neither \"compute\" nor \"drop\"", value);

        p->config->udp_zero_checksum = v;
        return 0;
}

static int config_parse_client_prefix(ConfigParser *p, const char *key, const char *value) {
        Config *c = p->config;
        Prefix6 prefix;
        int r;

        if (!*value) {
                LIST_RESET(c->client_prefixes, c->n_client_prefixes);
                return 0;
        }

        r = config_parse_prefix6(p, key, value, &prefix);
        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_client_prefixes; i++)
                if (prefix6_equal(&prefix, &c->client_prefixes[i]))
                        return config_error(p, current_location(p, key), "\"%s\" is listed twice", value);

        return CONFIG_APPEND(p, key, c->client_prefixes, c->n_client_prefixes, CONFIG_MAX_CLIENT_PREFIXES, prefix);
}

static int config_parse_nat66_interface(ConfigParser *p, const char *key, const char *value) {
        return config_parse_ifname(p, key, value, &p->config->nat66_interface);
}

/* systemd's spellings of a boolean (parse_boolean()). */
static int parse_boolean(const char *v) {
        static const char * const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char * const no[] = { "0", "no", "n", "false", "f", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(v, yes[i]) == 0)
                        return 1;
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(v, no[i]) == 0)
                        return 0;
        return -EINVAL;
}

static int config_parse_fast_path(ConfigParser *p, const char *key, const char *value) {
        int b;

        if (!*value) {
                p->config->fast_path = CONFIG_DEFAULT_FAST_PATH;
                return 0;
        }
        b = parse_boolean(value);
        if (b < 0)
                return config_error(p, current_location(p, key), "\"%s\" is neither \"yes\" nor \"no\"", value);
        p->config->fast_path = b;
        return 0;
}

static int config_parse_nat46_interface(ConfigParser *p, const char *key, const char *value) {
        return config_parse_ifname(p, key, value, &p->config->nat46_interface);
}

static int config_parse_nat46_prefix(ConfigParser *p, const char *key, const char *value) {
        Config *c = p->config;
        int r;

        if (!*value) {
                c->has_nat46_prefix = false;
                return 0;
        }

        r = config_parse_prefix4(p, key, value, &c->nat46_prefix);
        if (r < 0)
                return r;
        c->has_nat46_prefix = true;
        return 0;
}

static int config_parse_multicast_map(ConfigParser *p, const char *key, const char *value) {
        Config *c = p->config;
        _cleanup_free_ char *words = NULL;
        char *text6, *text4;
        const char *reason;
        MulticastMap map;

        if (!*value) {
                LIST_RESET(c->multicast_maps, c->n_multicast_maps);
                return 0;
        }

        words = strdup(value);
        if (!words)
                return -ENOMEM;
        if (split_pair(words, &text6, &text4) < 0)
                return config_error(p, current_location(p, key),
                                    "\"%s\" is not \"IPV6-GROUP IPV4-GROUP\"", value);
        if (parse_in6(text6, &map.group6) < 0)
                return config_error(p, current_location(p, key), "\"%s\" is not an IPv6 address", text6);
        if (parse_in4(text4, &map.group4) < 0)
                return config_error(p, current_location(p, key), "\"%s\" is not an IPv4 address", text4);
        if (multicast_map_validate(c, &map, SIZE_MAX, &reason) < 0)
                return config_error(p, current_location(p, key), "\"%s\": %s", value, reason);

        return CONFIG_APPEND(p, key, c->multicast_maps, c->n_multicast_maps, CONFIG_MAX_MULTICAST_MAPS, map);
}

static int config_parse_multicast_lan_interface(ConfigParser *p, const char *key, const char *value) {
        return config_parse_ifname(p, key, value, &p->config->multicast_lan_interface);
}

/* An absolute path of a UNIX socket (sun_path holds 107 characters and a NUL). */
#define CONFIG_MAX_SOCKET_PATH 107

static int config_parse_conntrackd_socket(ConfigParser *p, const char *key, const char *value) {
        Config *c = p->config;
        char *copy;

        if (!*value) {
                free(c->ha_conntrackd_socket);
                c->ha_conntrackd_socket = NULL;
                return 0;
        }
        if (value[0] != '/')
                return config_error(p, current_location(p, key), "\"%s\" is not an absolute path", value);
        if (strlen(value) > CONFIG_MAX_SOCKET_PATH)
                return config_error(p, current_location(p, key),
                                    "\"%s\" is longer than a UNIX socket path may be (%d characters)", value,
                                    CONFIG_MAX_SOCKET_PATH);
        for (const char *s = value; *s; s++)
                if ((unsigned char) *s < ' ' || *s == 0x7f)
                        return config_error(p, current_location(p, key), "the path has a control character");

        copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        free(c->ha_conntrackd_socket);
        c->ha_conntrackd_socket = copy;
        return 0;
}

typedef int (*ConfigKeyParser)(ConfigParser *p, const char *key, const char *value);

/* The schema: every section and key of PRODUCT.md "Configuration". */
static const struct ConfigKey {
        const char *section;
        const char *name;
        ConfigKeyParser parse;
} config_keys[] = {
        { "Translator", "Prefix",          config_parse_nat64_prefix      },
        { "Translator", "WANInterface",    config_parse_wan_interface     },
        { "Translator", "IPv4Address",     config_parse_ipv4_address      },
        { "Translator", "PortRange",       config_parse_port_range        },
        { "Translator", "EAM",             config_parse_eam               },
        { "Translator", "RFC6791Address",  config_parse_rfc6791_address  },
        { "Translator", "LowestIPv6MTU",   config_parse_lowest_ipv6_mtu   },
        { "Translator", "UDPZeroChecksum", config_parse_udp_zero_checksum },
        { "NAT66",      "ClientPrefix",    config_parse_client_prefix     },
        { "NAT66",      "Interface",       config_parse_nat66_interface   },
        { "NAT66",      "FastPath",        config_parse_fast_path         },
        { "NAT46",      "Interface",       config_parse_nat46_interface   },
        { "NAT46",      "IPv4Prefix",      config_parse_nat46_prefix      },
        { "Multicast",  "Map",             config_parse_multicast_map     },
        { "Multicast",  "LANInterface",    config_parse_multicast_lan_interface },
        { "HA",         "ConntrackdSocket", config_parse_conntrackd_socket },
};
_Static_assert(ELEMENTSOF(config_keys) == CONFIG_N_KEYS, "CONFIG_N_KEYS must count config_keys[]");

/* The table's own spelling of the section, or NULL if there is no such section. */
static const char *config_section_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++)
                if (streq(config_keys[i].section, name))
                        return config_keys[i].section;
        return NULL;
}

static const struct ConfigKey *config_key_find(const char *section, const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++)
                if (streq(config_keys[i].section, section) && streq(config_keys[i].name, name))
                        return &config_keys[i];
        return NULL;
}

/* inih's handler: one "Key=Value" of the current section. Nonzero = go on. */
static int config_handle_assignment(void *userdata, const char *section, const char *name, const char *value) {
        ConfigParser *p = userdata;
        const struct ConfigKey *key;
        int r;

        if (p->error == -ENOMEM)
                return 0;
        if (p->in_bad_section)
                return 1;       /* the header was reported already */
        if (!p->section) {
                config_error(p, current_location(p, name), "assignment outside of any section");
                return 1;
        }

        key = config_key_find(p->section, name);
        if (!key) {
                config_error(p, current_location(p, name), "unknown key");
                return 1;
        }

        r = key->parse(p, key->name, value);
        if (r == -ENOMEM) {
                config_fail(p, r);
                return 0;
        }
        if (r < 0)
                p->key_invalid[key - config_keys] = true;
        return 1;
}

static char *strip_whitespace(char *s) {
        char *end;

        s += strspn(s, " \t\r\n\f\v");
        end = s + strlen(s);
        while (end > s && strchr(" \t\r\n\f\v", end[-1]))
                end--;
        *end = '\0';
        return s;
}

/* Cuts a comment: '#' or ';' starting the line or after whitespace (values
 * never contain either, and "Key=a#b" is left for the value check to refuse). */
static void strip_comment(char *s) {
        for (char *c = s; *c; c++)
                if ((*c == '#' || *c == ';') && (c == s || c[-1] == ' ' || c[-1] == '\t')) {
                        *c = '\0';
                        return;
                }
}

/* "[Name]": sets the current section; an unknown or malformed one is
 * reported once and its keys are skipped. */
static void config_enter_section(ConfigParser *p, char *header) {
        size_t n = strlen(header);

        p->section = NULL;
        p->in_bad_section = true;

        if (n < 2 || header[n - 1] != ']' || strpbrk(header + 1, "[]") != header + n - 1) {
                config_error(p, current_location(p, NULL), "\"%s\" is not a section header \"[Name]\"", header);
                return;
        }

        header[n - 1] = '\0';          /* the name alone, for a moment */
        p->section = config_section_find(header + 1);
        if (!p->section) {
                SourceLocation where = current_location(p, NULL);

                where.section = header + 1;
                config_error(p, where, "unknown section");
        }
        header[n - 1] = ']';
        p->in_bad_section = !p->section;
}

/*
 * Turns one physical line into what inih should see: "" for nothing,
 * "[Section]" or "Key=Value". Returns NULL (and reports why) for lines inih
 * must not see.
 */
static const char *config_lex_line(ConfigParser *p, char *line, size_t length, size_t max_length) {
        static const char utf8_bom[] = "\xef\xbb\xbf";
        char *content;

        if (memchr(line, '\0', length)) {
                config_error(p, current_location(p, NULL), "line contains a NUL byte");
                return NULL;
        }
        if (p->line_number == 1 && strncmp(line, utf8_bom, strlen(utf8_bom)) == 0)
                line += strlen(utf8_bom);

        strip_comment(line);
        content = strip_whitespace(line);
        if (*content == '\0')
                return "";

        if (*content == '[') {
                config_enter_section(p, content);
                return p->in_bad_section ? NULL : content;
        }

        /* inih splits at the first '=' or ':'; we only have "Key=Value". */
        if (content[strcspn(content, "=:")] != '=') {
                config_error(p, current_location(p, NULL), "\"%s\" is not \"Key=Value\"", content);
                return NULL;
        }

        if (strlen(content) > max_length) {
                char key[64];

                snprintf(key, sizeof(key), "%.*s", (int) strcspn(content, "= \t"), content);
                config_error(p, current_location(p, key), "line too long, at most %zu characters without comments",
                             max_length);
                return NULL;
        }
        return content;
}

/* inih's reader, fgets()-like: one physical line per call, so inih's line
 * count and ours agree. */
static char *config_read_line(char *buffer, int size, void *userdata) {
        ConfigParser *p = userdata;
        const char *content;
        ssize_t n;

        if (p->error == -ENOMEM)
                return NULL;

        errno = 0;
        n = getline(&p->line, &p->line_allocated, p->file);
        if (n < 0) {
                if (ferror(p->file))
                        config_fail(p, log_error_errno(negative_errno(), "%s:%u: Failed to read: %m",
                                                       p->path, p->line_number + 1));
                return NULL;
        }
        p->line_number++;

        /* inih needs room for the '\n' and the NUL. */
        content = config_lex_line(p, p->line, (size_t) n, size > 2 ? (size_t) size - 2 : 0);
        snprintf(buffer, (size_t) size, "%s\n", content ?: "");
        return buffer;
}

static int config_parse_file(ConfigParser *p, const char *path) {
        _cleanup_(fclosep) FILE *f = NULL;
        struct stat st;
        int r;

        f = fopen(path, "re");
        if (!f || fstat(fileno(f), &st) < 0)
                return config_fail(p, log_error_errno(negative_errno(), "%s: Failed to open: %m", path));
        if (S_ISDIR(st.st_mode))
                return config_fail(p, log_error_errno(EISDIR, "%s: Failed to read: %m", path));

        /* Sections do not carry over from one file to the next. */
        p->path = path;
        p->file = f;
        p->line_number = 0;
        p->section = NULL;
        p->in_bad_section = false;

        r = ini_parse_stream(config_read_line, p, config_handle_assignment, p);
        p->file = NULL;
        if (r == -2 || p->error == -ENOMEM)
                return -ENOMEM;
        if (r > 0 && p->error == 0)
                /* Our reader hands inih only lines it accepts; just in case. */
                return config_error(p, (SourceLocation) { .file = path, .line = (unsigned) r }, "syntax error");
        return 0;
}

/* "*.conf", not hidden, not a directory (as systemd's drop-in lists). */
static int dropin_filter(const struct dirent *de) {
        size_t n = strlen(de->d_name);

        return de->d_name[0] != '.' && de->d_type != DT_DIR &&
                n > strlen(".conf") && streq(de->d_name + n - strlen(".conf"), ".conf");
}

static int dropin_compare(const struct dirent **a, const struct dirent **b) {
        return strcmp((*a)->d_name, (*b)->d_name);
}

/* PATH.d/\*.conf, sorted by name (bytes, as systemd sorts drop-ins). */
static int config_list_dropins(ConfigParser *p) {
        _cleanup_free_ char *dir = NULL;
        struct dirent **entries = NULL;
        int n, r = 0;

        dir = strjoin(p->main_path, ".d", "");
        if (!dir)
                return -ENOMEM;

        n = scandir(dir, &entries, dropin_filter, dropin_compare);
        if (n < 0) {
                r = negative_errno();
                if (r == -ENOENT)
                        return 0;
                return config_fail(p, log_error_errno(r, "%s: Failed to list drop-ins: %m", dir));
        }

        p->dropin_paths = calloc((size_t) n, sizeof(char *));
        if (p->dropin_paths)
                p->n_dropin_paths = (size_t) n;
        else if (n > 0)
                r = -ENOMEM;
        for (size_t i = 0; i < (size_t) n; i++) {
                if (p->dropin_paths) {
                        p->dropin_paths[i] = strjoin(dir, "/", entries[i]->d_name);
                        if (!p->dropin_paths[i])
                                r = -ENOMEM;
                }
                free(entries[i]);
        }
        free(entries);
        return r;
}

/*
 * RFC 7757 §3.3 would resolve overlapping EAM entries by longest match;
 * refusing them keeps every entry a reversible one-to-one mapping. The
 * table may hold CONFIG_MAX_EAMS entries, so each side is sorted once:
 * prefixes nest or are disjoint, and after sorting by (address, length)
 * any overlap shows up between neighbours.
 */
typedef struct PrefixKey {
        uint8_t bytes[16];
        unsigned len;
        size_t index;
} PrefixKey;

static int prefix_key_compare(const void *a, const void *b) {
        const PrefixKey *x = a, *y = b;
        int d = memcmp(x->bytes, y->bytes, sizeof(x->bytes));

        if (d != 0)
                return d;
        if (x->len != y->len)
                return x->len < y->len ? -1 : 1;
        return x->index < y->index ? -1 : x->index > y->index;
}

static int config_check_eam_side(ConfigParser *p, int family) {
        const Config *c = p->config;
        const char *family_name = family == AF_INET6 ? "IPv6" : "IPv4";
        _cleanup_free_ PrefixKey *keys = NULL;

        keys = calloc(c->n_eams, sizeof(PrefixKey));
        if (!keys)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_eams; i++) {
                const EamEntry *e = &c->eams[i];

                if (family == AF_INET6) {
                        memcpy(keys[i].bytes, &e->v6.addr, sizeof(e->v6.addr));
                        keys[i].len = e->v6.len;
                } else {
                        memcpy(keys[i].bytes, &e->v4.addr, sizeof(e->v4.addr));
                        keys[i].len = e->v4.len;
                }
                keys[i].index = i;
        }
        qsort(keys, c->n_eams, sizeof(PrefixKey), prefix_key_compare);

        for (size_t i = 1; i < c->n_eams; i++) {
                const PrefixKey *a = &keys[i - 1], *b = &keys[i];
                /* Report at the entry given later; name the earlier one. */
                size_t earlier = MIN(a->index, b->index), later = a->index + b->index - earlier;

                if (!bits_equal(a->bytes, b->bytes, MIN(a->len, b->len)))
                        continue;
                config_error(p, p->eam_locations[later], "the %s side overlaps EAM= at %s:%u",
                             family_name, p->eam_locations[earlier].file, p->eam_locations[earlier].line);
        }
        return 0;
}

static int config_check_eam_overlaps(ConfigParser *p) {
        int r;

        if (p->config->n_eams < 2)
                return 0;
        r = config_check_eam_side(p, AF_INET6);
        if (r < 0)
                return r;
        return config_check_eam_side(p, AF_INET);
}

/* A key missing once every file is read: an error about the files as a whole. */
static void config_require(ConfigParser *p, bool present, const char *section, const char *key, const char *reason) {
        if (!present && !p->key_invalid[config_key_find(section, key) - config_keys])
                config_error(p, (SourceLocation) { .file = p->main_path, .section = section, .key = key },
                             "missing, %s", reason);
}

static void config_check_complete(ConfigParser *p) {
        const Config *c = p->config;

        config_require(p, c->wan_interface, "Translator", "WANInterface", "the IPv4-facing interface must be set");
        config_require(p, c->n_ipv4_addresses > 0, "Translator", "IPv4Address", "at least one address is required");
        config_require(p, c->n_client_prefixes > 0, "NAT66", "ClientPrefix", "at least one prefix is required");
        config_require(p, c->has_nat46_prefix || !c->nat46_interface, "NAT46", "IPv4Prefix",
                       "required together with Interface=");
        config_require(p, c->nat46_interface || !c->has_nat46_prefix, "NAT46", "Interface",
                       "required together with IPv4Prefix=");
        if (c->multicast_lan_interface && c->wan_interface && streq(c->multicast_lan_interface, c->wan_interface))
                config_error(p, (SourceLocation) { .file = p->main_path, .section = "Multicast", .key = "LANInterface" },
                             "\"%s\" is the WANInterface=: its groups would go back where they came from",
                             c->multicast_lan_interface);
}

static int config_fill_defaults(Config *c) {
        static const Prefix6 default_prefix = {
                .addr.s6_addr = NAT64_DEFAULT_PREFIX,
                .len = NAT64_DEFAULT_PREFIX_LEN,
        };

        if (c->n_prefixes > 0)
                return 0;
        c->prefixes = malloc(sizeof(Prefix6));
        if (!c->prefixes)
                return -ENOMEM;
        c->prefixes[0] = default_prefix;
        c->n_prefixes = 1;
        return 0;
}

int config_load(const char *path, Config **ret) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(config_parser_done) ConfigParser p = {};
        int r;

        if (!path || !ret)
                return -EINVAL;

        c = calloc(1, sizeof(Config));
        if (!c)
                return -ENOMEM;
        c->lowest_ipv6_mtu = IPV6_MIN_MTU;
        c->fast_path = CONFIG_DEFAULT_FAST_PATH;
        c->udp_zero_checksum = UDP_ZERO_CHECKSUM_COMPUTE;

        p.config = c;
        p.main_path = path;

        r = config_parse_file(&p, path);
        if (r < 0 && r != -EINVAL)
                return r;       /* no main file, or out of memory: nothing more to say */

        r = config_list_dropins(&p);
        if (r == -ENOMEM)
                return r;
        for (size_t i = 0; i < p.n_dropin_paths; i++)
                if (config_parse_file(&p, p.dropin_paths[i]) == -ENOMEM)
                        return -ENOMEM;

        r = config_check_eam_overlaps(&p);
        if (r < 0)
                return r;
        config_check_complete(&p);
        if (p.error < 0)
                return p.error;

        r = config_fill_defaults(c);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

Config *config_free(Config *c) {
        if (!c)
                return NULL;

        free(c->prefixes);
        free(c->wan_interface);
        free(c->ipv4_addresses);
        free(c->eams);
        free(c->client_prefixes);
        free(c->nat46_interface);
        free(c->nat66_interface);
        free(c->multicast_maps);
        free(c->multicast_lan_interface);
        free(c->ha_conntrackd_socket);
        free(c);
        return NULL;
}

void config_freep(Config **c) {
        *c = config_free(*c);
}

/* ---- Output ---- */

static void dump_prefix(FILE *f, int family, const void *addr, unsigned len) {
        char text[INET6_ADDRSTRLEN];

        inet_ntop(family, addr, text, sizeof(text));
        fprintf(f, "%s/%u", text, len);
}

static void dump_address(FILE *f, int family, const void *addr) {
        char text[INET6_ADDRSTRLEN];

        inet_ntop(family, addr, text, sizeof(text));
        fputs(text, f);
}

int config_dump(const Config *c, FILE *f) {
        fputs("[Translator]\n", f);
        for (size_t i = 0; i < c->n_prefixes; i++) {
                fputs("Prefix=", f);
                dump_prefix(f, AF_INET6, &c->prefixes[i].addr, c->prefixes[i].len);
                fputc('\n', f);
        }
        fprintf(f, "WANInterface=%s\n", c->wan_interface ?: "");
        for (size_t i = 0; i < c->n_ipv4_addresses; i++) {
                fputs("IPv4Address=", f);
                dump_address(f, AF_INET, &c->ipv4_addresses[i]);
                fputc('\n', f);
        }
        if (c->has_port_range)
                fprintf(f, "PortRange=%u-%u\n", c->port_min, c->port_max);
        for (size_t i = 0; i < c->n_eams; i++) {
                fputs("EAM=", f);
                dump_prefix(f, AF_INET6, &c->eams[i].v6.addr, c->eams[i].v6.len);
                fputc(' ', f);
                dump_prefix(f, AF_INET, &c->eams[i].v4.addr, c->eams[i].v4.len);
                fputc('\n', f);
        }
        if (c->has_rfc6791_address) {
                fputs("RFC6791Address=", f);
                dump_address(f, AF_INET, &c->rfc6791_address);
                fputc('\n', f);
        }
        fprintf(f, "LowestIPv6MTU=%u\n", c->lowest_ipv6_mtu);
        fprintf(f, "UDPZeroChecksum=%s\n", udp_zero_checksum_to_string(c->udp_zero_checksum) ?: "");

        fputs("\n[NAT66]\n", f);
        for (size_t i = 0; i < c->n_client_prefixes; i++) {
                fputs("ClientPrefix=", f);
                dump_prefix(f, AF_INET6, &c->client_prefixes[i].addr, c->client_prefixes[i].len);
                fputc('\n', f);
        }
        if (c->nat66_interface)
                fprintf(f, "Interface=%s\n", c->nat66_interface);
        if (c->fast_path != CONFIG_DEFAULT_FAST_PATH)   /* the default only when asked for: older dumps stay valid */
                fprintf(f, "FastPath=%s\n", c->fast_path ? "yes" : "no");

        if (c->nat46_interface || c->has_nat46_prefix) {
                fputs("\n[NAT46]\n", f);
                if (c->nat46_interface)
                        fprintf(f, "Interface=%s\n", c->nat46_interface);
                if (c->has_nat46_prefix) {
                        fputs("IPv4Prefix=", f);
                        dump_prefix(f, AF_INET, &c->nat46_prefix.addr, c->nat46_prefix.len);
                        fputc('\n', f);
                }
        }

        if (c->n_multicast_maps > 0 || c->multicast_lan_interface) {
                fputs("\n[Multicast]\n", f);
                if (c->multicast_lan_interface)
                        fprintf(f, "LANInterface=%s\n", c->multicast_lan_interface);
                for (size_t i = 0; i < c->n_multicast_maps; i++) {
                        fputs("Map=", f);
                        dump_address(f, AF_INET6, &c->multicast_maps[i].group6);
                        fputc(' ', f);
                        dump_address(f, AF_INET, &c->multicast_maps[i].group4);
                        fputc('\n', f);
                }
        }

        if (c->ha_conntrackd_socket)
                fprintf(f, "\n[HA]\nConntrackdSocket=%s\n", c->ha_conntrackd_socket);

        return ferror(f) ? -EIO : 0;
}
