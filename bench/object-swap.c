/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench/translator-cost --floor, preloaded into tools/nat64-xlat-run: the
 * translator's BPF object comes from a file instead of the bytes its
 * skeleton embeds, so a variant of the object runs under the real loader
 * and configuration. NAT64_OBJECT_SWAP="ORIG=NEW[:ORIG=NEW...]": a
 * skeleton whose bytes are those of file ORIG (build/bpf/nat64.bpf.o,
 * nat64-stub.bpf.o) opens NEW instead; any other aborts, so a figure is
 * never of an object the caller did not name.
 *
 *     cc -shared -fPIC -o object-swap.so bench/object-swap.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

static void *read_file(const char *path, size_t *ret_size) {
        FILE *f = fopen(path, "rb");
        void *buf = NULL;
        long n;

        if (!f || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0 ||
            !(buf = malloc(n ? n : 1)) || fread(buf, 1, n, f) != (size_t) n) {
                fprintf(stderr, "object-swap: cannot read %s\n", path);
                abort();
        }
        fclose(f);
        *ret_size = n;
        return buf;
}

int bpf_object__open_skeleton(struct bpf_object_skeleton *s, const struct bpf_object_open_opts *opts) {
        int (*real)(struct bpf_object_skeleton *, const struct bpf_object_open_opts *) =
                (int (*)(struct bpf_object_skeleton *, const struct bpf_object_open_opts *))
                dlsym(RTLD_NEXT, "bpf_object__open_skeleton");
        const char *spec = getenv("NAT64_OBJECT_SWAP");
        char *list, *pair, *save = NULL;
        int found = 0;

        if (!real || !spec) {
                fprintf(stderr, "object-swap: %s\n", real ? "NAT64_OBJECT_SWAP not set" : dlerror());
                abort();
        }
        list = strdup(spec);
        for (pair = strtok_r(list, ":", &save); pair && !found; pair = strtok_r(NULL, ":", &save)) {
                char *eq = strchr(pair, '=');
                size_t n;
                void *orig;

                if (!eq) {
                        fprintf(stderr, "object-swap: bad NAT64_OBJECT_SWAP entry %s\n", pair);
                        abort();
                }
                *eq = 0;
                orig = read_file(pair, &n);
                if (n == s->data_sz && memcmp(orig, s->data, n) == 0) {
                        s->data = read_file(eq + 1, &s->data_sz);  /* lives as long as the process */
                        found = 1;
                }
                free(orig);
        }
        free(list);
        if (!found) {
                fprintf(stderr, "object-swap: skeleton %s embeds none of the objects named\n", s->name);
                abort();
        }
        return real(s, opts);
}
