/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "macro.h"
#include "translator.h"
#include "nat64.skel.h"  /* after translator.h: it needs struct nat64_globals */
#include "nat64-stub.skel.h"

/* Our tc filters: recognisable in `tc filter show` and replaceable by us. */
#define TC_HANDLE   0x64
#define TC_PRIORITY 0xc064

/* tcx (kernel 6.6+); Debian 12's uapi headers predate it. */
#ifndef ENOTSUPP
#define ENOTSUPP 524    /* kernel-internal, some bpf paths return it */
#endif

#ifndef BPF_TCX_INGRESS
#define BPF_TCX_INGRESS 46
#define BPF_TCX_EGRESS  47
#endif

#define MAX_HOOKED_LINKS 8

typedef struct HookedLink {
        int ifindex;
        bool ingress, egress;
        bool ingress_4to6, ingress_fastpath;    /* what the ingress program must do */
        struct bpf_program *ingress_prog;       /* the one attached there now */
        bool created_qdisc;
        int ingress_link_fd, egress_link_fd;    /* tcx links, -EBADF with clsact */
} HookedLink;

typedef enum AttachMode {
        ATTACH_UNKNOWN,
        ATTACH_TCX,
        ATTACH_CLSACT,
} AttachMode;

struct Translator {
        struct nat64_bpf *skel;
        bool have_fastpath;             /* the kernel has conntrack's kfuncs */
        AttachMode mode;
        HookedLink links[MAX_HOOKED_LINKS];
};

static const char * const counter_names[_NAT64_CNT_MAX] = {
#define NAT64_COUNTER_NAME(id, name, text) [NAT64_CNT_##id] = name,
        NAT64_COUNTERS(NAT64_COUNTER_NAME)
#undef NAT64_COUNTER_NAME
};

static const char * const counter_texts[_NAT64_CNT_MAX] = {
#define NAT64_COUNTER_TEXT(id, name, text) [NAT64_CNT_##id] = text,
        NAT64_COUNTERS(NAT64_COUNTER_TEXT)
#undef NAT64_COUNTER_TEXT
};

const char *nat64_counter_to_string(enum nat64_counter c) {
        return c < _NAT64_CNT_MAX ? counter_names[c] : NULL;
}

const char *nat64_counter_explain(enum nat64_counter c) {
        return c < _NAT64_CNT_MAX ? counter_texts[c] : NULL;
}

/* While the object opens and loads, libbpf's warnings carry the verifier's
 * log: the one thing an operator needs when a kernel refuses the translator.
 * The try with the fast path may fail where the kernel lacks conntrack's
 * kfuncs; its first warning is kept to say why FastPath= is not available. */
typedef enum LibbpfLog {
        LIBBPF_LOG_DEBUG,       /* mostly expected warnings (no clsact qdisc to clean up after a predecessor) */
        LIBBPF_LOG_ERROR,
        LIBBPF_LOG_KEEP_FIRST,
} LibbpfLog;

static LibbpfLog libbpf_log = LIBBPF_LOG_DEBUG;
static char libbpf_first_warning[256];

static int silent_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap) {
        va_list aq;

        if (level != LIBBPF_WARN)
                return 0;
        if (libbpf_log == LIBBPF_LOG_ERROR) {
                fputs("<3>", stderr);
                return vfprintf(stderr, fmt, ap);
        }
        if (libbpf_log == LIBBPF_LOG_KEEP_FIRST && libbpf_first_warning[0] == '\0') {
                va_copy(aq, ap);
                (void) vsnprintf(libbpf_first_warning, sizeof(libbpf_first_warning), fmt, aq);
                va_end(aq);
                /* One line for the journal: the verifier's dump follows in later warnings. */
                libbpf_first_warning[strcspn(libbpf_first_warning, "\n")] = '\0';
        }
        if (log_max_level >= LOG_DEBUG) {
                fputs("<7>", stderr);
                return vfprintf(stderr, fmt, ap);
        }
        return 0;
}

/*
 * Without the fast path, nat64_bpf__open() on the bytes of the object whose
 * fast path never calls conntrack's kfuncs (bpf/meson.build: same maps and
 * programs, so this skeleton binds to it): libbpf then has no kfunc extern
 * to resolve, which for a kfunc in a module needs CAP_SYS_ADMIN.
 */
static struct nat64_bpf *translator_skel_open(bool fastpath) {
        struct nat64_bpf *skel;
        int r;

        if (fastpath)
                return nat64_bpf__open();

        skel = calloc(1, sizeof(*skel));
        if (!skel) {
                errno = ENOMEM;
                return NULL;
        }
        r = nat64_bpf__create_skeleton(skel);
        if (r == 0) {
                skel->skeleton->data = (void *) nat64_stub__elf_bytes(&skel->skeleton->data_sz);
                r = bpf_object__open_skeleton(skel->skeleton, NULL);
        }
        if (r < 0) {
                nat64_bpf__destroy(skel);
                errno = -r;
                return NULL;
        }
        return skel;
}

static int translator_open_load(Translator *t, bool fastpath) {
        int r;

        /* The try without the fast path is the one whose log matters. */
        libbpf_log = fastpath ? LIBBPF_LOG_KEEP_FIRST : LIBBPF_LOG_ERROR;
        t->skel = translator_skel_open(fastpath);
        if (!t->skel) {
                r = negative_errno();
                libbpf_log = LIBBPF_LOG_DEBUG;
                return r;
        }

        /* The section names "6to4"/"4to6" are the seed's; libbpf cannot guess
         * a type from them, tc sets it the same way. */
        bpf_program__set_type(t->skel->progs.xlat_6to4, BPF_PROG_TYPE_SCHED_CLS);
        bpf_program__set_type(t->skel->progs.xlat_4to6, BPF_PROG_TYPE_SCHED_CLS);
        bpf_program__set_type(t->skel->progs.xlat_fastpath, BPF_PROG_TYPE_SCHED_CLS);
        bpf_program__set_type(t->skel->progs.xlat_fastpath_4to6, BPF_PROG_TYPE_SCHED_CLS);
        if (!fastpath) {
                bpf_program__set_autoload(t->skel->progs.xlat_fastpath, false);
                bpf_program__set_autoload(t->skel->progs.xlat_fastpath_4to6, false);
        }

        r = nat64_bpf__load(t->skel);
        libbpf_log = LIBBPF_LOG_DEBUG;
        if (r < 0) {
                nat64_bpf__destroy(t->skel);
                t->skel = NULL;
                return r;
        }
        t->have_fastpath = fastpath;
        return 0;
}

/* How far each program is from the verifier's limit, which moves between
 * kernel builds (tests/integration/test_gateway.py keeps the margin). */
#define VERIFIER_LIMIT_INSNS 1000000

static void log_verified_insns(struct bpf_object *obj) {
        struct bpf_program *prog;

        if (log_max_level < LOG_DEBUG)  /* a syscall per program, for a debug line */
                return;
        bpf_object__for_each_program(prog, obj) {
                struct bpf_prog_info info = {};
                uint32_t len = sizeof(info);
                int fd = bpf_program__fd(prog);

                if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
                        continue;
                log_debug("BPF program %s: the verifier walked %" PRIu32 " instructions (its limit: %u).",
                          bpf_program__name(prog), info.verified_insns, VERIFIER_LIMIT_INSNS);
        }
}

static int prog_array_set(struct bpf_map *map, uint32_t index, struct bpf_program *prog) {
        return bpf_map_update_elem(bpf_map__fd(map), &index, &(int) { bpf_program__fd(prog) }, BPF_ANY);
}

int translator_new(Translator **ret) {
        _cleanup_(translator_freep) Translator *t = NULL;
        int r;

        libbpf_set_print(silent_libbpf_print);

        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;

        /* The fast path needs conntrack's kfuncs (kernel 6.0+, nf_conntrack
         * loaded); without them the rest loads alone. */
        r = translator_open_load(t, true);
        if (r < 0) {
                int k = r;

                r = translator_open_load(t, false);
                if (r < 0)
                        return r;
                log_info_errno(k, "The fast path could not be loaded (conntrack's BPF kfuncs missing, or in a module "
                                   "and no CAP_SYS_ADMIN to find them), FastPath= is not available: %m%s%s",
                               libbpf_first_warning[0] ? "; " : "", libbpf_first_warning);
        }

        log_verified_insns(t->skel->obj);

        /* 6to4 tail-calls 4to6 for hairpinned packets (RFC 7757 §4). */
        r = bpf_map_update_elem(bpf_map__fd(t->skel->maps.nat64_hairpin), &(uint32_t) { 0 },
                                &(int) { bpf_program__fd(t->skel->progs.xlat_4to6) }, BPF_ANY);
        if (r < 0)
                return r;

        if (t->have_fastpath) {
                r = prog_array_set(t->skel->maps.nat64_fastpath_progs, FASTPATH_PROG_6TO4,
                                   t->skel->progs.xlat_6to4);
                if (r >= 0)
                        r = prog_array_set(t->skel->maps.nat64_fastpath_progs, FASTPATH_PROG_AFTER_4TO6,
                                           t->skel->progs.xlat_fastpath_4to6);
                if (r >= 0)
                        r = prog_array_set(t->skel->maps.nat64_fastpath_progs, FASTPATH_PROG_4TO6,
                                           t->skel->progs.xlat_4to6);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(t);
        return 0;
}

bool translator_has_fastpath(Translator *t) {
        return t->have_fastpath;
}

static HookedLink *hooked_link(Translator *t, int ifindex, bool create) {
        for (size_t i = 0; i < ELEMENTSOF(t->links); i++)
                if (t->links[i].ifindex == ifindex)
                        return &t->links[i];
        if (!create)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(t->links); i++)
                if (t->links[i].ifindex == 0) {
                        t->links[i] = (HookedLink) {
                                .ifindex = ifindex,
                                .ingress_link_fd = -EBADF,
                                .egress_link_fd = -EBADF,
                        };
                        return &t->links[i];
                }
        return NULL;
}

Translator *translator_free(Translator *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(t->links); i++)
                if (t->links[i].ifindex > 0)
                        (void) translator_detach(t, t->links[i].ifindex);
        nat64_bpf__destroy(t->skel);
        free(t);
        return NULL;
}

void translator_freep(Translator **t) {
        translator_free(*t);
}

static int eam_keys_6(const struct nat64_eam *e, struct nat64_lpm6_key *k6, struct nat64_lpm4_key *k4) {
        *k6 = (struct nat64_lpm6_key) { .prefixlen = e->v6_len };
        memcpy(k6->addr, e->v6, 16);
        *k4 = (struct nat64_lpm4_key) { .prefixlen = e->v4_len, .addr = e->v4 };
        return 0;
}

static bool eam_has_key6(const void *key, const struct nat64_eam *eams, size_t n) {
        const struct nat64_lpm6_key *k = key;

        for (size_t i = 0; i < n; i++)
                if (eams[i].v6_len == k->prefixlen && memcmp(eams[i].v6, k->addr, 16) == 0)
                        return true;
        return false;
}

static bool eam_has_key4(const void *key, const struct nat64_eam *eams, size_t n) {
        const struct nat64_lpm4_key *k = key;

        for (size_t i = 0; i < n; i++)
                if (eams[i].v4_len == k->prefixlen && eams[i].v4 == k->addr)
                        return true;
        return false;
}

/* Deletes every key of the trie fd that eams does not have. */
static void eam_prune(int fd, size_t key_size, const struct nat64_eam *eams, size_t n,
                      bool (*has_key)(const void *key, const struct nat64_eam *eams, size_t n)) {
        union {
                struct nat64_lpm6_key k6;
                struct nat64_lpm4_key k4;
        } cur, next;
        void *prev = NULL;

        assert(key_size <= sizeof(cur));
        while (bpf_map_get_next_key(fd, prev, &next) == 0) {
                if (!has_key(&next, eams, n) && bpf_map_delete_elem(fd, &next) == 0) {
                        prev = NULL;    /* the trie's iteration restarts after a delete */
                        continue;
                }
                memcpy(&cur, &next, key_size);
                prev = &cur;
        }
}

static int eam_replace(Translator *t, const struct nat64_eam *eams, size_t n) {
        int fd6 = bpf_map__fd(t->skel->maps.nat64_eam6), fd4 = bpf_map__fd(t->skel->maps.nat64_eam4);
        struct nat64_lpm6_key k6;
        struct nat64_lpm4_key k4;
        int r;

        /* Add or update the new set first, then remove what is no longer in it,
         * so addresses present in both never stop translating. */
        for (size_t i = 0; i < n; i++) {
                eam_keys_6(&eams[i], &k6, &k4);
                r = bpf_map_update_elem(fd6, &k6, &eams[i], BPF_ANY);
                if (r < 0)
                        return r;
                r = bpf_map_update_elem(fd4, &k4, &eams[i], BPF_ANY);
                if (r < 0)
                        return r;
        }

        eam_prune(fd6, sizeof(k6), eams, n, eam_has_key6);
        eam_prune(fd4, sizeof(k4), eams, n, eam_has_key4);
        return 0;
}

static bool client_in(const struct nat64_lpm6_key *k, const struct nat64_lpm6_key *clients, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (clients[i].prefixlen == k->prefixlen && memcmp(clients[i].addr, k->addr, 16) == 0)
                        return true;
        return false;
}

/* The fast path's copy of the nft set "clients": the new set first, then the rest pruned. */
static int fastpath_clients_replace(Translator *t, const struct nat64_lpm6_key *clients, size_t n) {
        int fd = bpf_map__fd(t->skel->maps.nat64_fastpath_clients);
        struct nat64_lpm6_key cur, next;
        void *prev = NULL;
        int r;

        for (size_t i = 0; i < n; i++) {
                r = bpf_map_update_elem(fd, &clients[i], &(uint8_t) { 1 }, BPF_ANY);
                if (r < 0)
                        return r;
        }
        while (bpf_map_get_next_key(fd, prev, &next) == 0) {
                if (!client_in(&next, clients, n) && bpf_map_delete_elem(fd, &next) == 0) {
                        prev = NULL;
                        continue;
                }
                cur = next;
                prev = &cur;
        }
        return 0;
}

/* The timeout conntrack gives an established entry at each packet, in ms (its sysctl is in s). */
static uint32_t conntrack_timeout_ms(const char *sysctl, uint32_t fallback_s) {
        char path[128];
        unsigned v = fallback_s;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/sys/net/netfilter/%s", sysctl);
        f = fopen(path, "re");
        if (f) {
                if (fscanf(f, "%u", &v) != 1 || v > UINT32_MAX / 1000)
                        v = fallback_s;
                fclose(f);
        }
        return v * 1000;
}

int translator_apply(Translator *t, const TranslatorSettings *s) {
        struct nat64_globals *g = &t->skel->bss->nat64;
        uint32_t next = g->cfg_active + 1, inactive = next & 1;
        struct nat64_config cfg = s->cfg;
        int r;

        if (!t->have_fastpath)
                cfg.flags &= ~NAT64_F_FASTPATH;
        if (cfg.flags & NAT64_F_FASTPATH) {
                /* Read at every apply: systemctl reload picks up a changed sysctl. */
                cfg.fastpath_tcp_timeout_ms = conntrack_timeout_ms("nf_conntrack_tcp_timeout_established", 432000);
                cfg.fastpath_udp_timeout_ms = conntrack_timeout_ms("nf_conntrack_udp_timeout_stream", 120);
                cfg.fastpath_udp_young_timeout_ms = conntrack_timeout_ms("nf_conntrack_udp_timeout", 30);
        }
        if (t->have_fastpath) {
                r = fastpath_clients_replace(t, s->fastpath_clients, s->n_fastpath_clients);
                if (r < 0)
                        return r;
        }

        /* EAM entries are looked up only when nr_eam says so: grow first. */
        if (s->n_eams > g->nr_eam)
                __atomic_store_n(&g->nr_eam, (uint32_t) s->n_eams, __ATOMIC_RELEASE);
        r = eam_replace(t, s->eams, s->n_eams);
        if (r < 0)
                return r;
        __atomic_store_n(&g->nr_eam, (uint32_t) s->n_eams, __ATOMIC_RELEASE);

        g->cfg[inactive] = cfg;
        /* a count, not only the slot: the fast path's cached flows of older ones are stale */
        __atomic_store_n(&g->cfg_active, next, __ATOMIC_RELEASE);
        return 0;
}

static int attach_clsact(HookedLink *l, enum bpf_tc_attach_point where, struct bpf_program *prog) {
        DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = l->ifindex, .attach_point = where);
        DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts,
                            .handle = TC_HANDLE, .priority = TC_PRIORITY,
                            .prog_fd = bpf_program__fd(prog), .flags = BPF_TC_F_REPLACE);
        int r;

        r = bpf_tc_hook_create(&hook);
        if (r == 0)
                l->created_qdisc = true;
        else if (r != -EEXIST)
                return r;

        return bpf_tc_attach(&hook, &opts);
}

static int detach_clsact(int ifindex, enum bpf_tc_attach_point where) {
        DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = where);
        DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TC_HANDLE, .priority = TC_PRIORITY);
        int r;

        r = bpf_tc_detach(&hook, &opts);
        return r == -ENOENT || r == -ENODEV || r == -EINVAL ? 0 : r;
}

/*
 * tcx links belong to the daemon's file descriptors: the kernel removes them
 * when the process ends, however it ends, so a killed daemon leaves nothing
 * behind and a new one attaches exactly one copy.
 */
static int attach_tcx(HookedLink *l, enum bpf_tc_attach_point where, struct bpf_program *prog) {
        int *fd = where == BPF_TC_INGRESS ? &l->ingress_link_fd : &l->egress_link_fd;
        int r;

        r = bpf_link_create(bpf_program__fd(prog), l->ifindex,
                            where == BPF_TC_INGRESS ? BPF_TCX_INGRESS : BPF_TCX_EGRESS, NULL);
        if (r < 0)
                return r;
        if (*fd >= 0)
                close(*fd);     /* the new link is in place: drop the old one */
        *fd = r;
        return 0;
}

static int attach_one(Translator *t, int ifindex, enum bpf_tc_attach_point where, struct bpf_program *prog) {
        HookedLink *l;
        int r;

        l = hooked_link(t, ifindex, true);
        if (!l)
                return -E2BIG;

        /* A predecessor on clsact (killed, or an older kernel) leaves a filter. */
        r = detach_clsact(ifindex, where);
        if (r < 0)
                return r;

        if (t->mode != ATTACH_CLSACT) {
                r = attach_tcx(l, where, prog);
                if (r >= 0)
                        t->mode = ATTACH_TCX;
                else if (t->mode == ATTACH_UNKNOWN && IN_SET(r, -EINVAL, -EOPNOTSUPP, -ENOTSUPP)) {
                        log_info("tcx is not available (kernel < 6.6), attaching to clsact with cls_bpf.");
                        t->mode = ATTACH_CLSACT;
                } else
                        return r;
        }
        if (t->mode == ATTACH_CLSACT) {
                r = attach_clsact(l, where, prog);
                if (r < 0)
                        return r;
        }

        if (where == BPF_TC_INGRESS)
                l->ingress = true;
        else
                l->egress = true;
        return 0;
}

int translator_attach_egress_6to4(Translator *t, int ifindex) {
        return attach_one(t, ifindex, BPF_TC_EGRESS, t->skel->progs.xlat_6to4);
}

/*
 * One program per ingress: the fast path's where it is wanted (it hands
 * IPv4 of the [NAT46] interface to 4to6), else 4to6.
 */
static int attach_ingress(Translator *t, HookedLink *l) {
        struct bpf_program *prog = l->ingress_fastpath ? t->skel->progs.xlat_fastpath : t->skel->progs.xlat_4to6;
        int r;

        if (l->ingress && l->ingress_prog == prog)
                return 0;       /* tcx would refuse the same program twice */
        r = attach_one(t, l->ifindex, BPF_TC_INGRESS, prog);
        if (r < 0)
                return r;
        l->ingress_prog = prog;
        return 0;
}

int translator_attach_ingress_4to6(Translator *t, int ifindex) {
        HookedLink *l = hooked_link(t, ifindex, true);

        if (!l)
                return -E2BIG;
        l->ingress_4to6 = true;
        return attach_ingress(t, l);
}

int translator_attach_ingress_fastpath(Translator *t, int ifindex) {
        HookedLink *l;

        if (!t->have_fastpath)
                return -EOPNOTSUPP;
        l = hooked_link(t, ifindex, true);
        if (!l)
                return -E2BIG;
        l->ingress_fastpath = true;
        return attach_ingress(t, l);
}

bool translator_fastpath_attached(Translator *t, int ifindex) {
        HookedLink *l = hooked_link(t, ifindex, false);

        return l && l->ingress && l->ingress_fastpath;
}

int translator_detach_fastpath(Translator *t, int ifindex) {
        HookedLink *l = hooked_link(t, ifindex, false);
        int r;

        if (!l || !l->ingress_fastpath)
                return 0;
        l->ingress_fastpath = false;
        if (l->ingress_4to6)
                return attach_ingress(t, l);    /* 4to6 takes the hook back */

        r = detach_clsact(ifindex, BPF_TC_INGRESS);
        if (l->ingress_link_fd >= 0)
                close(l->ingress_link_fd);
        l->ingress_link_fd = -EBADF;
        l->ingress = false;
        l->ingress_prog = NULL;
        return r;
}

int translator_detach(Translator *t, int ifindex) {
        HookedLink *l = hooked_link(t, ifindex, false);
        int r = 0, k;

        /* Also for links we did not hook in this run: a killed predecessor's
         * clsact filters carry the same handle and priority. */
        k = detach_clsact(ifindex, BPF_TC_INGRESS);
        if (k < 0)
                r = k;
        k = detach_clsact(ifindex, BPF_TC_EGRESS);
        if (k < 0 && r == 0)
                r = k;

        if (l) {
                if (l->ingress_link_fd >= 0)
                        close(l->ingress_link_fd);
                if (l->egress_link_fd >= 0)
                        close(l->egress_link_fd);
                if (l->created_qdisc) {
                        DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
                                            .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
                        (void) bpf_tc_hook_destroy(&hook);
                }
                *l = (HookedLink) {};
        }
        return r;
}

const char *translator_attach_mode(Translator *t) {
        return t->mode == ATTACH_TCX ? "tcx" : t->mode == ATTACH_CLSACT ? "clsact" : "none";
}

int translator_read_counters(Translator *t, uint64_t ret[_NAT64_CNT_MAX]) {
        _cleanup_free_ struct nat64_counters *percpu = NULL;
        uint32_t key = 0;
        int ncpus, r;

        ncpus = libbpf_num_possible_cpus();
        if (ncpus < 0)
                return ncpus;
        percpu = calloc(ncpus, sizeof(*percpu));
        if (!percpu)
                return -ENOMEM;

        r = bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.nat64_counters), &key, percpu);
        if (r < 0)
                return r;

        memset(ret, 0, sizeof(uint64_t) * _NAT64_CNT_MAX);
        for (int cpu = 0; cpu < ncpus; cpu++)
                for (int c = 0; c < _NAT64_CNT_MAX; c++)
                        ret[c] += percpu[cpu].c[c];
        return 0;
}

static int drop_record_newer_first(const void *a, const void *b) {
        const struct nat64_drop_record *x = a, *y = b;

        return x->ktime_ns < y->ktime_ns ? 1 : x->ktime_ns > y->ktime_ns ? -1 : 0;
}

int translator_read_drops(Translator *t, struct nat64_drop_record **ret, size_t *ret_n) {
        _cleanup_free_ struct nat64_drop_record *records = NULL;
        int fd = bpf_map__fd(t->skel->maps.nat64_drop_log);
        size_t n = 0, max = (size_t) _NAT64_CNT_MAX * NAT64_DROP_LOG_DEPTH;

        records = calloc(max, sizeof(*records));
        if (!records)
                return -ENOMEM;

        for (uint32_t slot = 0; slot < max; slot++) {
                int r = bpf_map_lookup_elem(fd, &slot, &records[n]);
                if (r < 0)
                        return r;
                if (records[n].ktime_ns != 0)
                        n++;
        }
        qsort(records, n, sizeof(*records), drop_record_newer_first);

        *ret = TAKE_PTR(records);
        *ret_n = n;
        return 0;
}

int translator_prog_fd_6to4(Translator *t) {
        return bpf_program__fd(t->skel->progs.xlat_6to4);
}

int translator_prog_fd_4to6(Translator *t) {
        return bpf_program__fd(t->skel->progs.xlat_4to6);
}

/* The fast path's LAN program; -1 without the fast path (translator_has_fastpath()). */
int translator_prog_fd_fastpath(Translator *t) {
        return bpf_program__fd(t->skel->progs.xlat_fastpath);
}

/* The reverse multicast map (bpf/lib/mcast.h), which gatewayd/mroute.c fills. */
int translator_mcast_rx_fd(Translator *t) {
        return bpf_map__fd(t->skel->maps.nat64_mcast_rx);
}
