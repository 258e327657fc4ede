# SPDX-License-Identifier: LGPL-2.1-or-later
"""nat64ctl end to end: every command, human and JSON output (JSON parsed
and compared with what busctl reads from the same daemon), exit statuses
(0 ok, 1 failure or refusal, 2 usage, 3 daemon not running), check-config
on good and bad files, the man page's counter list, bash completion."""

import ipaddress
import json
import os
import pty
import re
import subprocess
import xml.etree.ElementTree as ET

import pytest

from ctl_env import ROOT, Ctl, build_dir, gw_lib, nat64ctl_binary, topology as T

BUS_ARGS = ("org.nat64.Gateway1", "/org/nat64/Gateway1", "org.nat64.Gateway1")
LABEL_WIDTH = 17        # nat64ctl's status layout: "<label right-aligned>: value"

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_NOT_RUNNING = 0, 1, 2, 3

# Every command that talks to the daemon, with valid arguments.
BUS_COMMANDS = [
    ["status"], ["--json", "status"], ["statistics"], ["--json", "statistics"],
    ["maps"], ["--json", "maps"], ["map", "add", "ff3e::1234", "234.1.2.3"],
    ["map", "remove", "ff3e::1234"], ["reload"],
]

REFERENCE_CONF = T.GATEWAY_CONF if T else ""
CHAIN_NAT66 = "2001:db8:d0be:f00d::/64 -> NAT66 -> 64:ff9b:1:fffe::198.51.100.1 -> NAT64 -> 198.51.100.1 (wan0)"
CHAIN_NAT46 = ("192.168.1.0/24 (lan0) -> NAT46 -> 64:ff9b:1:fffe::192.168.1.0/120 -> NAT66 -> "
               "64:ff9b:1:fffe::198.51.100.1 -> NAT64 -> 198.51.100.1 (wan0)")


# -- helpers ---------------------------------------------------------------

def counters_from_header():
    """NAT64_COUNTERS of bpf/nat64_shared.h: {name: explanation}, in order."""
    text = (ROOT / "bpf" / "nat64_shared.h").read_text()
    return dict(re.findall(r'X\(\s*\w+,\s*"([^"]+)",\s*"([^"]+)"\)', text))


def statistics_from_source():
    """gateway_statistics[] of gatewayd/statistics.c: {name: explanation} for packets and bytes."""
    text = (ROOT / "gatewayd" / "statistics.c").read_text()
    out = {}
    for packets, nbytes, why in re.findall(
            r'\{\s*(?:"[^"]+"|NULL),\s*(?:GATEWAY_STATISTIC_CONNTRACK_FULL|"([^"]+)"),\s*(?:"([^"]+)"|NULL),\s*"([^"]+)"\s*\}',
            text):
        out[packets or "conntrack-full-events"] = why
        if nbytes:
            out[nbytes] = why
    return out


def prop(bus, name, user=None):
    r = bus.busctl("--json=short", "get-property", *BUS_ARGS, name, user=user)
    return json.loads(r.stdout)["data"]


def busctl_statistics(bus):
    r = bus.busctl("--json=short", "call", *BUS_ARGS, "GetStatistics")
    return dict(json.loads(r.stdout)["data"][0])


def daemon_properties(bus):
    """The properties the running daemon has (its introspection, so a test
    compares nat64ctl with the daemon it talks to, whatever its version)."""
    r = bus.busctl("--json=short", "call", BUS_ARGS[0], BUS_ARGS[1], "org.freedesktop.DBus.Introspectable",
                   "Introspect")
    xml = json.loads(r.stdout)["data"][0]
    for iface in ET.fromstring(xml).iter("interface"):
        if iface.get("name") == BUS_ARGS[2]:
            return [p.get("name") for p in iface.iter("property")]
    raise AssertionError("the daemon has no org.nat64.Gateway1 interface")


def is_drop(name):
    """The drop counters: "drop-<reason>" of the translator, "<what>-drops" of the nftables table."""
    return name.startswith("drop-") or name.endswith("-drops")


def parse_status(text):
    """nat64ctl status -> {label: [values]} (a list continues on unlabelled lines)."""
    fields, label = {}, None
    for line in text.splitlines():
        head, sep, value = line[:LABEL_WIDTH], line[LABEL_WIDTH:LABEL_WIDTH + 2], line[LABEL_WIDTH + 2:]
        if head.strip():
            assert sep == ": ", f"misaligned status line: {line!r}"
            label = head.strip()
            fields[label] = [value]
        else:
            assert label and sep == "  ", f"stray status line: {line!r}"
            fields[label].append(value)
    return fields


def parse_statistics(text):
    """nat64ctl statistics -> ({section: [(name, value, explanation)]})."""
    sections, current = {}, None
    for line in text.splitlines():
        if line.endswith(":") and not line.startswith(" "):
            current = sections.setdefault(line[:-1], [])
            continue
        m = re.match(r"^  (\S+)\s+(\d+)(?:  (.*))?$", line)
        assert m and current is not None, f"unexpected statistics line: {line!r}"
        current.append((m.group(1), int(m.group(2)), m.group(3)))
    return sections


def parse_maps(text):
    lines = text.splitlines()
    assert lines[0].split() == ["IPV6", "GROUP", "IPV4", "GROUP"]
    assert lines[-2] == ""
    rows = [line.split() for line in lines[1:-2]]
    n = len(rows)
    assert lines[-1] == f"{n} static map{'' if n == 1 else 's'}."
    return rows


def nothing_on_stdout_and_error_names(r, *needles):
    assert r.stdout == "", r.stdout
    for needle in needles:
        assert needle in r.stderr, r.stderr


# -- without a bus: usage, help, check-config ------------------------------

@pytest.mark.parametrize("args", [
    ["bogus"],
    ["map"],
    ["map", "frob", "ff3e::1"],
    ["map", "add", "ff3e::1"],
    ["map", "add", "ff3e::1", "234.1.2.3", "extra"],
    ["map", "add", "not-an-address", "234.1.2.3"],
    ["map", "add", "ff3e::1", "234.1.2"],
    ["map", "add", "234.1.2.3", "ff3e::1"],
    ["map", "remove"],
    ["map", "remove", "234.1.2.3"],
    ["status", "extra"],
    ["statistics", "extra"],
    ["reload", "now"],
    ["check-config", "a", "b"],
    ["--no-such-option", "status"],
    ["--address=", "status"],
])
def test_usage_error_exit_2(ctl, args):
    # An unreachable bus: exit 2 (not 1) also shows nothing was sent.
    r = ctl("--address=unix:path=/nonexistent/socket", *args)
    assert r.returncode == EXIT_USAGE, (args, r.returncode, r.stderr)
    assert r.stdout == ""
    assert r.stderr.strip(), "a usage error says what is wrong"


def test_malformed_address_named(ctl):
    r = ctl("--address=unix:path=/nonexistent/socket", "map", "add", "ff3e::1", "234.1.2")
    assert r.returncode == EXIT_USAGE
    assert '"234.1.2"' in r.stderr and "IPv4" in r.stderr


def test_help_and_version(ctl):
    r = ctl("--help")
    assert r.returncode == EXIT_OK
    for word in ("status", "statistics", "maps", "map add", "map remove", "reload", "check-config",
                 "--json", "--no-pager", "--address="):
        assert word in r.stdout, word
    version = re.search(r"version\s*:\s*'([^']+)'", (ROOT / "meson.build").read_text()).group(1)
    r = ctl("--version")
    assert r.returncode == EXIT_OK and r.stdout.strip() == f"nat64ctl {version}"


def test_unreachable_bus_exit_1(ctl):
    r = ctl("--address=unix:path=/nonexistent/socket", "status")
    assert r.returncode == EXIT_FAILURE
    nothing_on_stdout_and_error_names(r, "Failed to connect", "unix:path=/nonexistent/socket")


def test_check_config_good(ctl, tmp_path):
    conf = tmp_path / "gateway.conf"
    conf.write_text(REFERENCE_CONF or (ROOT / "etc" / "gateway.conf").read_text())
    r = ctl("check-config", str(conf), address=False,
            env={"PATH": "/usr/bin:/bin", "DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent"})
    assert r.returncode == EXIT_OK, r.stderr
    assert r.stderr == ""
    assert "WANInterface=wan0" in r.stdout and "IPv4Address=198.51.100.1" in r.stdout
    assert "[NAT66]" in r.stdout and "ClientPrefix=2001:db8:d0be:f00d::/64" in r.stdout
    # Defaults filled in: the effective configuration, not the file.
    assert "LowestIPv6MTU=1280" in r.stdout and "UDPZeroChecksum=compute" in r.stdout

    # Its own output is a configuration it accepts, unchanged.
    again = tmp_path / "again.conf"
    again.write_text(r.stdout)
    r2 = ctl("check-config", str(again), address=False)
    assert r2.returncode == EXIT_OK and r2.stdout == r.stdout


def test_check_config_shipped_example(ctl):
    r = ctl("check-config", str(ROOT / "etc" / "gateway.conf"), address=False)
    assert r.returncode == EXIT_OK, r.stderr


def test_check_config_same_as_daemon(ctl, tmp_path):
    """Same parser as nat64-gatewayd --check-config: same output, good or bad."""
    daemon = build_dir() / "gatewayd" / "nat64-gatewayd"
    if not daemon.exists():
        pytest.skip(f"{daemon} not built")
    conf = tmp_path / "gateway.conf"
    for text in ((ROOT / "etc" / "gateway.conf").read_text(),
                 "[Translator]\nPrefix=64:ff9b::/95\nWANInterface=wan0\nIPv4Address=198.51.100.1\n"):
        conf.write_text(text)
        mine = ctl("check-config", str(conf), address=False)
        theirs = subprocess.run([str(daemon), f"--config={conf}", "--check-config"],
                                capture_output=True, text=True, timeout=30)
        assert (mine.returncode == 0) == (theirs.returncode == 0)
        assert mine.stdout == theirs.stdout
        # Every error line of the parser appears in both (the daemon's carry
        # journald's "<N>" priority prefix, nat64ctl's on a terminal do not).
        for line in theirs.stderr.splitlines():
            if str(conf) in line:
                assert re.sub(r"^<\d>", "", line) in mine.stderr.splitlines(), line


@pytest.mark.parametrize("text,needles", [
    ("[Translator]\nWANInterface=wan0\nIPv4Address=198.51.100.1\nNoSuchKey=1\n"
     "[NAT66]\nClientPrefix=2001:db8::/64\n", [":4:", "NoSuchKey"]),
    ("[Translator]\nWANInterface=wan0\nIPv4Address=198.51.100.300\n"
     "[NAT66]\nClientPrefix=2001:db8::/64\n", [":3:", "IPv4Address"]),
    ("[Translator]\nPrefix=64:ff9b::/95\nWANInterface=wan0\nIPv4Address=198.51.100.1\n"
     "[NAT66]\nClientPrefix=2001:db8::/64\n", [":2:", "Prefix"]),
    ("[Translator]\nWANInterface=wan0\nIPv4Address=198.51.100.1\n", ["ClientPrefix"]),
    ("[NoSuchSection]\nKey=1\n", ["NoSuchSection"]),
])
def test_check_config_bad(ctl, tmp_path, text, needles):
    conf = tmp_path / "gateway.conf"
    conf.write_text(text)
    r = ctl("check-config", str(conf), address=False)
    assert r.returncode == EXIT_FAILURE, r.stdout
    nothing_on_stdout_and_error_names(r, str(conf), *needles)


def test_check_config_bad_dropin(ctl, tmp_path):
    conf = tmp_path / "gateway.conf"
    conf.write_text(REFERENCE_CONF or (ROOT / "etc" / "gateway.conf").read_text())
    (tmp_path / "gateway.conf.d").mkdir()
    dropin = tmp_path / "gateway.conf.d" / "50-local.conf"
    dropin.write_text("[Translator]\nLowestIPv6MTU=1279\n")
    r = ctl("check-config", str(conf), address=False)
    assert r.returncode == EXIT_FAILURE
    nothing_on_stdout_and_error_names(r, f"{dropin}:2:", "LowestIPv6MTU")


def test_check_config_missing_file(ctl, tmp_path):
    r = ctl("check-config", str(tmp_path / "absent.conf"), address=False)
    assert r.returncode == EXIT_FAILURE
    nothing_on_stdout_and_error_names(r, "absent.conf")


def test_man_page_lists_every_counter_with_its_explanation():
    """nat64ctl(8) repeats NAT64_COUNTERS for readers: it must not drift."""
    man = (ROOT / "man" / "nat64ctl.8").read_text()
    listed = dict(re.findall(r"^\.B (\S+)\n(.+)$", man, re.M))
    for name, text in counters_from_header().items():
        roff_name = name.replace("-", "\\-")
        assert roff_name in listed, f"{name} missing from man/nat64ctl.8"
        assert listed[roff_name].replace("\\(sc", "§") == text, name


def test_man_page_installed():
    assert "'nat64ctl.8'" in (ROOT / "man" / "meson.build").read_text()


# -- bash completion ----------------------------------------------------------

COMPLETION = ROOT / "shell-completion" / "bash" / "nat64ctl"
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"


def complete(line, cwd, env=None):
    """Completions bash would offer at the end of line."""
    if not os.path.exists(BASH_COMPLETION):
        pytest.skip("bash-completion not installed")
    script = f"""
        source {BASH_COMPLETION}
        source {COMPLETION}
        COMP_LINE={line!r}; COMP_POINT=${{#COMP_LINE}}
        read -ra COMP_WORDS <<< "$COMP_LINE"
        [[ $COMP_LINE == *' ' ]] && COMP_WORDS+=('')
        COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
        _nat64ctl nat64ctl "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
        printf '%s\\n' "${{COMPREPLY[@]}}"
    """
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, cwd=cwd, timeout=30, env=env)
    assert r.returncode == 0, r.stderr
    return sorted(x for x in r.stdout.split("\n") if x)


def test_bash_completion(tmp_path):
    (tmp_path / "gw.conf").write_text("")
    assert complete("nat64ctl ", tmp_path) == sorted(
        ["status", "statistics", "drops", "maps", "map", "reload", "ha", "ha-state", "check-config"])
    assert complete("nat64ctl st", tmp_path) == ["statistics", "status"]
    assert complete("nat64ctl --json m", tmp_path) == ["map", "maps"]
    assert complete("nat64ctl map ", tmp_path) == ["add", "remove"]
    assert "--no-pager" in complete("nat64ctl --", tmp_path)
    assert complete("nat64ctl check-config gw", tmp_path) == ["gw.conf"]
    assert complete("nat64ctl status ", tmp_path) == []


def test_completion_installed():
    text = (ROOT / "ctl" / "meson.build").read_text()
    assert "shell-completion/bash/nat64ctl" in text and "bash-completion" in text


# -- a bus without the daemon -------------------------------------------------

@pytest.mark.parametrize("args", BUS_COMMANDS)
def test_daemon_not_running_exit_3(bus_ctl, args):
    r = bus_ctl(*args)
    assert r.returncode == EXIT_NOT_RUNNING, (r.returncode, r.stderr)
    nothing_on_stdout_and_error_names(r, "not running", "org.nat64.Gateway1")


def test_system_bus_from_environment(bus, bus_ctl):
    """Without --address, DBUS_SYSTEM_BUS_ADDRESS names the bus."""
    r = bus_ctl("status", address=False, env=bus.env())
    assert r.returncode == EXIT_NOT_RUNNING, r.stderr


# -- against the daemon ----------------------------------------------------

def test_status_human(daemon_ctl, bus):
    r = daemon_ctl("status")
    assert r.returncode == EXIT_OK, r.stderr
    f = parse_status(r.stdout)
    assert f["State"] == [prop(bus, "State")] == ["running"]
    assert f["Prefixes"] == prop(bus, "Prefixes") == ["64:ff9b:1:fffe::/96"]
    assert f["WAN Interface"] == [prop(bus, "WANInterface")]
    assert f["IPv4 Addresses"] == prop(bus, "IPv4Addresses")
    assert f["Port Range"] == ["-".join(map(str, prop(bus, "PortRange")))]
    assert f["EAM Entries"] == [str(len(prop(bus, "EAM")))]
    assert f["RFC 6791 Address"] == [prop(bus, "RFC6791Address") or "none"]
    assert f["Lowest IPv6 MTU"] == [str(prop(bus, "LowestIPv6MTU"))]
    assert f["UDP Zero Checksum"] == [prop(bus, "UDPZeroChecksum")]
    assert f["Client Prefixes"] == prop(bus, "ClientPrefixes")
    nat46 = f'{prop(bus, "NAT46IPv4Prefix")} on {prop(bus, "NAT46Interface")}'
    if "NAT46Active" in daemon_properties(bus):
        nat46 += " (attached)" if prop(bus, "NAT46Active") else " (not attached)"
    assert f["NAT46"] == [nat46]
    if not prop(bus, "FastPath"):
        assert f["Fast Path"] == ["off"]
    else:
        assert f["Fast Path"] == ["on (active)" if prop(bus, "FastPathActive") else "on (not available on this kernel)"]
    assert f["Static Maps"] == [str(len(prop(bus, "StaticMaps")))] == ["1"]
    assert f["Chain"] == [CHAIN_NAT66, CHAIN_NAT46]


def test_status_is_the_default(daemon_ctl):
    assert daemon_ctl().stdout == daemon_ctl("status").stdout


def test_status_json(daemon_ctl, bus):
    r = daemon_ctl("--json", "status")
    assert r.returncode == EXIT_OK, r.stderr
    j = json.loads(r.stdout)
    names = daemon_properties(bus)
    assert "State" in names and "StaticMaps" in names
    for name in names:
        assert j[name] == prop(bus, name), name
    assert set(j["Statistics"]) == set(busctl_statistics(bus))
    assert j["AttachMode"] in ("tcx", "clsact")


def test_status_without_nat46_and_with_pool(topo, bus, tmp_path):
    """Optional parts read as unset; several IPv4 addresses are counted; a
    prefix shorter than /96 embeds the address around the u octet (RFC 6052 §2.2)."""
    if not gw_lib.daemon_binary().exists():
        pytest.skip(f"{gw_lib.daemon_binary()} not built")
    conf = re.sub(r"\[NAT46\]\n[^[]*", "", REFERENCE_CONF).replace(
        "IPv4Address=198.51.100.1\n", "IPv4Address=198.51.100.1\nIPv4Address=198.51.100.3\n").replace(
        "PortRange=32768-65535\n", "").replace("Prefix=64:ff9b:1:fffe::/96", "Prefix=2001:db8:64::/64")
    g = gw_lib.Gatewayd(topo, bus, tmp_path / "gatewayd", config_text=conf)
    try:
        g.start()
        ctl = Ctl(bus.address)
        f = parse_status(ctl("status").stdout)
        assert f["NAT46"] == ["off"]
        assert f["Port Range"] == ["all"]
        assert f["IPv4 Addresses"] == ["198.51.100.1", "198.51.100.3"]
        # 2001:db8:64::/64 + 198.51.100.1: bytes 9..12 carry c6 33 64 01, byte 8 stays 0.
        embedded = str(ipaddress.IPv6Address("2001:db8:64:0:c6:3364:100:0"))
        assert f["Chain"] == ["2001:db8:d0be:f00d::/64 -> NAT66 -> " + embedded +
                              " -> NAT64 -> 198.51.100.1 (+1 more) (wan0)"]
        j = json.loads(ctl("--json", "status").stdout)
        assert j["NAT46Interface"] == "" and j["NAT46IPv4Prefix"] == "" and j["PortRange"] == [0, 0]
    finally:
        g.close()


def test_status_degraded(topo, bus, tmp_path):
    """Without its WAN the daemon runs degraded; status says so, exit 0."""
    if not gw_lib.daemon_binary().exists():
        pytest.skip(f"{gw_lib.daemon_binary()} not built")
    topo.delete_wan()
    g = gw_lib.Gatewayd(topo, bus, tmp_path / "gatewayd")
    try:
        g.start()
        r = Ctl(bus.address)("status")
        assert r.returncode == EXIT_OK, r.stderr
        assert parse_status(r.stdout)["State"] == [prop(bus, "State")] == ["degraded"]
    finally:
        g.close()


def test_statistics(daemon_ctl, bus, topo):
    assert T.ping(topo, "lan6", T.INET_ADDR6, count=2).returncode == 0
    before = busctl_statistics(bus)
    r = daemon_ctl("--json", "statistics")
    after = busctl_statistics(bus)
    assert r.returncode == EXIT_OK, r.stderr
    j = json.loads(r.stdout)
    assert list(j) == list(before), "the daemon's counters, in its order"
    for name, value in j.items():
        assert before[name] <= value <= after[name], name
    assert j["packets-6to4"] >= 2 and j["packets-4to6"] >= 2

    r = daemon_ctl("statistics")
    assert r.returncode == EXIT_OK, r.stderr
    sections = parse_statistics(r.stdout)
    assert list(sections) == ["Traffic", "Drops"]
    explain = counters_from_header() | statistics_from_source()
    seen = []
    for section, rows in sections.items():
        for name, value, text in rows:
            assert is_drop(name) == (section == "Drops"), name
            # NAT64_COUNTERS explains the translator's, statistics.c the rest: every one.
            assert text and text == explain.get(name), name
            assert before[name] <= value <= busctl_statistics(bus)[name]
            seen.append(name)
    assert sorted(seen) == sorted(before)


def test_maps(daemon_ctl, bus):
    expected = prop(bus, "StaticMaps")
    assert expected == [[T.MCAST_GROUP6, T.MCAST_GROUP4]]
    r = daemon_ctl("maps")
    assert r.returncode == EXIT_OK, r.stderr
    assert parse_maps(r.stdout) == expected
    r = daemon_ctl("--json", "maps")
    assert r.returncode == EXIT_OK, r.stderr
    assert [[m["ipv6"], m["ipv4"]] for m in json.loads(r.stdout)] == expected


def test_map_add_remove(daemon_ctl, bus):
    r = daemon_ctl("map", "add", "ff3e::1234", "234.1.2.3")
    assert (r.returncode, r.stdout, r.stderr) == (EXIT_OK, "", "")
    expected = [[T.MCAST_GROUP6, T.MCAST_GROUP4], ["ff3e::1234", "234.1.2.3"]]
    assert prop(bus, "StaticMaps") == expected
    assert parse_maps(daemon_ctl("maps").stdout) == expected
    assert [[m["ipv6"], m["ipv4"]] for m in json.loads(daemon_ctl("--json", "maps").stdout)] == expected
    assert parse_status(daemon_ctl("status").stdout)["Static Maps"] == ["2"]

    r = daemon_ctl("map", "remove", "ff3e::1234")
    assert (r.returncode, r.stdout, r.stderr) == (EXIT_OK, "", "")
    assert prop(bus, "StaticMaps") == [[T.MCAST_GROUP6, T.MCAST_GROUP4]]


@pytest.mark.parametrize("args,error", [
    (["map", "add", "ff3e::1234", "10.1.2.3"], "org.freedesktop.DBus.Error.InvalidArgs"),
    (["map", "add", "2001:db8::1", "234.1.2.3"], "org.freedesktop.DBus.Error.InvalidArgs"),
    (["map", "add", "ff3e::1234", "224.0.0.5"], "org.freedesktop.DBus.Error.InvalidArgs"),
    (["map", "add", T.MCAST_GROUP6 if T else "", "234.1.2.3"], "org.freedesktop.DBus.Error.InvalidArgs"),
    (["map", "remove", "ff3e::9999"], "org.nat64.Gateway1.Error.NoSuchStaticMap"),
])
def test_daemon_refuses_exit_1(daemon_ctl, bus, args, error):
    before = prop(bus, "StaticMaps")
    r = daemon_ctl(*args)
    assert r.returncode == EXIT_FAILURE, r.stderr
    # The D-Bus error name and the daemon's message.
    nothing_on_stdout_and_error_names(r, error + ": ")
    assert prop(bus, "StaticMaps") == before


def test_non_root(daemon_ctl, bus):
    """Reads are everybody's; writes are refused (AccessDenied), nothing changes."""
    for args in (["status"], ["--json", "status"], ["statistics"], ["--json", "statistics"], ["maps"]):
        r = daemon_ctl(*args, user="nobody")
        assert r.returncode == EXIT_OK, (args, r.stderr)
    before = prop(bus, "StaticMaps")
    for args in (["map", "add", "ff3e::1234", "234.1.2.3"], ["map", "remove", T.MCAST_GROUP6], ["reload"]):
        r = daemon_ctl(*args, user="nobody")
        assert r.returncode == EXIT_FAILURE, (args, r.stderr)
        nothing_on_stdout_and_error_names(r, "org.freedesktop.DBus.Error.AccessDenied")
    assert prop(bus, "StaticMaps") == before


def test_reload(daemon_ctl, bus, gatewayd):
    daemon_ctl("map", "add", "ff3e::1234", "234.1.2.3")
    gatewayd.config.write_text(REFERENCE_CONF.replace("PortRange=32768-65535", "PortRange=40000-50000"))
    r = daemon_ctl("reload")
    assert (r.returncode, r.stdout, r.stderr) == (EXIT_OK, "", "")
    assert prop(bus, "PortRange") == [40000, 50000]
    # Runtime maps are replaced by the files' maps.
    assert prop(bus, "StaticMaps") == [[T.MCAST_GROUP6, T.MCAST_GROUP4]]
    assert parse_status(daemon_ctl("status").stdout)["Port Range"] == ["40000-50000"]


def test_reload_refused_keeps_configuration(daemon_ctl, bus, gatewayd):
    gatewayd.config.write_text(REFERENCE_CONF + "\n[Translator]\nNoSuchKey=1\n")
    # check-config finds what reload will refuse, without the daemon.
    r = daemon_ctl("check-config", str(gatewayd.config), address=False)
    assert r.returncode == EXIT_FAILURE and "NoSuchKey" in r.stderr
    r = daemon_ctl("reload")
    assert r.returncode == EXIT_FAILURE
    nothing_on_stdout_and_error_names(r, "org.freedesktop.DBus.Error.Failed")
    assert prop(bus, "State") == "running"
    assert prop(bus, "PortRange") == [32768, 65535]


def test_daemon_gone_exit_3(daemon_ctl, gatewayd):
    assert daemon_ctl("status").returncode == EXIT_OK
    gatewayd.stop()
    for args in BUS_COMMANDS:
        r = daemon_ctl(*args)
        assert r.returncode == EXIT_NOT_RUNNING, (args, r.stderr)


def test_bash_completion_of_map_groups(daemon_ctl, tmp_path):
    """"map remove" offers the groups the daemon on that bus maps."""
    daemon_ctl("map", "add", "ff3e::1234", "234.1.2.3")
    env = dict(os.environ, PATH=f"{nat64ctl_binary().parent}:{os.environ['PATH']}")
    line = f"nat64ctl --address={daemon_ctl.address} map remove "
    assert complete(line, tmp_path, env) == sorted([T.MCAST_GROUP6, "ff3e::1234"])
    assert complete(line + "ff3e::", tmp_path, env) == ["1234"]      # after the last ':', as readline wants


def test_pager(daemon_ctl, tmp_path):
    """Output to a terminal goes through $NAT64CTL_PAGER unless --no-pager."""
    paged = tmp_path / "paged"
    env = dict(os.environ, NAT64CTL_PAGER=f"cat > {paged}")
    expected = daemon_ctl("status").stdout

    def on_terminal(*args):
        master, slave = pty.openpty()
        try:
            cmd = [str(nat64ctl_binary()), f"--address={daemon_ctl.address}", *args]
            p = subprocess.run(cmd, stdout=slave, stderr=subprocess.PIPE, env=env, timeout=30)
        finally:
            os.close(slave)
        out = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        os.close(master)
        return p.returncode, out.decode().replace("\r\n", "\n")

    rc, out = on_terminal("status")
    assert rc == EXIT_OK and out == ""
    assert paged.read_text() == expected
    paged.unlink()
    rc, out = on_terminal("--no-pager", "status")
    assert rc == EXIT_OK and out == expected
    assert not paged.exists()



SPOOF_SCRIPT = """
from scapy.all import Ether, IP, UDP, sendp
# From the WAN, a packet claiming the gateway's own pool address as source:
# the translator must drop it (drop-spoofed) and keep its headers. (The port
# is inside any PortRange=, where the packet is the translator's to judge.)
sendp(Ether(dst="{mac}") / IP(src="198.51.100.1", dst="198.51.100.1") /
      UDP(sport=4242, dport=40000) / b"spoof", iface="{iface}", verbose=False)
"""


def test_drops(daemon_ctl, topo):
    """nat64ctl drops shows the headers the translator kept of a dropped packet."""
    gw_mac = T.link_mac(topo, "gw", "wan0")
    script = SPOOF_SCRIPT.format(mac=gw_mac, iface="eth0")  # inet's link to the gateway
    topo.run("inet", "/usr/bin/python3", "-c", script)

    r = daemon_ctl("--json", "drops")
    assert r.returncode == EXIT_OK, r.stderr
    drops = json.loads(r.stdout)
    spoofed = [d for d in drops if d["reason"] == "drop-spoofed"]
    assert spoofed, drops
    d = spoofed[0]
    assert (d["source"], d["destination"], d["protocol"]) == ("198.51.100.1", "198.51.100.1", 17)
    assert (d["source_port"], d["destination_port"], d["link"]) == (4242, 40000, "wan0")

    r = daemon_ctl("drops")
    assert r.returncode == EXIT_OK, r.stderr
    assert "drop-spoofed" in r.stdout and "198.51.100.1 port 4242 -> 198.51.100.1 port 40000" in r.stdout


