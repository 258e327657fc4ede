/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rtnetlink over libmnl: the translator link, our routes, link events.
 * Every route we add carries RTPROT_NAT64 so we can find ours again.
 */
#pragma once

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#define RTPROT_NAT64 64
#define TRANSLATOR_LINK "nat64tr0"
#define TRANSLATOR_PEER "nat64tr1"

typedef struct Netlink Netlink;

int netlink_open(Netlink **ret);		/* request socket */
Netlink *netlink_close(Netlink *nl);

/*
 * Creates (or adopts, if it exists) the veth pair TRANSLATOR_LINK /
 * TRANSLATOR_PEER, both up, TRANSLATOR_LINK with IFF_NOARP, IPv6 enabled on
 * TRANSLATOR_LINK, given MTU on both. Returns ifindex of TRANSLATOR_LINK.
 */
int netlink_translator_link_ensure(Netlink *nl, uint32_t mtu, int *ret_ifindex);
int netlink_translator_link_delete(Netlink *nl);

int netlink_link_ifindex(Netlink *nl, const char *ifname);	/* -ENODEV if absent */
int netlink_link_mtu(Netlink *nl, int ifindex, uint32_t *ret_mtu);
int netlink_link_mac(Netlink *nl, int ifindex, uint8_t ret_mac[6]);

/* IPv6 route dst/len dev ifindex proto RTPROT_NAT64 (replace semantics). */
int netlink_route6_add(Netlink *nl, const struct in6_addr *dst, uint8_t len, int ifindex);
int netlink_route6_del(Netlink *nl, const struct in6_addr *dst, uint8_t len, int ifindex);
/* Deletes every route (IPv4 and IPv6, all tables) with proto RTPROT_NAT64. */
int netlink_routes_flush_ours(Netlink *nl);

/*
 * Link event socket (RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR). netlink_monitor_process() reads what is
 * pending and calls cb for every RTM_NEWLINK/RTM_DELLINK.
 */
typedef void (*netlink_link_cb)(const char *ifname, int ifindex, bool exists, bool up,
                                const uint8_t *mac /* 6 bytes, NULL if none */, void *userdata);
typedef struct NetlinkMonitor NetlinkMonitor;
int netlink_monitor_new(NetlinkMonitor **ret);
int netlink_monitor_fd(NetlinkMonitor *m);
int netlink_monitor_process(NetlinkMonitor *m, netlink_link_cb cb, void *userdata);
NetlinkMonitor *netlink_monitor_free(NetlinkMonitor *m);
/* Also calls cb (with process()'s userdata) for every IPv4 address added or removed. */
typedef void (*netlink_addr_cb)(int ifindex, void *userdata);
void netlink_monitor_set_addr_cb(NetlinkMonitor *m, netlink_addr_cb cb);

/* Writes a sysctl under /proc/sys/net (only for links we own). */
int sysctl_write_net(const char *path, const char *value);

/*
 * The libmnl plumbing under all of the above, shared with nft.c (nfnetlink
 * frames its messages the same way). Callbacks return negative errno to
 * stop with that error, anything else to go on.
 */
struct mnl_socket;
struct nlmsghdr;
typedef int (*netlink_msg_cb)(const struct nlmsghdr *nlh, void *userdata);

/* groups == 0: a request socket; else a nonblocking one subscribed to groups (a bitmask). */
int netlink_socket_open(int bus, unsigned groups, struct mnl_socket **ret);
/* Sends nlh (seq is filled in), calls cb for each reply until the ACK or NLMSG_DONE. */
int netlink_socket_transact(struct mnl_socket *s, struct nlmsghdr *nlh, netlink_msg_cb cb, void *userdata);
/* Calls cb for every message pending on a nonblocking socket; 0 once none is left. */
int netlink_socket_drain(struct mnl_socket *s, netlink_msg_cb cb, void *userdata);
struct mnl_socket *netlink_socket_close(struct mnl_socket *s);
static inline void netlink_socket_closep(struct mnl_socket **s) {
        netlink_socket_close(*s);
}
/* An nfnetlink request's header at buf: subsystem, message type, the nfgenmsg for family. */
struct nlmsghdr *netlink_nfnl_message_put(uint8_t *buf, uint8_t subsys, uint8_t type, uint8_t family);
