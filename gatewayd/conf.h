/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gateway.conf: the one home of the configuration schema (PRODUCT.md).
 * Parsed with libinih; every error names file, line and key.
 */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* meson passes sysconfdir: /etc for prefix /usr (the project's default, Debian's). */
#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define CONFIG_DEFAULT_PATH SYSCONFDIR "/nat64/gateway.conf"

/* Caps on user-controlled resources (STYLE.md 7). */
#define CONFIG_MAX_PREFIXES		8	/* = NAT64_MAX_PREFIXES */
#define CONFIG_MAX_IPV4_ADDRESSES	16	/* = NAT64_MAX_POOL4 */
#define CONFIG_MAX_EAMS			65536
/* Off: established packets would skip the operator's ip6 forward rules (gateway.conf(5)). */
#define CONFIG_DEFAULT_FAST_PATH	false
#define CONFIG_MAX_CLIENT_PREFIXES	1024
#define CONFIG_MAX_MULTICAST_MAPS	4096

typedef struct Prefix6 {
	struct in6_addr addr;
	uint8_t len;
} Prefix6;

typedef struct Prefix4 {
	struct in_addr addr;
	uint8_t len;
} Prefix4;

typedef struct EamEntry {
	Prefix6 v6;
	Prefix4 v4;	/* 128 - v6.len == 32 - v4.len (RFC 7757 §3.2) */
} EamEntry;

typedef struct MulticastMap {
	struct in6_addr group6;	/* IPv6 multicast group (ff00::/8) */
	struct in_addr group4;	/* IPv4 multicast group (224.0.0.0/4, not 224.0.0.0/24) */
} MulticastMap;

typedef enum UdpZeroChecksum {
	UDP_ZERO_CHECKSUM_COMPUTE,
	UDP_ZERO_CHECKSUM_DROP,
	_UDP_ZERO_CHECKSUM_MAX,
	_UDP_ZERO_CHECKSUM_INVALID = -22,
} UdpZeroChecksum;

const char *udp_zero_checksum_to_string(UdpZeroChecksum v);
UdpZeroChecksum udp_zero_checksum_from_string(const char *s);

typedef struct Config {
	/* [Translator] */
	Prefix6 *prefixes;		/* none given: 64:ff9b:1:fffe::/96 is filled in */
	size_t n_prefixes;
	char *wan_interface;		/* required */
	struct in_addr *ipv4_addresses;	/* required, at least one */
	size_t n_ipv4_addresses;
	bool has_port_range;
	uint16_t port_min, port_max;
	EamEntry *eams;
	size_t n_eams;
	bool has_rfc6791_address;
	struct in_addr rfc6791_address;
	uint32_t lowest_ipv6_mtu;	/* default 1280, range 1280..65535 */
	UdpZeroChecksum udp_zero_checksum;

	/* [NAT66] */
	Prefix6 *client_prefixes;	/* required, at least one */
	size_t n_client_prefixes;
	char *nat66_interface;		/* where the clients are: the fast path's hook */
	bool fast_path;			/* established flows take the fast path (bpf/lib/fastpath.h) */

	/* [NAT46] (both keys or none) */
	char *nat46_interface;
	bool has_nat46_prefix;
	Prefix4 nat46_prefix;

	/* [Multicast] */
	MulticastMap *multicast_maps;
	size_t n_multicast_maps;
	char *multicast_lan_interface;	/* the maps work the other way too, toward it (gatewayd/mroute.c) */

	/* [HA]: set, the gateway is one of a keepalived/conntrackd group (docs/HA.md) */
	char *ha_conntrackd_socket;
} Config;

/*
 * Reads path, then path.d/\*.conf in lexical order ("/etc/nat64/gateway.conf"
 * -> "/etc/nat64/gateway.conf.d/"). Keys that "may repeat" accumulate across
 * files; an empty assignment ("Prefix=") resets the list, as in systemd.
 * Errors are logged as "<3>FILE:LINE: [Section] Key=: reason" and the
 * function returns -EINVAL after reading everything (all errors are shown).
 * On failure *ret is untouched.
 */
int config_load(const char *path, Config **ret);
Config *config_free(Config *c);
void config_freep(Config **c);

/* The effective configuration as gateway.conf text (for --check-config). */
int config_dump(const Config *c, FILE *f);

/* Semantic checks shared with D-Bus AddStaticMap (InvalidArgs text in *ret_error). */
int multicast_map_validate(const Config *c, const MulticastMap *m, size_t skip_index, const char **ret_error);

/* Parsers, shared with D-Bus argument checking. Return 0 or -EINVAL. */
int parse_prefix6(const char *s, Prefix6 *ret);
int parse_prefix4(const char *s, Prefix4 *ret);
int parse_in6(const char *s, struct in6_addr *ret);
int parse_in4(const char *s, struct in_addr *ret);
