/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * org.nat64.Gateway1 on the system bus (DBUS_SYSTEM_BUS_ADDRESS honoured).
 * The introspection data lives in org.nat64.Gateway1.xml next to this file;
 * keep both in sync (tests compare them).
 */
#pragma once

#include "manager.h"

#define BUS_NAME        "org.nat64.Gateway1"
#define BUS_PATH        "/org/nat64/Gateway1"
#define BUS_INTERFACE   "org.nat64.Gateway1"

/* Connects, publishes the object, takes the name (fails if another instance has it). */
int bus_setup(Manager *m);

/* PropertiesChanged for State / every configuration property / StaticMaps. No-ops without a bus. */
void bus_emit_state_changed(Manager *m);
void bus_emit_config_changed(Manager *m);
void bus_emit_static_maps_changed(Manager *m);
void bus_emit_ha_changed(Manager *m);
