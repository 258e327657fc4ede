/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

#include "capability.h"
#include "log.h"
#include "macro.h"

/* CAP_SETPCAP last: dropping a capability from the bounding set needs it. */
static const int load_only_capabilities[] = { CAP_SYS_ADMIN, CAP_SETPCAP };

/* glibc has no wrappers for these (libcap does; one call each is not worth a dependency). */
static int capget_v3(struct __user_cap_data_struct data[static _LINUX_CAPABILITY_U32S_3]) {
        struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };

        return syscall(SYS_capget, &header, data) < 0 ? negative_errno() : 0;
}

static int capset_v3(const struct __user_cap_data_struct data[static _LINUX_CAPABILITY_U32S_3]) {
        struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };

        return syscall(SYS_capset, &header, data) < 0 ? negative_errno() : 0;
}

static const char *capability_name(int cap) {
        return cap == CAP_SYS_ADMIN ? "CAP_SYS_ADMIN" : "CAP_SETPCAP";
}

int capability_drop_load_only(void) {
        struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
        bool held = false;
        int r;

        /* So that nothing this process might execute gets them back as root. */
        for (size_t i = 0; i < ELEMENTSOF(load_only_capabilities); i++) {
                int cap = load_only_capabilities[i];

                if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) <= 0)
                        continue;
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
                        /* EPERM without CAP_SETPCAP: the sets below still go */
                        log_debug_errno(negative_errno(), "Failed to drop %s from the bounding set, ignoring: %m",
                                        capability_name(cap));
        }

        r = capget_v3(data);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(load_only_capabilities); i++) {
                int cap = load_only_capabilities[i];
                uint32_t mask = CAP_TO_MASK(cap);
                struct __user_cap_data_struct *d = &data[CAP_TO_INDEX(cap)];

                if ((d->effective | d->permitted | d->inheritable) & mask)
                        held = true;
                d->effective &= ~mask;
                d->permitted &= ~mask;
                d->inheritable &= ~mask;
        }
        if (!held)
                return 0;
        r = capset_v3(data);
        if (r < 0)
                return r;
        log_debug("Gave up CAP_SYS_ADMIN and CAP_SETPCAP: they were needed only to load the translator.");
        return 0;
}
