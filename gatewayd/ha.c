/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "ha.h"
#include "macro.h"

/*
 * conntrackd's control protocol (conntrack-tools src/local.c): the client
 * writes one int, the request; the daemon writes its answer as text (if
 * any) and closes.
 */
/* conntrackd answers at once; one that does not within this is stuck. */
#define CONNTRACKD_TIMEOUT_USEC (2ULL * 1000 * 1000)
/* Its statistics are a few hundred bytes; anything this big is not them. */
#define CONNTRACKD_REPLY_MAX (64U * 1024U)

static const char *const ha_role_table[_HA_ROLE_MAX] = {
        [HA_ROLE_MASTER] = "master",
        [HA_ROLE_BACKUP] = "backup",
        [HA_ROLE_FAULT]  = "fault",
};

const char *ha_role_to_string(HARole r) {
        if (r < 0 || r >= _HA_ROLE_MAX)
                return NULL;
        return ha_role_table[r];
}

HARole ha_role_from_string(const char *s) {
        for (HARole r = 0; r < _HA_ROLE_MAX; r++)
                if (strcasecmp(s, ha_role_table[r]) == 0)
                        return r;
        return _HA_ROLE_INVALID;
}

bool ha_instance_name_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > HA_INSTANCE_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && !strchr("_.-", s[i]))
                        return false;
        return true;
}

static void freeifaddrsp(struct ifaddrs **p) {
        if (*p)
                freeifaddrs(*p);
}

int ha_held_addresses(const Config *c, struct in_addr **ret, size_t *ret_n) {
        _cleanup_(freeifaddrsp) struct ifaddrs *list = NULL;
        _cleanup_free_ struct in_addr *held = NULL;
        size_t n = 0;

        if (getifaddrs(&list) < 0)
                return negative_errno();

        held = calloc(c->n_ipv4_addresses ?: 1, sizeof(*held));
        if (!held)
                return -ENOMEM;

        /* In the order of the configuration, so renderings are stable. */
        for (size_t i = 0; i < c->n_ipv4_addresses; i++)
                for (struct ifaddrs *a = list; a; a = a->ifa_next) {
                        const struct sockaddr_in *sin = (const struct sockaddr_in *) a->ifa_addr;

                        if (!sin || sin->sin_family != AF_INET || !streq(a->ifa_name, c->wan_interface))
                                continue;
                        if (sin->sin_addr.s_addr == c->ipv4_addresses[i].s_addr) {
                                held[n++] = c->ipv4_addresses[i];
                                break;
                        }
                }

        *ret = n > 0 ? TAKE_PTR(held) : NULL;
        *ret_n = n;
        return 0;
}

/* ---- conntrackd's statistics, asynchronously ---- */

typedef struct StatsQuery {
        int fd;
        sd_event_source *io, *timer;
        char *buf;
        size_t len;
        ha_stats_done_t done;
        void *userdata;
} StatsQuery;

static void stats_query_finish(StatsQuery *q, int error) {
        q->done(q->userdata, error, error < 0 ? NULL : (q->buf ?: ""));
        sd_event_source_disable_unref(q->io);
        sd_event_source_disable_unref(q->timer);
        if (q->fd >= 0)
                close(q->fd);
        free(q->buf);
        free(q);
}

static int on_stats_readable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        StatsQuery *q = userdata;
        char chunk[4096];
        ssize_t n;
        char *p;

        n = read(fd, chunk, sizeof(chunk));
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return 0;
                stats_query_finish(q, negative_errno());
                return 0;
        }
        if (n == 0) {
                stats_query_finish(q, 0);
                return 0;
        }
        if (q->len + (size_t) n > CONNTRACKD_REPLY_MAX) {
                stats_query_finish(q, -EMSGSIZE);
                return 0;
        }
        p = realloc(q->buf, q->len + (size_t) n + 1);
        if (!p) {
                stats_query_finish(q, -ENOMEM);
                return 0;
        }
        memcpy(p + q->len, chunk, (size_t) n);
        q->buf = p;
        q->len += (size_t) n;
        q->buf[q->len] = '\0';
        return 0;
}

static int on_stats_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        stats_query_finish(userdata, -ETIMEDOUT);
        return 0;
}

int ha_conntrackd_stats_query(sd_event *event, const char *socket_path, ha_stats_done_t done, void *userdata) {
        return ha_conntrackd_request(event, socket_path, HA_CONNTRACKD_STATS, done, userdata);
}

int ha_conntrackd_request(sd_event *event, const char *socket_path, int request, ha_stats_done_t done,
                          void *userdata) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        StatsQuery *q;
        int r;

        if (strlen(socket_path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);

        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->done = done;
        q->userdata = userdata;

        q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (q->fd < 0) {
                r = negative_errno();
                goto fail;
        }
        /* A listening UNIX socket accepts at once (or refuses: ENOENT, ECONNREFUSED, EAGAIN). */
        if (connect(q->fd, (const struct sockaddr *) &sa, sizeof(sa)) < 0) {
                r = negative_errno();
                goto fail;
        }
        if (send(q->fd, &request, sizeof(request), MSG_NOSIGNAL) != (ssize_t) sizeof(request)) {
                r = negative_errno();
                goto fail;
        }

        r = sd_event_add_io(event, &q->io, q->fd, EPOLLIN, on_stats_readable, q);
        if (r < 0)
                goto fail;
        r = sd_event_add_time_relative(event, &q->timer, CLOCK_MONOTONIC, CONNTRACKD_TIMEOUT_USEC, 0,
                                       on_stats_timeout, q);
        if (r < 0)
                goto fail;
        return 0;

fail:
        sd_event_source_disable_unref(q->io);
        if (q->fd >= 0)
                close(q->fd);
        free(q);
        return r;
}

/* "Bytes sent" -> "bytes-sent"; into buf (size n). */
static void stats_name(const char *prefix, const char *words, size_t len, char *buf, size_t n) {
        size_t k = (size_t) snprintf(buf, n, "%s", prefix);

        for (size_t i = 0; i < len && k + 1 < n; i++)
                buf[k++] = words[i] == ' ' ? '-' : (char) tolower((unsigned char) words[i]);
        buf[k < n ? k : n - 1] = '\0';
}

/*
 * Two layouts: cache sections ("current active connections: N",
 * "connections created: N failed: M") and counter lines ("N Bytes sent
 * M Bytes recv"); each section header names the prefix.
 */
int ha_conntrackd_stats_parse(const char *text, int (*add)(void *userdata, const char *name, uint64_t value),
                              void *userdata) {
        const char *prefix = "";
        char name[96];
        int r;

        for (const char *line = text; *line; ) {
                size_t len = strcspn(line, "\n");
                _cleanup_free_ char *l = strndup(line, len);
                const char *colon;

                if (!l)
                        return -ENOMEM;
                line += len;
                if (*line == '\n')
                        line++;

                for (char *t = l; *t; t++)
                        if (*t == '\t')
                                *t = ' ';

                if (startswith(l, "cache internal:"))
                        prefix = "internal-";
                else if (startswith(l, "cache external:"))
                        prefix = "external-";
                else if (startswith(l, "traffic processed:"))
                        prefix = "processed-";
                else if (strstr(l, "traffic (") || startswith(l, "message tracking:"))
                        prefix = "sync-";
                else if (startswith(l, "current active connections:") ||
                         startswith(l, "connections ")) {
                        unsigned long long v, failed;
                        const char *what = startswith(l, "current") ? "active" : startswith(l, "connections ");
                        size_t wlen = strcspn(what, ":");

                        colon = strchr(l, ':');
                        if (!colon || sscanf(colon + 1, "%llu", &v) != 1)
                                continue;
                        stats_name(prefix, what, wlen, name, sizeof(name));
                        r = add(userdata, name, v);
                        if (r < 0)
                                return r;
                        colon = strstr(colon + 1, "failed:");
                        if (colon && sscanf(colon + 7, "%llu", &failed) == 1) {
                                stats_name(prefix, what, wlen, name, sizeof(name));
                                strncat(name, "-failed", sizeof(name) - strlen(name) - 1);
                                r = add(userdata, name, failed);
                                if (r < 0)
                                        return r;
                        }
                } else if (*prefix) {
                        /* "   8 Bytes sent      0 Bytes recv": number, words, number, words */
                        const char *p = l;

                        for (;;) {
                                unsigned long long v;
                                const char *words;
                                size_t wlen;
                                int used;

                                while (*p == ' ')
                                        p++;
                                if (sscanf(p, "%llu%n", &v, &used) != 1)
                                        break;
                                p += used;
                                while (*p == ' ')
                                        p++;
                                words = p;
                                while (*p && !isdigit((unsigned char) *p))
                                        p++;
                                wlen = (size_t) (p - words);
                                while (wlen > 0 && words[wlen - 1] == ' ')
                                        wlen--;
                                if (wlen == 0)
                                        break;
                                stats_name(prefix, words, wlen, name, sizeof(name));
                                r = add(userdata, name, v);
                                if (r < 0)
                                        return r;
                        }
                }
        }
        return 0;
}
