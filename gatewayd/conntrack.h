/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel's conntrack, which the gateway needs before it loads the
 * translator: the fast path's kfuncs are in nf_conntrack's BTF, which exists
 * only once the module is loaded. On a fresh boot nothing has loaded it yet
 * (our nftables table would, moments later), so without this the fast path
 * would be there after a restart and not after a boot.
 */
#pragma once

/*
 * Has the kernel load nf_conntrack unless it is loaded or built in: one
 * ctnetlink request (the statistics), for which the kernel loads
 * nf_conntrack_netlink and with it nf_conntrack, as it does for
 * conntrack(8). The kernel's own module loader does it, so it works where
 * the unit forbids us to load modules (ProtectKernelModules=yes). 0, or
 * negative errno.
 */
int conntrack_load(void);
