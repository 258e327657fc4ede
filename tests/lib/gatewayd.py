# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs nat64-gatewayd from a build directory inside a Topology's gw namespace.

Readiness comes the way systemd sees it: a NOTIFY_SOCKET of ours receives
READY=1, STATUS=, RELOADING=1, WATCHDOG=1. stderr goes to a log file.
"""

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from topology import GATEWAY_CONF

ROOT = Path(__file__).resolve().parents[2]


def build_dir() -> Path:
    return Path(os.environ.get("NAT64_BUILD_DIR", ROOT / "build"))


def daemon_binary() -> Path:
    return build_dir() / "gatewayd" / "nat64-gatewayd"


def nft_template() -> Path:
    """The NAT66 ruleset template in the source tree (nft/)."""
    env = os.environ.get("NAT64_NFT_TEMPLATE")
    if env:
        return Path(env)
    candidates = sorted(p for p in (ROOT / "nft").iterdir()
                        if p.is_file() and p.name != "meson.build" and ".nft" in p.name)
    if not candidates:
        raise FileNotFoundError("no nftables template in nft/")
    return candidates[0]


class Gatewayd:
    def __init__(self, topo, bus, workdir, config_text=GATEWAY_CONF, log_level="debug",
                 watchdog_usec=None):
        self.topo = topo
        self.bus = bus
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config = self.workdir / "gateway.conf"
        self.config.write_text(config_text)
        self.log = self.workdir / "gatewayd.log"
        self.log_level = log_level
        self.watchdog_usec = watchdog_usec
        self.proc = None
        self.notify_path = self.workdir / "notify.sock"
        self.notify = None
        self.messages = []      # every notification received, in order

    # -- notifications ----------------------------------------------------
    def _open_notify(self):
        if self.notify:
            self.notify.close()
        if self.notify_path.exists():
            self.notify_path.unlink()
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(str(self.notify_path))
        self.notify.settimeout(0.1)

    def poll_notify(self):
        """Reads pending notifications; returns the new ones (lists of lines)."""
        new = []
        while True:
            try:
                data = self.notify.recv(4096)
            except (socket.timeout, BlockingIOError):
                break
            new.append(data.decode(errors="replace").splitlines())
        self.messages.extend(new)
        return new

    def wait_notify(self, line, timeout=10.0, since=0):
        """Waits until a notification containing line (e.g. "READY=1") arrives after index since."""
        deadline = time.monotonic() + timeout
        while True:
            for msg in self.messages[since:]:
                if line in msg:
                    return msg
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"nat64-gatewayd exited with {self.proc.returncode}:\n{self.log_text()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {line} from nat64-gatewayd:\n{self.log_text()}")
            self.poll_notify()

    # -- life cycle --------------------------------------------------------
    def command(self, *extra):
        return [str(daemon_binary()), f"--config={self.config}", f"--nft-template={nft_template()}", *extra]

    def start(self, wait_ready=True, timeout=10.0):
        self._open_notify()
        self.messages = []
        env = self.bus.env()
        env["NOTIFY_SOCKET"] = str(self.notify_path)
        env["NAT64_LOG_LEVEL"] = self.log_level
        if self.watchdog_usec:
            env["WATCHDOG_USEC"] = str(self.watchdog_usec)
        env.pop("WATCHDOG_PID", None)
        log = open(self.log, "ab")
        self.proc = self.topo.popen("gw", *self.command(), env=env,
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        if wait_ready:
            self.wait_notify("READY=1", timeout=timeout)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=10.0):
        """SIGTERM, wait; returns the exit status (None if it was not running)."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
        rc = self.proc.returncode
        self.proc = None
        return rc

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None

    def close(self):
        try:
            self.stop()
        finally:
            if self.notify:
                self.notify.close()
                self.notify = None

    def log_text(self):
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # -- D-Bus -------------------------------------------------------------
    def busctl(self, *args, **kw):
        return self.bus.busctl(*args, **kw)

    def call(self, method, signature="", *args, user=None, check=True):
        return self.bus.busctl("--json=short", "call", "org.nat64.Gateway1", "/org/nat64/Gateway1",
                               "org.nat64.Gateway1", method, *([signature, *args] if signature else []),
                               user=user, check=check)

    def get_property(self, name, user=None, check=True):
        return self.bus.busctl("--json=short", "get-property", "org.nat64.Gateway1", "/org/nat64/Gateway1",
                               "org.nat64.Gateway1", name, user=user, check=check)

    def send(self, method, *args, user=None):
        """Calls a method with dbus-send (args like "string:ff3e::1"); the
        CompletedProcess' stderr names the D-Bus error on failure."""
        return self.bus.dbus_send("org.nat64.Gateway1", "/org/nat64/Gateway1",
                                  f"org.nat64.Gateway1.{method}", *args, user=user)

    def statistics(self):
        r = self.call("GetStatistics")
        return dict(json.loads(r.stdout)["data"][0])

    def state(self):
        return json.loads(self.get_property("State").stdout)["data"]
