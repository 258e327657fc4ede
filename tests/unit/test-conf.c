/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The conf.h helpers that D-Bus argument checking shares with the parser
 * (the parser itself is tested through config-dump by test_config.py).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "macro.h"

static int failures;

#define CHECK(expr)                                                             \
        do {                                                                    \
                if (!(expr)) {                                                  \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #expr); \
                        failures++;                                             \
                }                                                               \
        } while (0)

static void test_prefixes(void) {
        Prefix6 p6 = { .len = 77 };
        Prefix4 p4 = { .len = 77 };
        struct in6_addr expected6;

        CHECK(parse_prefix6("64:ff9b:1:fffe::/96", &p6) == 0);
        CHECK(inet_pton(AF_INET6, "64:ff9b:1:fffe::", &expected6) == 1);
        CHECK(p6.len == 96 && memcmp(&p6.addr, &expected6, sizeof(expected6)) == 0);
        CHECK(parse_prefix6("2001:db8::1", &p6) == 0 && p6.len == 128);
        CHECK(parse_prefix6("::/0", &p6) == 0 && p6.len == 0);

        /* Failures leave *ret alone (STYLE.md 5). */
        p6.len = 77;
        CHECK(parse_prefix6("64:ff9b::1/96", &p6) == -EINVAL);      /* host bits */
        CHECK(parse_prefix6("64:ff9b::/129", &p6) == -EINVAL);
        CHECK(parse_prefix6("64:ff9b::/", &p6) == -EINVAL);
        CHECK(parse_prefix6("64:ff9b::/-1", &p6) == -EINVAL);
        CHECK(parse_prefix6("64:ff9b::/ 96", &p6) == -EINVAL);
        CHECK(parse_prefix6("192.0.2.0/24", &p6) == -EINVAL);
        CHECK(parse_prefix6("", &p6) == -EINVAL);
        CHECK(parse_prefix6(NULL, &p6) == -EINVAL);
        CHECK(p6.len == 77);

        CHECK(parse_prefix4("192.168.1.0/24", &p4) == 0 && p4.len == 24 &&
              p4.addr.s_addr == htonl(0xc0a80100));
        CHECK(parse_prefix4("192.168.1.7", &p4) == 0 && p4.len == 32);
        p4.len = 77;
        CHECK(parse_prefix4("192.168.1.1/24", &p4) == -EINVAL);
        CHECK(parse_prefix4("192.168.1.0/33", &p4) == -EINVAL);
        CHECK(parse_prefix4("192.168.1/24", &p4) == -EINVAL);
        CHECK(parse_prefix4("0300.0.0.0/8", &p4) == -EINVAL);       /* no octal */
        CHECK(p4.len == 77);
}

static void test_addresses(void) {
        struct in6_addr a6;
        struct in_addr a4;

        CHECK(parse_in6("ff3e:40:2001:db8:d0be:f00d:d09e:f00d", &a6) == 0 && a6.s6_addr[0] == 0xff);
        CHECK(parse_in6("ff3e::1/128", &a6) == -EINVAL);
        CHECK(parse_in6(" ff3e::1", &a6) == -EINVAL);
        CHECK(parse_in4("234.203.0.113", &a4) == 0 && a4.s_addr == htonl(0xeacb0071));
        CHECK(parse_in4("234.203.0.113 ", &a4) == -EINVAL);
        CHECK(parse_in4("1.2.3", &a4) == -EINVAL);
}

static MulticastMap map(const char *group6, const char *group4) {
        MulticastMap m;

        if (parse_in6(group6, &m.group6) < 0 || parse_in4(group4, &m.group4) < 0)
                abort();
        return m;
}

static void test_multicast_map_validate(void) {
        MulticastMap maps[] = {
                map("ff3e::1", "234.0.0.1"),
                map("ff3e::2", "234.0.0.2"),
        };
        Config c = { .multicast_maps = maps, .n_multicast_maps = ELEMENTSOF(maps) };
        const char *error = NULL;
        MulticastMap m;

        m = map("ff3e::3", "234.0.0.3");
        CHECK(multicast_map_validate(&c, &m, SIZE_MAX, &error) == 0 && !error);
        CHECK(multicast_map_validate(&c, &m, SIZE_MAX, NULL) == 0);

        m = map("2001:db8::1", "234.0.0.3");
        CHECK(multicast_map_validate(&c, &m, SIZE_MAX, &error) == -EINVAL && strstr(error, "IPv6 group"));
        m = map("ff3e::3", "192.0.2.1");
        CHECK(multicast_map_validate(&c, &m, SIZE_MAX, &error) == -EINVAL && strstr(error, "IPv4 group"));
        m = map("ff3e::3", "224.0.0.251");
        CHECK(multicast_map_validate(&c, &m, SIZE_MAX, &error) == -EINVAL && strstr(error, "224.0.0.0/24"));
        m = map("ff3e::3", "224.0.1.1");        /* just outside the link-local block */
        CHECK(multicast_map_validate(&c, &m, SIZE_MAX, &error) == 0);
        m = map("ff3e::3", "239.255.255.255");
        CHECK(multicast_map_validate(&c, &m, SIZE_MAX, &error) == 0);
        m = map("ff3e::3", "240.0.0.1");
        CHECK(multicast_map_validate(&c, &m, SIZE_MAX, &error) == -EINVAL);

        /* Collisions, and replacing an entry by itself (skip_index). */
        m = map("ff3e::1", "234.0.0.9");
        CHECK(multicast_map_validate(&c, &m, SIZE_MAX, &error) == -EINVAL && strstr(error, "IPv6 group is already"));
        CHECK(multicast_map_validate(&c, &m, 0, &error) == 0);
        m = map("ff3e::9", "234.0.0.2");
        CHECK(multicast_map_validate(&c, &m, SIZE_MAX, &error) == -EINVAL && strstr(error, "IPv4 group is already"));
        CHECK(multicast_map_validate(&c, &m, 1, &error) == 0);
        CHECK(multicast_map_validate(&c, &m, 0, &error) == -EINVAL);

        /* The cap holds for additions only. */
        c.n_multicast_maps = 0;
        m = map("ff3e::3", "234.0.0.3");
        CHECK(multicast_map_validate(&c, &m, SIZE_MAX, &error) == 0);
        {
                _cleanup_free_ MulticastMap *full = calloc(CONFIG_MAX_MULTICAST_MAPS, sizeof(MulticastMap));

                if (!full)
                        abort();
                for (size_t i = 0; i < CONFIG_MAX_MULTICAST_MAPS; i++) {
                        full[i].group6.s6_addr[0] = 0xff;
                        full[i].group6.s6_addr[1] = 0x3e;
                        full[i].group6.s6_addr[12] = 1;         /* ff3e::1:0:<i>, not ff3e::3 */
                        full[i].group6.s6_addr[14] = (uint8_t) (i >> 8);
                        full[i].group6.s6_addr[15] = (uint8_t) i;
                        full[i].group4.s_addr = htonl(0xea010000 + (uint32_t) i);
                }
                c.multicast_maps = full;
                c.n_multicast_maps = CONFIG_MAX_MULTICAST_MAPS;
                CHECK(multicast_map_validate(&c, &m, SIZE_MAX, &error) == -EINVAL && strstr(error, "too many"));
                CHECK(multicast_map_validate(&c, &m, 7, &error) == 0);
        }
}

static void test_udp_zero_checksum_strings(void) {
        for (UdpZeroChecksum v = 0; v < _UDP_ZERO_CHECKSUM_MAX; v++)
                CHECK(udp_zero_checksum_from_string(udp_zero_checksum_to_string(v)) == v);
        CHECK(streq(udp_zero_checksum_to_string(UDP_ZERO_CHECKSUM_COMPUTE), "compute"));
        CHECK(streq(udp_zero_checksum_to_string(UDP_ZERO_CHECKSUM_DROP), "drop"));
        CHECK(udp_zero_checksum_from_string("Drop") == _UDP_ZERO_CHECKSUM_INVALID);
        CHECK(udp_zero_checksum_from_string(NULL) == _UDP_ZERO_CHECKSUM_INVALID);
        CHECK(udp_zero_checksum_to_string(_UDP_ZERO_CHECKSUM_MAX) == NULL);
        CHECK(udp_zero_checksum_to_string(_UDP_ZERO_CHECKSUM_INVALID) == NULL);
}

int main(void) {
        test_prefixes();
        test_addresses();
        test_multicast_map_validate();
        test_udp_zero_checksum_strings();

        if (failures > 0) {
                fprintf(stderr, "%d check(s) failed\n", failures);
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
