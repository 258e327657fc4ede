/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include <libkmod.h>

#include "log.h"
#include "macro.h"
#include "module.h"

static void kmod_unrefp(struct kmod_ctx **ctx) {
        if (*ctx)
                kmod_unref(*ctx);
}

static void kmod_module_unref_listp(struct kmod_list **list) {
        if (*list)
                kmod_module_unref_list(*list);
}

/* As systemd's module_load_and_warn(), quieter: the caller says what a failure costs. */
int module_load(const char *name) {
        _cleanup_(kmod_unrefp) struct kmod_ctx *ctx = NULL;
        _cleanup_(kmod_module_unref_listp) struct kmod_list *modules = NULL;
        struct kmod_list *it;
        char sysfs[PATH_MAX];
        int r;

        /* Loaded, or built in (a kernel without /lib/modules has no list
         * of its built-in modules for libkmod to read). */
        (void) snprintf(sysfs, sizeof(sysfs), "/sys/module/%s", name);
        if (access(sysfs, F_OK) == 0) {
                log_debug("Kernel module %s is loaded or built in.", name);
                return 0;
        }

        ctx = kmod_new(NULL, NULL);
        if (!ctx)
                return -ENOMEM;
        (void) kmod_load_resources(ctx);

        r = kmod_module_new_from_lookup(ctx, name, &modules);
        if (r < 0)
                return r;
        if (!modules)
                return -ENOENT;

        kmod_list_foreach(it, modules) {
                struct kmod_module *mod = kmod_module_get_module(it);
                int state = kmod_module_get_initstate(mod);

                if (state == KMOD_MODULE_BUILTIN || state == KMOD_MODULE_LIVE) {
                        log_debug("Kernel module %s is %s.", kmod_module_get_name(mod),
                                  state == KMOD_MODULE_BUILTIN ? "built in" : "loaded");
                        r = 0;
                } else {
                        r = kmod_module_probe_insert_module(mod, KMOD_PROBE_APPLY_BLACKLIST, NULL, NULL, NULL, NULL);
                        if (r == 0)
                                log_info("Loaded kernel module %s.", kmod_module_get_name(mod));
                        else if (r > 0)     /* KMOD_PROBE_APPLY_BLACKLIST's verdict */
                                r = -EPERM;
                }
                kmod_module_unref(mod);
                if (r < 0)
                        return r;
        }
        return 0;
}
