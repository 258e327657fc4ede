# SPDX-License-Identifier: LGPL-2.1-or-later
"""[HA] on one gateway of the reference topology: the D-Bus members, their
errors, nat64ctl, the standby gate and the held addresses (docs/HA.md)."""

import json
import subprocess

import gatewayd as gw_lib
import topology as T

SOCKET = "/run/nat64-test-no-conntrackd.ctl"      # nothing listens there
HA_CONF = T.GATEWAY_CONF + f"\n[HA]\nConntrackdSocket={SOCKET}\n"
E = "org.freedesktop.DBus.Error."


def prop(g, name):
    return json.loads(g.get_property(name).stdout)["data"]


def send(g, method, *strings, user=None):
    """dbus-send: its stderr names the D-Bus error."""
    return g.send(method, *[f"string:{v}" for v in strings], user=user)


def set_state(g, instance, state, user=None):
    return send(g, "SetHAState", instance, state, user=user)


def translates(topo):
    return T.ping(topo, "lan6", T.INET_ADDR6, count=1).returncode == 0


def test_role_gate_and_errors(topo, make_gatewayd):
    g = make_gatewayd(HA_CONF)
    # started holding IPv4Address= on the WAN: master until keepalived says otherwise
    assert prop(g, "HARole") == "master"
    assert prop(g, "HAHeldAddresses") == [T.GW_WAN_ADDR]
    assert prop(g, "HAConntrackdSocket") == SOCKET
    assert translates(topo)

    for instance, state in (("bad name", "master"), ("", "backup"), ("x" * 65, "fault"), ("VI_1", "primary"),
                            ("VI_1", "")):
        r = set_state(g, instance, state)
        assert r.returncode != 0 and "InvalidArgs" in r.stderr, (instance, state, r.stderr)
    r = set_state(g, "VI_1", "backup", user="nobody")
    assert r.returncode != 0 and "AccessDenied" in r.stderr, r.stderr
    assert prop(g, "HAInstances") == []

    # backup: no new flow is mapped, and the table says why
    assert set_state(g, "VI_1", "BACKUP").returncode == 0
    assert prop(g, "HARole") == "backup" and prop(g, "HAInstances") == [["VI_1", "backup"]]
    assert not translates(topo)
    assert g.statistics()["ha-standby-drops"] > 0
    assert "ha_standby" in topo.run("gw", "nft", "list", "chain", "ip6", "nat64_gateway", "forward_filter").stdout

    assert set_state(g, "VI_1", "master").returncode == 0
    assert prop(g, "HARole") == "master" and translates(topo)
    assert g.statistics()["ha-failovers"] == 1

    # the address goes (keepalived removed it): nothing new is mapped; back: mapped again
    topo.ip("gw", "addr", "del", f"{T.GW_WAN_ADDR}/24", "dev", "wan0")
    T.wait_for(lambda: prop(g, "HAHeldAddresses") == [], what="the address gone")
    assert "ha_standby" in topo.run("gw", "nft", "list", "chain", "ip6", "nat64_gateway", "forward_filter").stdout
    topo.ip("gw", "addr", "add", f"{T.GW_WAN_ADDR}/24", "dev", "wan0")
    topo.ip("gw", "route", "replace", "default", "via", T.INET_WAN_ADDR)
    T.wait_for(lambda: prop(g, "HAHeldAddresses") == [T.GW_WAN_ADDR], what="the address back")
    assert translates(topo)

    # an instance that stops is forgotten; the 17th instance is refused
    assert set_state(g, "VI_1", "stop").returncode == 0 and prop(g, "HAInstances") == []
    for i in range(16):
        assert set_state(g, f"VI_{i}", "backup").returncode == 0
    r = set_state(g, "VI_16", "backup")
    assert r.returncode != 0 and "LimitsExceeded" in r.stderr, r.stderr

    # conntrackd is not running: a clear error, the daemon carries on
    r = send(g, "GetSyncStatistics")
    assert r.returncode != 0 and "SyncUnavailable" in r.stderr and SOCKET in r.stderr, r.stderr
    ctl = subprocess.run([str(gw_lib.build_dir() / "ctl" / "nat64ctl"), f"--address={g.bus.address}",
                          "--no-pager", "ha"], capture_output=True, text=True, timeout=30)
    assert ctl.returncode == 0 and "Role: backup" in ctl.stdout and "Sync: unavailable" in ctl.stdout, ctl
    assert g.state() == "running"


def test_without_ha(make_gatewayd):
    g = make_gatewayd()
    assert prop(g, "HARole") == "" and prop(g, "HAConntrackdSocket") == ""
    for member, args in (("SetHAState", ("VI_1", "master")), ("GetSyncStatistics", ())):
        r = send(g, member, *args)
        assert r.returncode != 0 and "HANotConfigured" in r.stderr, r.stderr
    assert g.statistics()["ha-failovers"] == 0


def test_config_errors(tmp_path):
    for value, why in (("run/conntrackd.ctl", "not an absolute path"), ("/" + "x" * 120, "longer than")):
        conf = tmp_path / "gw.conf"
        conf.write_text(T.GATEWAY_CONF + f"\n[HA]\nConntrackdSocket={value}\n")
        r = subprocess.run([str(gw_lib.daemon_binary()), f"--config={conf}", "--check-config"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode != 0 and "[HA] ConntrackdSocket=" in r.stderr and why in r.stderr, r.stderr
