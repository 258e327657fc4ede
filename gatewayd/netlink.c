/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rtnetlink over libmnl (netlink.h). Requests go one at a time over one
 * socket and wait for their ACK, so every function returns the kernel's own
 * errno: -ENODEV for a missing link, -ESRCH for a missing route, -EEXIST
 * for a name taken by someone else.
 */
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <net/if.h>             /* before the linux/ headers, which then leave out its definitions */
#include <linux/if_link.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "netlink.h"

/*
 * Big enough for one message of any dump (the kernel fills a dump skb up
 * to 32 KiB when the reader offers that much; less and it truncates).
 */
#define NETLINK_BUFFER_SIZE (32U * 1024U)

/* Monitors see bursts (a whole nft table is hundreds of messages): room for them. */
#define NETLINK_MONITOR_RCVBUF (4U * 1024U * 1024U)

/* IPv6 sysctl values (Documentation/networking/ip-sysctl.rst). */
#define IN6_ADDR_GEN_MODE_NONE_STR "1"

struct Netlink {
        struct mnl_socket *socket;
};

struct NetlinkMonitor {
        struct mnl_socket *socket;
        netlink_addr_cb addr_cb;        /* NULL: IPv4 address events are ignored */
};

/* ---- libmnl plumbing (shared with nft.c) -------------------------------- */

struct mnl_socket *netlink_socket_close(struct mnl_socket *s) {
        if (s)
                mnl_socket_close(s);
        return NULL;
}

int netlink_socket_open(int bus, unsigned groups, struct mnl_socket **ret) {
        _cleanup_(netlink_socket_closep) struct mnl_socket *s = NULL;
        int one = 1;

        /* Monitors live in the event loop and must never block it. */
        s = mnl_socket_open2(bus, SOCK_CLOEXEC | (groups ? SOCK_NONBLOCK : 0));
        if (!s)
                return negative_errno();

        /* Errors come back without a copy of our (possibly large) request. */
        (void) mnl_socket_setsockopt(s, NETLINK_CAP_ACK, &one, sizeof(one));

        if (groups) {
                int size = NETLINK_MONITOR_RCVBUF;

                /* Best effort: if the queue overflows anyway the reader sees ENOBUFS
                 * and looks at the whole state again. */
                (void) setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        }

        if (mnl_socket_bind(s, groups, MNL_SOCKET_AUTOPID) < 0)
                return negative_errno();

        *ret = TAKE_PTR(s);
        return 0;
}

typedef struct CallbackContext {
        netlink_msg_cb cb;
        void *userdata;
        int error;
} CallbackContext;

/* libmnl's callbacks speak MNL_CB_*; ours speak negative errno. */
static int callback_adapter(const struct nlmsghdr *nlh, void *data) {
        CallbackContext *ctx = data;
        int r;

        if (!ctx->cb)
                return MNL_CB_OK;

        r = ctx->cb(nlh, ctx->userdata);
        if (r < 0) {
                ctx->error = r;
                return MNL_CB_ERROR;
        }
        return MNL_CB_OK;
}

/* mnl_cb_run()'s -1: our callback's error, or the kernel's (errno). */
static int callback_run(const void *buf, size_t len, uint32_t seq, uint32_t portid, CallbackContext *ctx) {
        int r;

        errno = 0;
        r = mnl_cb_run(buf, len, seq, portid, callback_adapter, ctx);
        if (r < 0)
                return ctx->error < 0 ? ctx->error : negative_errno();
        return r;
}

int netlink_socket_transact(struct mnl_socket *s, struct nlmsghdr *nlh, netlink_msg_cb cb, void *userdata) {
        static uint32_t seq;
        _cleanup_free_ uint8_t *buf = NULL;
        CallbackContext ctx = { .cb = cb, .userdata = userdata };
        uint32_t portid = mnl_socket_get_portid(s);
        int r;

        buf = malloc(NETLINK_BUFFER_SIZE);
        if (!buf)
                return -ENOMEM;

        /* Dumps end with NLMSG_DONE and get no ACK whatever they ask (the
         * kernel skips it); everything else ends with its ACK. (A dump cannot
         * be told by its flags: NLM_F_DUMP's bits are NLM_F_REPLACE |
         * NLM_F_EXCL in a "new" request.) */
        nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
        nlh->nlmsg_seq = ++seq;

        if (mnl_socket_sendto(s, nlh, nlh->nlmsg_len) < 0)
                return negative_errno();

        do {
                ssize_t n;

                n = mnl_socket_recvfrom(s, buf, NETLINK_BUFFER_SIZE);
                if (n < 0)
                        return negative_errno();

                r = callback_run(buf, (size_t) n, nlh->nlmsg_seq, portid, &ctx);
                if (r < 0)
                        return r;
        } while (r != MNL_CB_STOP);

        return 0;
}

int netlink_socket_drain(struct mnl_socket *s, netlink_msg_cb cb, void *userdata) {
        _cleanup_free_ uint8_t *buf = NULL;
        CallbackContext ctx = { .cb = cb, .userdata = userdata };

        buf = malloc(NETLINK_BUFFER_SIZE);
        if (!buf)
                return -ENOMEM;

        for (;;) {
                ssize_t n;
                int r;

                n = mnl_socket_recvfrom(s, buf, NETLINK_BUFFER_SIZE);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 0;
                        /* ENOBUFS: the queue overflowed and events were lost. */
                        return negative_errno();
                }

                /* Notifications: any sequence number, any sender. */
                r = callback_run(buf, (size_t) n, 0, 0, &ctx);
                if (r < 0)
                        return r;
        }
}

struct nlmsghdr *netlink_nfnl_message_put(uint8_t *buf, uint8_t subsys, uint8_t type, uint8_t family) {
        struct nlmsghdr *nlh;
        struct nfgenmsg *nfg;

        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = (subsys << 8) | type;
        nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
        nfg->nfgen_family = family;
        nfg->version = NFNETLINK_V0;
        nfg->res_id = 0;
        return nlh;
}

/* ---- links --------------------------------------------------------------- */

int netlink_open(Netlink **ret) {
        _cleanup_free_ Netlink *nl = NULL;
        int r;

        nl = calloc(1, sizeof(*nl));
        if (!nl)
                return -ENOMEM;

        r = netlink_socket_open(NETLINK_ROUTE, 0, &nl->socket);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(nl);
        return 0;
}

Netlink *netlink_close(Netlink *nl) {
        if (!nl)
                return NULL;
        netlink_socket_close(nl->socket);
        free(nl);
        return NULL;
}

typedef struct LinkInfo {
        int ifindex;
        unsigned flags;                 /* IFF_* */
        uint32_t mtu;
        int peer_ifindex;               /* IFLA_LINK: a veth's peer; 0 if none */
        bool has_mac;
        uint8_t mac[6];
        char name[IFNAMSIZ];
        char kind[16];                  /* IFLA_INFO_KIND, "" for plain devices */
} LinkInfo;

static void link_info_parse_kind(const struct nlattr *linkinfo, LinkInfo *info) {
        const struct nlattr *a;

        mnl_attr_for_each_nested(a, linkinfo)
                if (mnl_attr_get_type(a) == IFLA_INFO_KIND &&
                    mnl_attr_validate(a, MNL_TYPE_STRING) >= 0)
                        snprintf(info->kind, sizeof(info->kind), "%.*s",
                                 (int) mnl_attr_get_payload_len(a), mnl_attr_get_str(a));
}

/* RTM_NEWLINK (a reply or an event) into *info. */
static int link_info_parse(const struct nlmsghdr *nlh, LinkInfo *info) {
        const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *a;

        if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifi)))
                return -EBADMSG;

        *info = (LinkInfo) {
                .ifindex = ifi->ifi_index,
                .flags = ifi->ifi_flags,
        };

        mnl_attr_for_each(a, nlh, sizeof(*ifi)) {
                switch (mnl_attr_get_type(a)) {
                case IFLA_IFNAME:
                        if (mnl_attr_validate(a, MNL_TYPE_STRING) >= 0)
                                snprintf(info->name, sizeof(info->name), "%.*s",
                                         (int) mnl_attr_get_payload_len(a), mnl_attr_get_str(a));
                        break;
                case IFLA_MTU:
                        if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
                                info->mtu = mnl_attr_get_u32(a);
                        break;
                case IFLA_LINK:
                        if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
                                info->peer_ifindex = (int) mnl_attr_get_u32(a);
                        break;
                case IFLA_ADDRESS:
                        /* Only Ethernet-style MACs are of use to the translator. */
                        if (mnl_attr_get_payload_len(a) == sizeof(info->mac)) {
                                memcpy(info->mac, mnl_attr_get_payload(a), sizeof(info->mac));
                                info->has_mac = true;
                        }
                        break;
                case IFLA_LINKINFO:
                        if (mnl_attr_validate(a, MNL_TYPE_NESTED) >= 0)
                                link_info_parse_kind(a, info);
                        break;
                }
        }
        return 0;
}

static int link_get_cb(const struct nlmsghdr *nlh, void *userdata) {
        if (nlh->nlmsg_type != RTM_NEWLINK)
                return 0;
        return link_info_parse(nlh, userdata);
}

/* A link request of type (RTM_*LINK) about ifindex (0: by name or new). */
static struct ifinfomsg *link_request_put(uint8_t *buf, uint16_t type, uint16_t flags, int ifindex,
                                          struct nlmsghdr **ret_nlh) {
        struct nlmsghdr *nlh;
        struct ifinfomsg *ifi;

        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = flags;
        ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = ifindex;
        *ret_nlh = nlh;
        return ifi;
}

/* By ifindex, or by name if ifindex is 0. -ENODEV if there is no such link. */
static int link_get(Netlink *nl, int ifindex, const char *ifname, LinkInfo *ret) {
        uint8_t buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh;
        LinkInfo info = {};
        int r;

        if (ifindex <= 0 && (!ifname || strlen(ifname) >= IFNAMSIZ))
                return -EINVAL;

        (void) link_request_put(buf, RTM_GETLINK, 0, ifindex > 0 ? ifindex : 0, &nlh);
        if (ifindex <= 0)
                mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);

        r = netlink_socket_transact(nl->socket, nlh, link_get_cb, &info);
        if (r < 0)
                return r;
        if (info.ifindex <= 0)
                return -ENODEV;

        *ret = info;
        return 0;
}

int netlink_link_ifindex(Netlink *nl, const char *ifname) {
        LinkInfo info;
        int r;

        r = link_get(nl, 0, ifname, &info);
        if (r < 0)
                return r;
        return info.ifindex;
}

int netlink_link_mtu(Netlink *nl, int ifindex, uint32_t *ret_mtu) {
        LinkInfo info;
        int r;

        r = link_get(nl, ifindex, NULL, &info);
        if (r < 0)
                return r;

        *ret_mtu = info.mtu;
        return 0;
}

int netlink_link_mac(Netlink *nl, int ifindex, uint8_t ret_mac[6]) {
        LinkInfo info;
        int r;

        r = link_get(nl, ifindex, NULL, &info);
        if (r < 0)
                return r;
        if (!info.has_mac)
                return -ENODATA;

        memcpy(ret_mac, info.mac, sizeof(info.mac));
        return 0;
}

static int link_delete(Netlink *nl, int ifindex) {
        uint8_t buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh;

        (void) link_request_put(buf, RTM_DELLINK, 0, ifindex, &nlh);
        return netlink_socket_transact(nl->socket, nlh, NULL, NULL);
}

/* IEEE 802 first-octet bits: I/G (group address) and U/L (locally administered). */
#define MAC_GROUP_BIT 0x01
#define MAC_LOCAL_BIT 0x02

/*
 * A random locally administered unicast MAC. Given explicitly, the kernel marks it
 * NET_ADDR_SET, and udev's MACAddressPolicy= (Debian's default: persistent)
 * leaves it alone; a kernel-chosen random MAC is replaced by udev moments
 * after creation, behind the back of a translator that already copied it.
 */
static int link_mac_random(uint8_t mac[static 6]) {
        ssize_t n;

        n = getrandom(mac, 6, 0);
        if (n < 0)
                return -errno;
        if (n != 6)
                return -EIO;
        mac[0] = (mac[0] & ~MAC_GROUP_BIT) | MAC_LOCAL_BIT;
        return 0;
}

/*
 * A veth pair, down, with the MTU already right. NLM_F_EXCL: if either name
 * is taken the kernel says EEXIST and nothing of someone else's changes.
 */
static int translator_link_create(Netlink *nl, uint32_t mtu) {
        uint8_t buf[MNL_SOCKET_BUFFER_SIZE], mac[6], peer_mac[6];
        struct nlattr *linkinfo, *data, *peer;
        struct nlmsghdr *nlh;
        struct ifinfomsg *ifi;
        int r;

        r = link_mac_random(mac);
        if (r < 0)
                return r;
        r = link_mac_random(peer_mac);
        if (r < 0)
                return r;

        (void) link_request_put(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, &nlh);
        mnl_attr_put_strz(nlh, IFLA_IFNAME, TRANSLATOR_LINK);
        mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
        mnl_attr_put(nlh, IFLA_ADDRESS, sizeof(mac), mac);

        linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
        data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
        peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
        /* The peer is described by its own ifinfomsg and attributes. */
        ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, TRANSLATOR_PEER);
        mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
        mnl_attr_put(nlh, IFLA_ADDRESS, sizeof(peer_mac), peer_mac);
        mnl_attr_nest_end(nlh, peer);
        mnl_attr_nest_end(nlh, data);
        mnl_attr_nest_end(nlh, linkinfo);

        return netlink_socket_transact(nl->socket, nlh, NULL, NULL);
}

/* MTU and flags (only those in flags_mask change) of an existing link. */
static int link_configure(Netlink *nl, int ifindex, uint32_t mtu, unsigned flags, unsigned flags_mask) {
        uint8_t buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh;
        struct ifinfomsg *ifi;

        ifi = link_request_put(buf, RTM_NEWLINK, 0, ifindex, &nlh);
        ifi->ifi_flags = flags;
        ifi->ifi_change = flags_mask;
        mnl_attr_put_u32(nlh, IFLA_MTU, mtu);

        return netlink_socket_transact(nl->socket, nlh, NULL, NULL);
}

static int sysctl_write_link(const char *ifname, const char *key, const char *value) {
        char path[128];

        snprintf(path, sizeof(path), "ipv6/conf/%s/%s", ifname, key);
        return sysctl_write_net(path, value);
}

/*
 * IPv6 on the translator link: enabled on TRANSLATOR_LINK (the stack must
 * take the 4to6 packets redirected into it), without addresses of its own
 * (routes into a NOARP link need none, and no DAD or MLD chatter leaves
 * through the translator), deaf to router advertisements. Off on the peer:
 * whatever reaches it is nobody's traffic, and the stack must not forward
 * it back into TRANSLATOR_LINK. Set while the links are still down where
 * we create them, so no link-local address ever appears.
 */
static int translator_link_sysctls(void) {
        static const struct {
                const char *ifname, *key, *value;
        } settings[] = {
                { TRANSLATOR_LINK, "addr_gen_mode", IN6_ADDR_GEN_MODE_NONE_STR },
                { TRANSLATOR_LINK, "accept_ra",     "0" },
                { TRANSLATOR_LINK, "disable_ipv6",  "0" },
                { TRANSLATOR_PEER, "addr_gen_mode", IN6_ADDR_GEN_MODE_NONE_STR },
                { TRANSLATOR_PEER, "disable_ipv6",  "1" },
        };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(settings); i++) {
                r = sysctl_write_link(settings[i].ifname, settings[i].key, settings[i].value);
                if (r < 0)
                        return r;
        }
        return 0;
}

/*
 * The pair as we left it: TRANSLATOR_LINK a veth whose peer is
 * TRANSLATOR_PEER in this namespace. 1 if so (*ret_link and *ret_peer set),
 * 0 if TRANSLATOR_LINK does not exist or is a veth of ours that lost its
 * peer (renamed or moved away: deleted here, to be created anew), -EEXIST
 * if the name belongs to a link we did not create.
 */
static int translator_link_find(Netlink *nl, LinkInfo *ret_link, LinkInfo *ret_peer) {
        LinkInfo link, peer;
        int r;

        r = link_get(nl, 0, TRANSLATOR_LINK, &link);
        if (r == -ENODEV)
                return 0;
        if (r < 0)
                return r;
        if (!streq(link.kind, "veth"))
                return -EEXIST;

        r = link_get(nl, 0, TRANSLATOR_PEER, &peer);
        if (r < 0 && r != -ENODEV)
                return r;
        if (r >= 0 && streq(peer.kind, "veth") && peer.peer_ifindex == link.ifindex &&
            link.peer_ifindex == peer.ifindex) {
                *ret_link = link;
                *ret_peer = peer;
                return 1;
        }

        log_debug("%s has lost its peer %s, re-creating the pair.", TRANSLATOR_LINK, TRANSLATOR_PEER);
        r = link_delete(nl, link.ifindex);
        if (r < 0 && r != -ENODEV)
                return r;
        return 0;
}

int netlink_translator_link_ensure(Netlink *nl, uint32_t mtu, int *ret_ifindex) {
        LinkInfo link, peer;
        int r;

        r = translator_link_find(nl, &link, &peer);
        if (r < 0)
                return r;
        if (r == 0) {
                r = translator_link_create(nl, mtu);
                if (r < 0)
                        return r;
                log_debug("Created veth pair %s/%s.", TRANSLATOR_LINK, TRANSLATOR_PEER);

                r = translator_link_find(nl, &link, &peer);
                if (r < 0)
                        return r;
                if (r == 0)     /* removed again at once by someone else */
                        return -ENODEV;
        }

        r = translator_link_sysctls();
        if (r < 0)
                return r;

        /* The peer first: the carrier comes up when the second end does. */
        r = link_configure(nl, peer.ifindex, mtu, IFF_UP, IFF_UP);
        if (r < 0)
                return r;
        r = link_configure(nl, link.ifindex, mtu, IFF_UP | IFF_NOARP, IFF_UP | IFF_NOARP);
        if (r < 0)
                return r;

        *ret_ifindex = link.ifindex;
        return 0;
}

/* Deleting one end of a veth deletes both. 0 also if it was not there. */
int netlink_translator_link_delete(Netlink *nl) {
        LinkInfo link;
        int r;

        r = link_get(nl, 0, TRANSLATOR_LINK, &link);
        if (r == -ENODEV)
                return 0;
        if (r < 0)
                return r;
        if (!streq(link.kind, "veth"))
                return -EEXIST;        /* not ours */

        r = link_delete(nl, link.ifindex);
        if (r == -ENODEV)
                return 0;
        return r;
}

/* ---- routes -------------------------------------------------------------- */

static int route6_request(Netlink *nl, uint16_t type, uint16_t flags,
                          const struct in6_addr *dst, uint8_t len, int ifindex) {
        uint8_t buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh;
        struct rtmsg *rtm;

        if (len > 128 || ifindex <= 0)
                return -EINVAL;

        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = flags;
        rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
        rtm->rtm_family = AF_INET6;
        rtm->rtm_dst_len = len;
        rtm->rtm_table = RT_TABLE_MAIN;
        /* Deleting with a protocol set matches only routes of that protocol,
         * so a foreign route to the same prefix is never taken for ours. */
        rtm->rtm_protocol = RTPROT_NAT64;
        rtm->rtm_scope = RT_SCOPE_UNIVERSE;
        rtm->rtm_type = RTN_UNICAST;
        mnl_attr_put(nlh, RTA_DST, sizeof(*dst), dst);
        mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t) ifindex);

        return netlink_socket_transact(nl->socket, nlh, NULL, NULL);
}

int netlink_route6_add(Netlink *nl, const struct in6_addr *dst, uint8_t len, int ifindex) {
        /* Replace: adding the route we already have (a restart, a reload) is no error. */
        return route6_request(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, dst, len, ifindex);
}

int netlink_route6_del(Netlink *nl, const struct in6_addr *dst, uint8_t len, int ifindex) {
        return route6_request(nl, RTM_DELROUTE, 0, dst, len, ifindex);
}

typedef struct RouteList {
        struct nlmsghdr **routes;
        size_t n;
} RouteList;

static void route_list_done(RouteList *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->routes[i]);
        free(l->routes);
}

/* Keeps a copy of every route of ours: it becomes its own delete request. */
static int route_collect_cb(const struct nlmsghdr *nlh, void *userdata) {
        const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
        RouteList *l = userdata;
        struct nlmsghdr *copy, **routes;

        if (nlh->nlmsg_type != RTM_NEWROUTE || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*rtm)))
                return 0;
        if (rtm->rtm_protocol != RTPROT_NAT64 || (rtm->rtm_flags & RTM_F_CLONED))
                return 0;

        routes = realloc(l->routes, (l->n + 1) * sizeof(*routes));
        if (!routes)
                return -ENOMEM;
        l->routes = routes;

        copy = malloc(nlh->nlmsg_len);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, nlh, nlh->nlmsg_len);
        l->routes[l->n++] = copy;
        return 0;
}

static int routes_collect(Netlink *nl, int family, RouteList *l) {
        uint8_t buf[MNL_SOCKET_BUFFER_SIZE];
        struct nlmsghdr *nlh;
        struct rtmsg *rtm;

        /* Without NETLINK_GET_STRICT_CHK the kernel dumps every table. */
        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_GETROUTE;
        nlh->nlmsg_flags = NLM_F_DUMP;
        rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
        rtm->rtm_family = family;

        return netlink_socket_transact(nl->socket, nlh, route_collect_cb, l);
}

int netlink_routes_flush_ours(Netlink *nl) {
        static const int families[] = { AF_INET, AF_INET6 };
        _cleanup_(route_list_done) RouteList l = {};
        int r;

        /* Collect first: one socket cannot take requests in the middle of a dump. */
        for (size_t i = 0; i < ELEMENTSOF(families); i++) {
                r = routes_collect(nl, families[i], &l);
                if (r < 0)
                        return r;
        }

        /* As "ip route flush" does: the dumped route, with all its attributes
         * (table, metric, device, ...), names exactly the route to delete. */
        for (size_t i = 0; i < l.n; i++) {
                struct nlmsghdr *nlh = l.routes[i];

                nlh->nlmsg_type = RTM_DELROUTE;
                nlh->nlmsg_flags = 0;
                r = netlink_socket_transact(nl->socket, nlh, NULL, NULL);
                /* Gone meanwhile (its link went away): what we wanted. */
                if (r < 0 && r != -ESRCH)
                        return r;
        }

        if (l.n > 0)
                log_debug("Removed %zu route(s) with protocol %d.", l.n, RTPROT_NAT64);
        return 0;
}

/* ---- link monitor -------------------------------------------------------- */

int netlink_monitor_new(NetlinkMonitor **ret) {
        _cleanup_free_ NetlinkMonitor *m = NULL;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;

        /* Addresses too: an HA node follows the IPv4Address= values keepalived moves. */
        r = netlink_socket_open(NETLINK_ROUTE, RTMGRP_LINK | RTMGRP_IPV4_IFADDR, &m->socket);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

int netlink_monitor_fd(NetlinkMonitor *m) {
        return mnl_socket_get_fd(m->socket);
}

void netlink_monitor_set_addr_cb(NetlinkMonitor *m, netlink_addr_cb cb) {
        m->addr_cb = cb;
}

typedef struct LinkEventContext {
        netlink_link_cb cb;
        netlink_addr_cb addr_cb;
        void *userdata;
} LinkEventContext;

static int link_event_cb(const struct nlmsghdr *nlh, void *userdata) {
        LinkEventContext *ctx = userdata;
        LinkInfo info;

        if (nlh->nlmsg_type == RTM_NEWADDR || nlh->nlmsg_type == RTM_DELADDR) {
                const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);

                if (ctx->addr_cb && nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(*ifa)))
                        ctx->addr_cb((int) ifa->ifa_index, ctx->userdata);
                return 0;
        }
        if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
                return 0;
        if (link_info_parse(nlh, &info) < 0)
                return 0;       /* malformed: nothing to tell */

        ctx->cb(info.name, info.ifindex, nlh->nlmsg_type == RTM_NEWLINK,
                info.flags & IFF_UP, info.has_mac ? info.mac : NULL, ctx->userdata);
        return 0;
}

int netlink_monitor_process(NetlinkMonitor *m, netlink_link_cb cb, void *userdata) {
        LinkEventContext ctx = { .cb = cb, .addr_cb = m->addr_cb, .userdata = userdata };

        return netlink_socket_drain(m->socket, link_event_cb, &ctx);
}

NetlinkMonitor *netlink_monitor_free(NetlinkMonitor *m) {
        if (!m)
                return NULL;
        netlink_socket_close(m->socket);
        free(m);
        return NULL;
}

/* ---- sysctl -------------------------------------------------------------- */

int sysctl_write_net(const char *path, const char *value) {
        _cleanup_close_ int fd = -EBADF;
        char full[256];
        size_t n;
        ssize_t k;

        /* Relative to /proc/sys/net and staying there. */
        if (!path || !value || path[0] == '/' || strstr(path, ".."))
                return -EINVAL;
        if ((size_t) snprintf(full, sizeof(full), "/proc/sys/net/%s", path) >= sizeof(full))
                return -EINVAL;

        fd = open(full, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();

        /* procfs takes a sysctl in one write; a short write is a failure. */
        n = strlen(value);
        k = write(fd, value, n);
        if (k < 0)
                return negative_errno();
        if ((size_t) k != n)
                return -EIO;

        log_debug("Set /proc/sys/net/%s to %s.", path, value);
        return 0;
}
