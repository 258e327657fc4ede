/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the gateway.conf parser: every input is a config
 * file. Beyond "no crash, no leak" (ASan) it checks that what loads dumps
 * to text that loads again to the same dump. Build and run it with
 * tests/fuzz/run-config-fuzz. FUZZ_VERBOSE=1 shows the parser's errors.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"

static char directory[] = "/tmp/fuzz-config-XXXXXX";
static char input_path[sizeof(directory) + 32], dump_path[sizeof(directory) + 32];

static void write_file(const char *path, const void *data, size_t size) {
        FILE *f = fopen(path, "we");

        if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
                abort();
}

/* The dump of the configuration in path, or NULL if it does not load. */
static char *load_and_dump(const char *path) {
        _cleanup_(config_freep) Config *c = NULL;
        char *text = NULL;
        size_t size = 0;
        FILE *f;

        if (config_load(path, &c) < 0)
                return NULL;

        f = open_memstream(&text, &size);
        if (!f || config_dump(c, f) < 0 || fclose(f) != 0)
                abort();
        return text;
}

static void remove_directory(void) {
        unlink(input_path);
        unlink(dump_path);
        rmdir(directory);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        if (!mkdtemp(directory))
                abort();
        atexit(remove_directory);
        snprintf(input_path, sizeof(input_path), "%s/gateway.conf", directory);
        snprintf(dump_path, sizeof(dump_path), "%s/dump.conf", directory);
        if (!getenv("FUZZ_VERBOSE"))
                log_max_level = -1;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *first = NULL, *second = NULL;

        write_file(input_path, data, size);
        first = load_and_dump(input_path);
        if (!first)
                return 0;

        write_file(dump_path, first, strlen(first));
        second = load_and_dump(dump_path);
        if (!second || strcmp(first, second) != 0) {
                fprintf(stderr, "The dump does not load back to itself:\n%s\n---\n%s\n", first, second ?: "(error)");
                abort();
        }
        return 0;
}
