/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The little JSON the daemon's Describe() and nat64ctl --json write. */
#pragma once

#include <stdio.h>

/* s as a JSON string, escaped as RFC 8259 §7 requires. */
void json_write_string(FILE *f, const char *s);
