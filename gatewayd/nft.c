/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The daemon's nftables table (nft.h): rendered from nft/nat64-gateway.nft.in,
 * applied through libnftables, watched over nfnetlink. The text of the table
 * lives in the template alone; this file only computes the values that go
 * into it (the template's header lists them and says what they mean).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "netlink.h"
#include "nft.h"
/* Its "#pragma unroll" is for clang -target bpf; gcc need not hear about it. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#include "rfc6052.h"
#pragma GCC diagnostic pop

/* The template is ours and small; anything this big is not it. */
#define NFT_TEMPLATE_MAX_SIZE (1024U * 1024U)

/*
 * Linux 6.3 added "destroy table" (delete, but no error if absent); Debian
 * 12's uapi headers predate it. The enum value is fixed uapi.
 */
#define NFT_MSG_DESTROYTABLE_ 26

/* ---- rendering ----------------------------------------------------------- */

typedef enum NftValue {
        NFT_VALUE_CLIENT_PREFIXES,
        NFT_VALUE_PREFIXES,
        NFT_VALUE_POOL,
        NFT_VALUE_POOL_SIZE,
        NFT_VALUE_POOL_BY_HASH,
        NFT_VALUE_IPV4_ADDRESSES,
        NFT_VALUE_WAN_INTERFACE,
        NFT_VALUE_PORT_RANGE,
        NFT_VALUE_MULTICAST_MAPS,
        NFT_VALUE_MULTICAST_PAIRS,
        NFT_VALUE_NAT46_CLIENTS,
        NFT_VALUE_HA_STANDBY,
        NFT_VALUE_TRANSLATOR_LINK,
        _NFT_VALUE_MAX,
        _NFT_VALUE_INVALID = -EINVAL,
} NftValue;

/* The placeholder names, as written between '@'s in the template. */
static const char *const nft_value_table[_NFT_VALUE_MAX] = {
        [NFT_VALUE_CLIENT_PREFIXES] = "CLIENT_PREFIXES",
        [NFT_VALUE_PREFIXES]        = "PREFIXES",
        [NFT_VALUE_POOL]            = "POOL",
        [NFT_VALUE_POOL_SIZE]       = "POOL_SIZE",
        [NFT_VALUE_POOL_BY_HASH]    = "POOL_BY_HASH",
        [NFT_VALUE_IPV4_ADDRESSES]  = "IPV4_ADDRESSES",
        [NFT_VALUE_WAN_INTERFACE]   = "WAN_INTERFACE",
        [NFT_VALUE_PORT_RANGE]      = "PORT_RANGE",
        [NFT_VALUE_MULTICAST_MAPS]  = "MULTICAST_MAPS",
        [NFT_VALUE_MULTICAST_PAIRS] = "MULTICAST_PAIRS",
        [NFT_VALUE_NAT46_CLIENTS]   = "NAT46_CLIENTS",
        [NFT_VALUE_HA_STANDBY]      = "HA_STANDBY",
        [NFT_VALUE_TRANSLATOR_LINK] = "TRANSLATOR_LINK",
};

static void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

typedef struct Values {
        char *text[_NFT_VALUE_MAX];
} Values;

static void values_done(Values *v) {
        for (size_t i = 0; i < _NFT_VALUE_MAX; i++)
                free(v->text[i]);
}

static void print_in6(FILE *f, const uint8_t addr[16]) {
        char buf[INET6_ADDRSTRLEN];

        fputs(inet_ntop(AF_INET6, addr, buf, sizeof(buf)), f);
}

/* Lists are comma-separated: prints the comma before every item but the first. */
static void print_separator(FILE *f, size_t i) {
        if (i > 0)
                fputs(", ", f);
}

/*
 * Every IPv4 address the gateway puts into IPv6 (pool, NAT46 clients,
 * multicast groups) goes into the first Prefix=, the one the translator's
 * 4to6 writes (bpf/nat64.bpf.c), so NAT66 and the translator agree.
 */
static void embed_in_first_prefix(const Config *c, struct in_addr v4, uint8_t ret[16]) {
        rfc6052_embed(c->prefixes[0].addr.s6_addr, c->prefixes[0].len, (const uint8_t *) &v4, ret);
}

/*
 * Length of the IPv6 prefix that holds exactly the IPv4 prefix of length
 * v4_len embedded into a prefix of length prefix_len. RFC 6052 §2.2 spreads
 * the IPv4 octets around the u octet (bits 64..71), but that octet is always
 * zero, so the embedded IPv4 prefix is still one IPv6 prefix (the u octet
 * inside it is matched as zero, as every translated address has it) and no
 * prefix length needs to be refused: the prefix ends after the bit where
 * the IPv4 prefix's last bit lands. Found by embedding a marker octet with
 * rfc6052_embed(), so the octet placement stays in rfc6052.h alone.
 */
static unsigned embedded_prefix_len(uint8_t prefix_len, uint8_t v4_len) {
        static const uint8_t zero[16] = {};
        uint8_t marker[4] = {}, out[16];
        unsigned last_bit;

        if (v4_len == 0)
                return prefix_len;

        last_bit = v4_len - 1U;
        marker[last_bit / 8] = 0xff;
        rfc6052_embed(zero, prefix_len, marker, out);
        for (unsigned i = 0; i < sizeof(out); i++)
                if (out[i])
                        return i * 8 + last_bit % 8 + 1;

        return 128;     /* not reached: the marker always lands somewhere */
}

static void print_prefix6(FILE *f, const uint8_t addr[16], unsigned len) {
        print_in6(f, addr);
        fprintf(f, "/%u", len);
}

/* NAT46 clients reach NAT66 as <first Prefix>::<their IPv4 address>. */
static void print_nat46_clients(const Config *c, FILE *f, size_t i) {
        uint8_t addr[16];

        if (!c->has_nat46_prefix)
                return;
        embed_in_first_prefix(c, c->nat46_prefix.addr, addr);
        print_separator(f, i);
        print_prefix6(f, addr, embedded_prefix_len(c->prefixes[0].len, c->nat46_prefix.len));
}

static void print_client_prefixes(const Config *c, FILE *f) {
        for (size_t i = 0; i < c->n_client_prefixes; i++) {
                print_separator(f, i);
                print_prefix6(f, c->client_prefixes[i].addr.s6_addr, c->client_prefixes[i].len);
        }
        print_nat46_clients(c, f, c->n_client_prefixes);
}

static int value_print(NftValue v, const Config *c, const NftHA *ha, FILE *f) {
        /* New flows go to the addresses this node holds (HA), else to all of them. */
        const struct in_addr *snat = ha && ha->n_snat_addresses > 0 ? ha->snat_addresses : c->ipv4_addresses;
        size_t n_snat = ha && ha->n_snat_addresses > 0 ? ha->n_snat_addresses : c->n_ipv4_addresses;
        uint8_t addr[16];

        switch (v) {
        case NFT_VALUE_CLIENT_PREFIXES:
                print_client_prefixes(c, f);
                break;
        case NFT_VALUE_PREFIXES:
                for (size_t i = 0; i < c->n_prefixes; i++) {
                        print_separator(f, i);
                        print_prefix6(f, c->prefixes[i].addr.s6_addr, c->prefixes[i].len);
                }
                break;
        case NFT_VALUE_POOL:
                for (size_t i = 0; i < c->n_ipv4_addresses; i++) {
                        print_separator(f, i);
                        embed_in_first_prefix(c, c->ipv4_addresses[i], addr);
                        print_in6(f, addr);
                }
                break;
        case NFT_VALUE_POOL_SIZE:
                fprintf(f, "%zu", n_snat);
                break;
        case NFT_VALUE_POOL_BY_HASH:
                for (size_t i = 0; i < n_snat; i++) {
                        print_separator(f, i);
                        embed_in_first_prefix(c, snat[i], addr);
                        fprintf(f, "%zu : ", i);
                        print_in6(f, addr);
                }
                break;
        case NFT_VALUE_IPV4_ADDRESSES:
                for (size_t i = 0; i < c->n_ipv4_addresses; i++) {
                        char buf[INET_ADDRSTRLEN];

                        print_separator(f, i);
                        fputs(inet_ntop(AF_INET, &c->ipv4_addresses[i], buf, sizeof(buf)), f);
                }
                break;
        case NFT_VALUE_WAN_INTERFACE:
                /* conf.c allows only interface-name characters: nothing to quote */
                fputs(c->wan_interface, f);
                break;
        case NFT_VALUE_PORT_RANGE:
                if (c->has_port_range)
                        fprintf(f, "%u-%u", c->port_min, c->port_max);
                break;
        case NFT_VALUE_MULTICAST_MAPS:
        case NFT_VALUE_MULTICAST_PAIRS:
                for (size_t i = 0; i < c->n_multicast_maps; i++) {
                        print_separator(f, i);
                        print_in6(f, c->multicast_maps[i].group6.s6_addr);
                        fputs(v == NFT_VALUE_MULTICAST_MAPS ? " : " : " . ", f);
                        embed_in_first_prefix(c, c->multicast_maps[i].group4, addr);
                        print_in6(f, addr);
                }
                break;
        case NFT_VALUE_NAT46_CLIENTS:
                print_nat46_clients(c, f, 0);
                break;
        case NFT_VALUE_HA_STANDBY:
                if (ha && ha->standby)
                        fputs("standby", f);
                break;
        case NFT_VALUE_TRANSLATOR_LINK:
                fputs(TRANSLATOR_LINK, f);
                break;
        default:
                return -EINVAL;
        }
        return 0;
}

static int values_compute(const Config *c, const NftHA *ha, Values *ret) {
        /* The template uses these lists unconditionally; config_load() never
         * gives them empty, a hand-made Config might. */
        if (c->n_prefixes == 0 || c->n_ipv4_addresses == 0 || c->n_client_prefixes == 0)
                return -EINVAL;
        if (!rfc6052_prefix_len_valid(c->prefixes[0].len))
                return -EINVAL;

        for (NftValue v = 0; v < _NFT_VALUE_MAX; v++) {
                _cleanup_(fclosep) FILE *f = NULL;
                size_t size;
                int r;

                f = open_memstream(&ret->text[v], &size);
                if (!f)
                        return -ENOMEM;

                r = value_print(v, c, ha, f);
                if (r < 0)
                        return r;

                if (fflush(f) != 0 || ferror(f))
                        return -ENOMEM;
        }
        return 0;
}

/*
 * s points at the first character after an '@'. A placeholder is
 * "NAME@" with NAME of upper case letters, digits and '_' (nft's own "@set"
 * references are lower case). Returns the value, -ENOENT if s is no
 * placeholder (the '@' is nft's), -EINVAL for an unknown NAME (a template
 * bug, caught before nft sees it). *ret_len: length of NAME.
 */
static int placeholder_parse(const char *s, size_t *ret_len) {
        size_t n = 0;

        while (isupper((unsigned char) s[n]) || isdigit((unsigned char) s[n]) || s[n] == '_')
                n++;
        if (n == 0 || !isupper((unsigned char) s[0]) || s[n] != '@')
                return -ENOENT;

        for (NftValue v = 0; v < _NFT_VALUE_MAX; v++)
                if (strlen(nft_value_table[v]) == n && strncmp(s, nft_value_table[v], n) == 0) {
                        *ret_len = n;
                        return v;
                }

        log_debug("Unknown placeholder @%.*s@ in nftables template.", (int) n, s);
        return -EINVAL;
}

/* One template line (without its newline) into f. */
static int render_line(const char *line, size_t len, const Values *values, FILE *f) {
        const char *p = line, *end = line + len;
        size_t skip = strspn(line, " \t");
        size_t n;
        int v;

        /* Template comments explain the template; nft needs none of them. */
        if (skip < len && line[skip] == '#')
                return 0;

        /* "@?NAME@" / "@!NAME@" at the start: the line only if NAME is (not) empty. */
        if (len >= 2 && line[0] == '@' && (line[1] == '?' || line[1] == '!')) {
                bool want_set = line[1] == '?';

                v = placeholder_parse(line + 2, &n);
                if (v < 0)
                        return -EINVAL;
                if (want_set != (values->text[v][0] != '\0'))
                        return 0;
                p = line + 2 + n + 1;
        }

        while (p < end) {
                const char *at = memchr(p, '@', (size_t) (end - p));

                if (!at) {
                        fwrite(p, 1, (size_t) (end - p), f);
                        break;
                }
                fwrite(p, 1, (size_t) (at - p), f);

                v = placeholder_parse(at + 1, &n);
                if (v == -ENOENT) {
                        fputc('@', f);
                        p = at + 1;
                        continue;
                }
                if (v < 0)
                        return v;

                fputs(values->text[v], f);
                p = at + 1 + n + 1;
        }
        fputc('\n', f);
        return 0;
}

static int template_read(const char *path, char **ret) {
        _cleanup_(fclosep) FILE *in = NULL;
        _cleanup_free_ char *text = NULL;
        size_t n;

        in = fopen(path, "re");
        if (!in)
                return negative_errno();

        text = malloc(NFT_TEMPLATE_MAX_SIZE + 1);
        if (!text)
                return -ENOMEM;

        n = fread(text, 1, NFT_TEMPLATE_MAX_SIZE + 1, in);
        if (ferror(in))
                return -EIO;
        if (n > NFT_TEMPLATE_MAX_SIZE)
                return -EFBIG;
        if (memchr(text, '\0', n))
                return -EBADMSG;
        text[n] = '\0';

        *ret = TAKE_PTR(text);
        return 0;
}

int nft_render(const Config *c, const char *template_path, char **ret) {
        return nft_render_ha(c, NULL, template_path, ret);
}

int nft_render_ha(const Config *c, const NftHA *ha, const char *template_path, char **ret) {
        _cleanup_(values_done) Values values = {};
        _cleanup_free_ char *template = NULL, *out = NULL;
        _cleanup_(fclosep) FILE *f = NULL;
        size_t size;
        int r;

        r = values_compute(c, ha, &values);
        if (r < 0)
                return r;

        r = template_read(template_path, &template);
        if (r < 0)
                return r;

        f = open_memstream(&out, &size);
        if (!f)
                return -ENOMEM;

        for (const char *line = template; *line; ) {
                size_t len = strcspn(line, "\n");

                r = render_line(line, len, &values, f);
                if (r < 0)
                        return r;

                line += len;
                if (*line == '\n')
                        line++;
        }

        if (fclose(TAKE_PTR(f)) != 0)
                return -ENOMEM;

        *ret = TAKE_PTR(out);
        return 0;
}

/* ---- libnftables --------------------------------------------------------- */

static void nft_ctx_freep(struct nft_ctx **ctx) {
        if (*ctx)
                nft_ctx_free(*ctx);
}

/*
 * Runs commands as one transaction. libnftables reports failure as -1 and
 * the reason as text only: the text goes to *ret_error (or the debug log),
 * the return value is -EINVAL, or the errno the kernel gave if the text
 * names one of those that mean something other than a bad ruleset.
 */
static int nft_run(const char *commands, char **ret_error) {
        static const int kernel_errors[] = { EPERM, EACCES, ENOMEM, ENOBUFS, EOPNOTSUPP, EAFNOSUPPORT };
        _cleanup_(nft_ctx_freep) struct nft_ctx *ctx = NULL;
        const char *error;

        ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx)
                return -ENOMEM;

        /* Keep libnftables from writing to our stderr; we decide what is logged. */
        if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0)
                return -ENOMEM;

        if (nft_run_cmd_from_buffer(ctx, commands) == 0)
                return 0;

        error = nft_ctx_get_error_buffer(ctx);
        if (!error || !*error)
                error = "unknown error\n";
        log_debug("nft: %s", error);

        if (ret_error) {
                *ret_error = strdup(error);
                if (!*ret_error)
                        return -ENOMEM;
        }

        for (size_t i = 0; i < ELEMENTSOF(kernel_errors); i++)
                if (strstr(error, strerror(kernel_errors[i])))
                        return -kernel_errors[i];
        return -EINVAL;
}

/*
 * "Add" (a no-op if it exists), delete, re-create: the delete never fails
 * for a missing table, and the kernel commits all of it or none.
 */
#define NFT_TABLE_RESET                                                         \
        "table " NFT_TABLE_FAMILY " " NFT_TABLE_NAME " {}\n"                    \
        "delete table " NFT_TABLE_FAMILY " " NFT_TABLE_NAME "\n"                \
        "table " NFT_GUARD_TABLE_FAMILY " " NFT_TABLE_NAME " {}\n"              \
        "delete table " NFT_GUARD_TABLE_FAMILY " " NFT_TABLE_NAME "\n"

int nft_apply_full(const char *ruleset_text, char **ret_error) {
        _cleanup_free_ char *commands = NULL;
        size_t n;

        n = strlen(NFT_TABLE_RESET) + strlen(ruleset_text) + 1;
        commands = malloc(n);
        if (!commands)
                return -ENOMEM;
        snprintf(commands, n, NFT_TABLE_RESET "%s", ruleset_text);

        return nft_run(commands, ret_error);
}

int nft_apply(const char *ruleset_text) {
        return nft_apply_full(ruleset_text, NULL);
}

int nft_remove(void) {
        return nft_run(NFT_TABLE_RESET, NULL);
}

/*
 * nft's own text of "list counters" is stable and simple ("counter NAME {",
 * then "packets N bytes M"), so it is read as it is, with no JSON parser.
 */
static void counters_parse(const char *out, NftCounter *ret, size_t max, size_t *n) {
        for (const char *p = out ? strstr(out, "counter ") : NULL; p && *n < max; p = strstr(p, "counter ")) {
                NftCounter *c = &ret[*n];
                unsigned long long packets, bytes;
                const char *q;

                p += strlen("counter ");
                if (sscanf(p, "%31[A-Za-z0-9_-] {", c->name) != 1)
                        continue;
                q = strstr(p, "packets ");
                if (!q || sscanf(q, "packets %llu bytes %llu", &packets, &bytes) != 2)
                        continue;
                c->packets = packets;
                c->bytes = bytes;
                (*n)++;
        }
}

int nft_read_counters(NftCounter *ret, size_t max, size_t *ret_n) {
        static const char *const commands[] = {
                "list counters table " NFT_TABLE_FAMILY " " NFT_TABLE_NAME "\n",
                "list counters table " NFT_GUARD_TABLE_FAMILY " " NFT_TABLE_NAME "\n",
        };
        size_t n = 0;

        for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
                _cleanup_(nft_ctx_freep) struct nft_ctx *ctx = NULL;

                ctx = nft_ctx_new(NFT_CTX_DEFAULT);
                if (!ctx)
                        return -ENOMEM;
                if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0)
                        return -ENOMEM;
                if (nft_run_cmd_from_buffer(ctx, commands[i]) != 0) {
                        if (i == 0)
                                return -ENOENT;
                        continue;       /* the guard table exists only with PortRange= */
                }
                counters_parse(nft_ctx_get_output_buffer(ctx), ret, max, &n);
        }
        *ret_n = n;
        return 0;
}

/* ---- nfnetlink ----------------------------------------------------------- */

/* Asks the kernel directly: its ENOENT is unambiguous, unlike nft's error text. */
int nft_table_exists(uint8_t family) {
        _cleanup_(netlink_socket_closep) struct mnl_socket *s = NULL;
        uint8_t buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh;
        int r;

        r = netlink_socket_open(NETLINK_NETFILTER, 0, &s);
        if (r < 0)
                return r;

        nlh = netlink_nfnl_message_put(buf, NFNL_SUBSYS_NFTABLES, NFT_MSG_GETTABLE, family);
        mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, NFT_TABLE_NAME);

        r = netlink_socket_transact(s, nlh, NULL, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        return 1;
}

struct NftMonitor {
        struct mnl_socket *socket;
};

int nft_monitor_new(NftMonitor **ret) {
        _cleanup_free_ NftMonitor *m = NULL;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;

        r = netlink_socket_open(NETLINK_NETFILTER, 1U << (NFNLGRP_NFTABLES - 1), &m->socket);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

int nft_monitor_fd(NftMonitor *m) {
        return mnl_socket_get_fd(m->socket);
}

/*
 * Sets *(bool *) userdata when one of our tables is deleted. "nft flush ruleset"
 * deletes every table and says so per table, so this covers it too.
 */
static int nft_event_cb(const struct nlmsghdr *nlh, void *userdata) {
        const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
        bool *deleted = userdata;
        const struct nlattr *a;
        uint16_t type = NFNL_MSG_TYPE(nlh->nlmsg_type);

        if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
            (type != NFT_MSG_DELTABLE && type != NFT_MSG_DESTROYTABLE_))
                return 0;
        if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*nfg)) ||
            !IN_SET(nfg->nfgen_family, NFPROTO_IPV6, NFPROTO_IPV4))
                return 0;

        mnl_attr_for_each(a, nlh, sizeof(*nfg))
                if (mnl_attr_get_type(a) == NFTA_TABLE_NAME &&
                    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0 &&
                    streq(mnl_attr_get_str(a), NFT_TABLE_NAME))
                        *deleted = true;
        return 0;
}

int nft_monitor_process(NftMonitor *m) {
        bool deleted = false;
        int r;

        r = netlink_socket_drain(m->socket, nft_event_cb, &deleted);
        if (deleted)
                return 1;       /* whatever else happened, the caller looks at the table */
        return r;
}

NftMonitor *nft_monitor_free(NftMonitor *m) {
        if (!m)
                return NULL;
        netlink_socket_close(m->socket);
        free(m);
        return NULL;
}
