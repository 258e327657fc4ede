/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Kernel modules the gateway needs before it loads the translator: the
 * fast path's conntrack kfuncs are in nf_conntrack's BTF, which exists
 * only once the module is loaded. On a fresh boot nothing has loaded it
 * yet (our nftables table would, moments later), so without this the fast
 * path would be available after a restart and not after a boot.
 */
#pragma once

/* Loads name (and what it depends on) unless loaded or built in; 0, or
 * negative errno (no module directory, not found, refused). */
int module_load(const char *name);
