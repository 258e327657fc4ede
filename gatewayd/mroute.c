/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/mroute6.h>
#include <linux/rtnetlink.h>

#include "log.h"
#include "macro.h"
#include "mroute.h"
#include "netlink.h"

/* MIF 0 is where translated packets arrive, MIF 1 the LAN they go to. */
enum {
        MIF_TRANSLATOR,
        MIF_LAN,
        _MIF_MAX,
};

/* net.ipv4.igmp_max_memberships when it cannot be read (the kernel's default). */
#define IGMP_MEMBERSHIPS_DEFAULT 20U

typedef struct Placed {
        MulticastMap map;
        bool mfc;               /* MFC6 (*,G) in our table */
        bool bpf;               /* entry in nat64_mcast_rx */
        int igmp;               /* index into igmp[] holding the membership, -1: not joined */
} Placed;

/* A socket holds at most igmp_max_memberships groups: as many as needed. */
typedef struct IgmpSocket {
        int fd;
        unsigned n;
} IgmpSocket;

struct Mroute {
        sd_event *event;
        int map_fd;
        int fd;                         /* MRT6_INIT socket, -EBADF while closed */
        sd_event_source *io;            /* reads (and drops) the kernel's upcalls */
        bool unavailable;               /* the kernel refused: logged once, off until restart */
        bool rule;
        int mifs[_MIF_MAX];             /* ifindex of each MIF, 0 = none */
        bool lan_missing_logged;

        Placed *placed;
        size_t n_placed;

        int igmp_ifindex;               /* where memberships are, 0 = nowhere */
        IgmpSocket *igmp;
        size_t n_igmp;
        unsigned igmp_per_socket;
};

int mroute_new(sd_event *event, int map_fd, Mroute **ret) {
        Mroute *m;
        FILE *f;
        unsigned v;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->event = sd_event_ref(event);
        m->map_fd = map_fd;
        m->fd = -EBADF;
        m->igmp_per_socket = IGMP_MEMBERSHIPS_DEFAULT;
        f = fopen("/proc/sys/net/ipv4/igmp_max_memberships", "re");
        if (f) {
                if (fscanf(f, "%u", &v) == 1 && v > 0)
                        m->igmp_per_socket = v;
                fclose(f);
        }
        *ret = m;
        return 0;
}

Mroute *mroute_free(Mroute *m) {
        if (!m)
                return NULL;
        mroute_stop(m);
        free(m->placed);
        free(m->igmp);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

void mroute_freep(Mroute **m) {
        *m = mroute_free(*m);
}

/* ---- The IPv6 multicast rule (rtnetlink, family RTNL_FAMILY_IP6MR) ---- */

static int mrule_request(uint16_t type, uint16_t flags) {
        _cleanup_(netlink_socket_closep) struct mnl_socket *s = NULL;
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct fib_rule_hdr *frh;
        struct nlmsghdr *nlh;
        int r;

        r = netlink_socket_open(NETLINK_ROUTE, 0, &s);
        if (r < 0)
                return r;

        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = flags;
        frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
        frh->family = RTNL_FAMILY_IP6MR;
        frh->action = FR_ACT_TO_TBL;
        frh->table = MROUTE_TABLE;
        mnl_attr_put_u32(nlh, FRA_PRIORITY, MROUTE_RULE_PRIORITY);
        mnl_attr_put_strz(nlh, FRA_IIFNAME, TRANSLATOR_LINK);
        mnl_attr_put_u32(nlh, FRA_TABLE, MROUTE_TABLE);
        mnl_attr_put_u8(nlh, FRA_PROTOCOL, RTPROT_NAT64);
        return netlink_socket_transact(s, nlh, NULL, NULL);
}

/* Rules outlive processes: a killed instance's is removed before ours is added. */
static int mrule_add(void) {
        int r;

        for (unsigned i = 0; i < 16; i++) {
                r = mrule_request(RTM_DELRULE, 0);
                if (r < 0)
                        break;
        }
        if (r != -ENOENT && r < 0)
                log_debug_errno(r, "Failed to remove an earlier IPv6 multicast rule, ignoring: %m");
        return mrule_request(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL);
}

/* ---- The routing socket, MIFs and MFC6 ---- */

static int on_upcall(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        char buf[2048];

        /* NOCACHE reports for packets no MFC6 (yet) matches: nothing to resolve,
         * every (*,G) entry we want is in place already. */
        while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
                ;
        return 0;
}

static int mroute_open(Mroute *m) {
        _cleanup_close_ int fd = -EBADF;
        struct icmp6_filter filter;
        uint32_t table = MROUTE_TABLE;
        int one = 1, r;

        fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_ICMPV6);
        if (fd < 0)
                return negative_errno();
        /* A raw ICMPv6 socket would get a copy of every ICMPv6 packet. */
        ICMP6_FILTER_SETBLOCKALL(&filter);
        if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof(filter)) < 0)
                return negative_errno();
        if (setsockopt(fd, IPPROTO_IPV6, MRT6_TABLE, &table, sizeof(table)) < 0)
                return negative_errno();
        if (setsockopt(fd, IPPROTO_IPV6, MRT6_INIT, &one, sizeof(one)) < 0)
                return negative_errno();

        r = mrule_add();
        if (r < 0)
                return log_error_errno(r, "Failed to add the IPv6 multicast rule \"iif " TRANSLATOR_LINK
                                       " lookup %d\": %m", MROUTE_TABLE);
        m->rule = true;

        r = sd_event_add_io(m->event, &m->io, fd, EPOLLIN, on_upcall, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the multicast routing socket: %m");

        m->fd = TAKE_FD(fd);
        log_info("IPv6 multicast routing table %d taken (MRT6_INIT), rule \"iif " TRANSLATOR_LINK
                 " lookup %d\" added.", MROUTE_TABLE, MROUTE_TABLE);
        return 0;
}

static void mif_del(Mroute *m, int mif) {
        mifi_t index = mif;

        if (m->mifs[mif] == 0)
                return;
        /* The kernel has dropped it already if its link went away. */
        if (setsockopt(m->fd, IPPROTO_IPV6, MRT6_DEL_MIF, &index, sizeof(index)) < 0 && errno != EADDRNOTAVAIL)
                log_debug_errno(negative_errno(), "Failed to delete MIF %d, ignoring: %m", mif);
        m->mifs[mif] = 0;
}

static int mif_add(Mroute *m, int mif, int ifindex) {
        struct mif6ctl c = {
                .mif6c_mifi = mif,
                .vifc_threshold = 1,
                .mif6c_pifi = ifindex,
        };

        if (setsockopt(m->fd, IPPROTO_IPV6, MRT6_ADD_MIF, &c, sizeof(c)) < 0)
                return negative_errno();
        m->mifs[mif] = ifindex;
        return 0;
}

static void mfc_fill(struct mf6cctl *c, const MulticastMap *map) {
        *c = (struct mf6cctl) {
                .mf6cc_origin.sin6_family = AF_INET6,           /* :: = (*,G) */
                .mf6cc_mcastgrp.sin6_family = AF_INET6,
                .mf6cc_mcastgrp.sin6_addr = map->group6,
                .mf6cc_parent = MIF_TRANSLATOR,
        };
        /* (*,G) entries are found only through an interface in their set
         * (mr_mfc_find_any()); the kernel never sends one back to where it came from. */
        IF_SET(MIF_TRANSLATOR, &c->mf6cc_ifset);
        IF_SET(MIF_LAN, &c->mf6cc_ifset);
}

static int mfc_add(Mroute *m, Placed *p) {
        struct mf6cctl c;

        if (p->mfc)
                return 0;
        mfc_fill(&c, &p->map);
        if (setsockopt(m->fd, IPPROTO_IPV6, MRT6_ADD_MFC, &c, sizeof(c)) < 0)
                return negative_errno();
        p->mfc = true;
        return 0;
}

static void mfc_del(Mroute *m, Placed *p) {
        struct mf6cctl c;

        if (!p->mfc)
                return;
        mfc_fill(&c, &p->map);
        if (setsockopt(m->fd, IPPROTO_IPV6, MRT6_DEL_MFC, &c, sizeof(c)) < 0 && errno != ENOENT)
                log_debug_errno(negative_errno(), "Failed to delete an MFC6 entry, ignoring: %m");
        p->mfc = false;
}

/* ---- The BPF map ---- */

static int bpf_add(Mroute *m, Placed *p) {
        int r;

        if (p->bpf)
                return 0;
        r = bpf_map_update_elem(m->map_fd, &p->map.group4, &p->map.group6, BPF_ANY);
        if (r < 0)
                return r;
        p->bpf = true;
        return 0;
}

static void bpf_del(Mroute *m, Placed *p) {
        int r;

        if (!p->bpf)
                return;
        r = bpf_map_delete_elem(m->map_fd, &p->map.group4);
        if (r < 0 && r != -ENOENT)
                log_warning_errno(r, "Failed to delete a reverse multicast map entry, ignoring: %m");
        p->bpf = false;
}

/* ---- IGMP membership on the WAN ---- */

static int igmp_join(Mroute *m, Placed *p) {
        struct ip_mreqn req = {
                .imr_multiaddr = p->map.group4,
                .imr_ifindex = m->igmp_ifindex,
        };
        size_t i;

        if (p->igmp >= 0 || m->igmp_ifindex == 0)
                return 0;

        for (i = 0; i < m->n_igmp; i++)
                if (m->igmp[i].fd >= 0 && m->igmp[i].n < m->igmp_per_socket)
                        break;
        if (i == m->n_igmp) {
                for (i = 0; i < m->n_igmp; i++)
                        if (m->igmp[i].fd < 0)
                                break;
                if (i == m->n_igmp) {
                        IgmpSocket *a = realloc(m->igmp, (m->n_igmp + 1) * sizeof(*a));

                        if (!a)
                                return -ENOMEM;
                        m->igmp = a;
                        m->n_igmp++;
                }
                m->igmp[i] = (IgmpSocket) { .fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0) };
                if (m->igmp[i].fd < 0) {
                        m->igmp[i].fd = negative_errno();
                        return m->igmp[i].fd;
                }
        }

        if (setsockopt(m->igmp[i].fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &req, sizeof(req)) < 0)
                return negative_errno();
        m->igmp[i].n++;
        p->igmp = (int) i;
        return 0;
}

static void igmp_socket_close(IgmpSocket *s) {
        if (s->fd >= 0)
                close(s->fd);
        s->fd = -EBADF;
        s->n = 0;
}

static void igmp_leave(Mroute *m, Placed *p) {
        struct ip_mreqn req = {
                .imr_multiaddr = p->map.group4,
                .imr_ifindex = m->igmp_ifindex,
        };
        IgmpSocket *s;

        if (p->igmp < 0)
                return;
        s = &m->igmp[p->igmp];
        p->igmp = -1;
        if (--s->n == 0) {
                igmp_socket_close(s);   /* leaves with the socket */
                return;
        }
        if (setsockopt(s->fd, IPPROTO_IP, IP_DROP_MEMBERSHIP, &req, sizeof(req)) < 0)
                log_debug_errno(negative_errno(), "Failed to leave an IPv4 group, ignoring: %m");
}

static void igmp_leave_all(Mroute *m) {
        for (size_t i = 0; i < m->n_placed; i++)
                m->placed[i].igmp = -1;
        for (size_t i = 0; i < m->n_igmp; i++)
                igmp_socket_close(&m->igmp[i]);
        m->n_igmp = 0;
}

/* ---- Putting it together ---- */

static bool map_wanted(const MrouteSettings *s, const MulticastMap *map) {
        for (size_t i = 0; i < s->n_maps; i++)
                if (s->maps[i].group4.s_addr == map->group4.s_addr &&
                    memcmp(&s->maps[i].group6, &map->group6, sizeof(map->group6)) == 0)
                        return true;
        return false;
}

static Placed *placed_find(Mroute *m, const MulticastMap *map) {
        for (size_t i = 0; i < m->n_placed; i++)
                if (m->placed[i].map.group4.s_addr == map->group4.s_addr &&
                    memcmp(&m->placed[i].map.group6, &map->group6, sizeof(map->group6)) == 0)
                        return &m->placed[i];
        return NULL;
}

/* Undone in the order packets meet them: no membership, no translation, no route. */
static void placed_undo(Mroute *m, Placed *p) {
        igmp_leave(m, p);
        bpf_del(m, p);
        mfc_del(m, p);
}

static void log_map(const char *what, const MulticastMap *map, int r) {
        char g4[INET_ADDRSTRLEN], g6[INET6_ADDRSTRLEN];

        inet_ntop(AF_INET, &map->group4, g4, sizeof(g4));
        inet_ntop(AF_INET6, &map->group6, g6, sizeof(g6));
        log_error_errno(r, "Failed to %s for the reverse multicast map %s -> %s: %m", what, g4, g6);
}

int mroute_sync(Mroute *m, const MrouteSettings *s) {
        int want[_MIF_MAX] = {}, lan_ifindex = 0, r;
        size_t n;

        if (!s->lan_interface || m->unavailable) {
                mroute_stop(m);
                return 0;
        }

        if (m->fd < 0) {
                r = mroute_open(m);
                if (r < 0) {
                        /* Another holder of table 64, a kernel without IPv6 multicast
                         * routing (tables): the gateway works, this direction does not. */
                        log_error_errno(r, "Failed to take IPv6 multicast routing table %d (%m): "
                                        "multicast from the WAN is not forwarded to \"%s\".",
                                        MROUTE_TABLE, s->lan_interface);
                        mroute_stop(m);
                        m->unavailable = true;
                        return 0;
                }
        }

        lan_ifindex = (int) if_nametoindex(s->lan_interface);
        if (lan_ifindex == 0 && !m->lan_missing_logged)
                log_warning("[Multicast] LANInterface \"%s\" does not exist: multicast from the WAN is "
                            "forwarded once it appears.", s->lan_interface);
        m->lan_missing_logged = lan_ifindex == 0;
        if (s->translator_ifindex > 0 && lan_ifindex > 0) {
                want[MIF_TRANSLATOR] = s->translator_ifindex;
                want[MIF_LAN] = lan_ifindex;
        }

        /* Interfaces changed (a link re-created): every entry is built anew. */
        if (memcmp(want, m->mifs, sizeof(want)) != 0) {
                for (size_t i = 0; i < m->n_placed; i++) {
                        bpf_del(m, &m->placed[i]);
                        mfc_del(m, &m->placed[i]);
                }
                for (int i = _MIF_MAX - 1; i >= 0; i--)
                        mif_del(m, i);
                for (int i = 0; i < _MIF_MAX && want[0] > 0; i++) {
                        r = mif_add(m, i, want[i]);
                        if (r < 0)
                                return log_error_errno(r, "Failed to add MIF %d (ifindex %d): %m", i, want[i]);
                }
        }

        /* Maps that went (RemoveStaticMap, a reload). */
        n = 0;
        for (size_t i = 0; i < m->n_placed; i++) {
                if (map_wanted(s, &m->placed[i].map))
                        m->placed[n++] = m->placed[i];
                else
                        placed_undo(m, &m->placed[i]);
        }
        m->n_placed = n;

        /* Memberships belong to a link: a new WAN is joined anew. */
        if (s->wan_ifindex != m->igmp_ifindex) {
                igmp_leave_all(m);
                m->igmp_ifindex = s->wan_ifindex;
        }

        for (size_t i = 0; i < s->n_maps; i++) {
                Placed *p = placed_find(m, &s->maps[i]);

                if (!p) {
                        Placed *a = realloc(m->placed, (m->n_placed + 1) * sizeof(*a));

                        if (!a)
                                return log_error_errno(-ENOMEM, "Failed to remember multicast maps: %m");
                        m->placed = a;
                        p = &m->placed[m->n_placed++];
                        *p = (Placed) { .map = s->maps[i], .igmp = -1 };
                }

                /* Set up in the order packets need them: route, translation, membership. */
                if (m->mifs[MIF_LAN] > 0) {
                        r = mfc_add(m, p);
                        if (r < 0) {
                                log_map("add the MFC6 entry", &p->map, r);
                                return r;
                        }
                        r = bpf_add(m, p);
                        if (r < 0) {
                                log_map("fill the translator's map", &p->map, r);
                                return r;
                        }
                }
                r = igmp_join(m, p);
                if (r < 0) {
                        log_map("join the IPv4 group on the WAN", &p->map, r);
                        return r;
                }
        }
        return 0;
}

void mroute_stop(Mroute *m) {
        bool had = m->fd >= 0;
        int r;

        for (size_t i = 0; i < m->n_placed; i++)
                placed_undo(m, &m->placed[i]);
        m->n_placed = 0;
        igmp_leave_all(m);
        m->igmp_ifindex = 0;

        if (m->fd >= 0)
                for (int i = _MIF_MAX - 1; i >= 0; i--)
                        mif_del(m, i);
        memset(m->mifs, 0, sizeof(m->mifs));

        if (m->rule) {
                r = mrule_request(RTM_DELRULE, 0);
                if (r < 0 && r != -ENOENT)
                        log_warning_errno(r, "Failed to remove the IPv6 multicast rule, ignoring: %m");
                m->rule = false;
        }

        /* Last: closing it flushes whatever of table 64 is left (MRT6_DONE). */
        m->io = sd_event_source_disable_unref(m->io);
        if (m->fd >= 0) {
                close(m->fd);
                m->fd = -EBADF;
        }
        if (had)
                log_info("IPv6 multicast routing table %d released.", MROUTE_TABLE);
}
