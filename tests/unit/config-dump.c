/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * config-dump FILE: loads FILE (and FILE.d/\*.conf) as nat64-gatewayd would
 * and prints the effective configuration, exit 0; or the errors, exit 1.
 * The driver of tests/unit/test_config.py.
 */
#include <stdio.h>
#include <stdlib.h>

#include "conf.h"
#include "log.h"

int main(int argc, char *argv[]) {
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        if (argc != 2) {
                fprintf(stderr, "Usage: %s FILE\n", argv[0]);
                return 2;
        }

        r = config_load(argv[1], &c);
        if (r < 0) {
                log_error_errno(r, "Failed to load \"%s\": %m", argv[1]);
                return EXIT_FAILURE;
        }

        r = config_dump(c, stdout);
        if (r < 0) {
                log_error_errno(r, "Failed to print the configuration: %m");
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
