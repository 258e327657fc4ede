/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nat64-gatewayd: NAT66 (nftables, kernel conntrack) in front of a stateless
 * eBPF NAT64, as one systemd service. See man nat64-gatewayd(8).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "build-config.h"
#include "bus.h"
#include "conf.h"
#include "log.h"
#include "manager.h"

/* Installed by nft/meson.build; --nft-template= runs from a build tree. */
#define NFT_TEMPLATE_DEFAULT PKGDATADIR "/nat64-gateway.nft.in"

static const char *arg_config = CONFIG_DEFAULT_PATH;
static const char *arg_nft_template = NFT_TEMPLATE_DEFAULT;
static bool arg_check_config = false;

static void help(void) {
        printf("nat64-gatewayd [OPTIONS...]\n\n"
               "NAT66 -> NAT64 gateway daemon.\n\n"
               "  -h --help               Show this help\n"
               "     --version            Show package version\n"
               "  -c --config=PATH        Configuration file (default: %s)\n"
               "     --check-config       Validate and print the effective configuration, then exit\n"
               "     --nft-template=PATH  nftables table template (default: %s)\n"
               "\nEnvironment: NAT64_LOG_LEVEL=debug|info|notice|warning|err,\n"
               "DBUS_SYSTEM_BUS_ADDRESS.\n",
               CONFIG_DEFAULT_PATH, NFT_TEMPLATE_DEFAULT);
}

/* Returns 1 to go on, 0 to exit successfully, negative errno on bad usage. */
static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100,
                ARG_CHECK_CONFIG,
                ARG_NFT_TEMPLATE,
        };
        static const struct option options[] = {
                { "help",         no_argument,       NULL, 'h'              },
                { "version",      no_argument,       NULL, ARG_VERSION      },
                { "config",       required_argument, NULL, 'c'              },
                { "check-config", no_argument,       NULL, ARG_CHECK_CONFIG },
                { "nft-template", required_argument, NULL, ARG_NFT_TEMPLATE },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "hc:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("nat64-gatewayd %s\n", PACKAGE_VERSION);
                        return 0;
                case 'c':
                        arg_config = optarg;
                        break;
                case ARG_CHECK_CONFIG:
                        arg_check_config = true;
                        break;
                case ARG_NFT_TEMPLATE:
                        arg_nft_template = optarg;
                        break;
                case '?':
                        return -EINVAL;
                default:
                        return -EINVAL;
                }

        if (optind < argc) {
                log_error("This program takes no positional arguments.");
                return -EINVAL;
        }
        return 1;
}

static void log_setup(void) {
        static const struct {
                const char *name;
                int level;
        } levels[] = {
                { "debug",   LOG_DEBUG   },
                { "info",    LOG_INFO    },
                { "notice",  LOG_NOTICE  },
                { "warning", LOG_WARNING },
                { "err",     LOG_ERR     },
                { "error",   LOG_ERR     },
        };
        const char *e = getenv("NAT64_LOG_LEVEL");

        if (!e)
                return;
        for (size_t i = 0; i < ELEMENTSOF(levels); i++)
                if (streq(e, levels[i].name)) {
                        log_max_level = levels[i].level;
                        return;
                }
        log_warning("NAT64_LOG_LEVEL=\"%s\" is not a log level, ignoring.", e);
}

static int run_check_config(void) {
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        /* config_load() has shown every error with file, line and key. */
        r = config_load(arg_config, &c);
        if (r < 0)
                return r;
        r = config_dump(c, stdout);
        if (r < 0)
                return log_error_errno(r, "Failed to print the configuration: %m");
        return fflush(stdout) == 0 ? 0 : -EIO;
}

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        log_info("Received %s, stopping.", strsignal(si->ssi_signo));
        /* Inside the loop, so State=stopping still reaches the bus: sd-bus
         * closes its connection when the loop exits. */
        manager_stop(userdata);
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int on_reload_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        /* manager_reload() logs why it failed; the old configuration stays. */
        (void) manager_reload(userdata, NULL);
        return 0;
}

static int run(int argc, char *argv[]) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        log_setup();

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r;

        if (arg_check_config)
                return run_check_config();

        r = sd_event_default(&event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate event loop: %m");

        /* Pings systemd at half of WatchdogSec= while the loop turns. */
        r = sd_event_set_watchdog(event, true);
        if (r < 0)
                return log_error_errno(r, "Failed to enable watchdog: %m");

        r = manager_new(event, arg_config, arg_nft_template, &m);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate manager: %m");

        r = manager_load_config(m);
        if (r < 0)
                return r;

        r = sd_event_add_signal(event, NULL, SIGTERM | SD_EVENT_SIGNAL_PROCMASK, on_exit_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGINT | SD_EVENT_SIGNAL_PROCMASK, on_exit_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGHUP | SD_EVENT_SIGNAL_PROCMASK, on_reload_signal, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch signals: %m");

        r = bus_setup(m);
        if (r < 0)
                return r;

        (void) sd_notify(false, "STATUS=Starting...");

        r = manager_start(m);
        if (r < 0) {
                manager_stop(m);
                return r;
        }

        /* Only now do packets for the prefixes translate. */
        (void) sd_notify(false, "READY=1");

        r = sd_event_loop(event);
        manager_stop(m);        /* no-op after a signal; needed if the bus went away */
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        /* sd_event_exit() code: 0 on signals, non-zero if the bus went away. */
        return r == 0 ? 0 : -ENOTCONN;
}

int main(int argc, char *argv[]) {
        return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
