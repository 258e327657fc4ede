/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "conntrack.h"
#include "log.h"
#include "macro.h"
#include "netlink.h"

#define NF_CONNTRACK_SYSFS "/sys/module/nf_conntrack"

int conntrack_load(void) {
        _cleanup_(netlink_socket_closep) struct mnl_socket *s = NULL;
        uint8_t buf[MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg))];
        struct nlmsghdr *nlh;
        int r;

        if (access(NF_CONNTRACK_SYSFS, F_OK) == 0) {
                log_debug("nf_conntrack is loaded or built in.");
                return 0;
        }

        r = netlink_socket_open(NETLINK_NETFILTER, 0, &s);
        if (r < 0)
                return r;
        nlh = netlink_nfnl_message_put(buf, NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_GET_STATS, AF_UNSPEC);
        r = netlink_socket_transact(s, nlh, NULL, NULL);
        if (r < 0)
                return r;

        if (access(NF_CONNTRACK_SYSFS, F_OK) < 0)
                return negative_errno();
        log_info("Had the kernel load nf_conntrack (through ctnetlink, as for conntrack(8)).");
        return 0;
}
