/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Capabilities the daemon needs only while it loads the translator. libbpf
 * resolves a kfunc that lives in a module (conntrack's, for the fast path,
 * where nf_conntrack is a module as in Debian's kernel) through an fd of
 * that module's BTF object, and opening one by its ID
 * (BPF_BTF_GET_FD_BY_ID) takes CAP_SYS_ADMIN. Nothing after the load does,
 * so where the operator grants it (units/fastpath-module-kfuncs.conf), it is
 * held for the load only.
 */
#pragma once

/*
 * Gives up CAP_SYS_ADMIN, and CAP_SETPCAP that lets us drop it from the
 * bounding set too, for the rest of the process's life: effective,
 * permitted, inheritable (ambient goes with them) and, while CAP_SETPCAP
 * is still there, the bounding set. A no-op for capabilities the process
 * does not have. 0, or negative errno.
 */
int capability_drop_load_only(void);
