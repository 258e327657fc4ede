# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs nat64-gatewayd from a build directory inside a Topology's gw namespace.

Readiness comes the way systemd sees it: a NOTIFY_SOCKET of ours receives
READY=1, STATUS=, RELOADING=1, WATCHDOG=1. stderr goes to a log file.
"""

import json
import shutil
import os
import signal
import socket
import subprocess
import sys
import threading
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
        self._messages = []     # every notification received, in order
        self._received, self._polled, self._lock = [], 0, threading.Lock()

    # -- notifications ----------------------------------------------------
    # A thread reads the socket all the time, as PID 1 does: the kernel queues
    # only a few datagrams per socket, and a daemon whose notifications nobody
    # reads blocks in sd_notify().
    def _open_notify(self):
        self._close_notify()
        if self.notify_path.exists():
            self.notify_path.unlink()
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(str(self.notify_path))
        self.notify.settimeout(0.1)
        self._received, self._polled = [], 0
        self._reader_stop = threading.Event()
        self._reader = threading.Thread(target=self._read_notify, daemon=True)
        self._reader.start()

    def _read_notify(self):
        sock = self.notify
        while not self._reader_stop.is_set():
            try:
                data = sock.recv(4096)
            except (socket.timeout, BlockingIOError):
                continue
            except OSError:
                break
            with self._lock:
                self._received.append(data.decode(errors="replace").splitlines())

    def _close_notify(self):
        if self.notify:
            self._reader_stop.set()
            self._reader.join()
            self.notify.close()
            self.notify = None

    def poll_notify(self):
        """Returns the notifications received since the last call (lists of lines)."""
        with self._lock:
            new = self._received[self._polled:]
            self._polled = len(self._received)
        self._messages.extend(new)
        return new

    @property
    def messages(self):
        """Every notification received so far, in order."""
        self.poll_notify()
        return self._messages

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
            time.sleep(0.01)

    # -- life cycle --------------------------------------------------------
    def command(self, *extra):
        return [str(daemon_binary()), f"--config={self.config}", f"--nft-template={nft_template()}", *extra]

    def start(self, wait_ready=True, timeout=10.0):
        self._open_notify()
        self._messages = []
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
                self.dump_stacks()
                self.proc.kill()
                self.proc.wait()
                raise
        rc = self.proc.returncode
        self.proc = None
        return rc

    def dump_stacks(self):
        """Where a hung daemon waits: kernel stack and, with gdb, user stack (to stderr)."""
        pid = self.proc.pid
        try:
            sys.stderr.write(f"--- /proc/{pid}/stack ---\n" + open(f"/proc/{pid}/stack").read())
        except OSError:
            pass
        if shutil.which("gdb"):
            r = subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "bt"], capture_output=True, text=True,
                               timeout=30, check=False)
            sys.stderr.write(f"--- gdb bt ---\n{r.stdout}")

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None

    def close(self):
        try:
            self.stop()
        finally:
            self._close_notify()

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

    def status_field(self, label):
        """The values on nat64ctl status's "<label>:" line, as an operator reads them."""
        r = subprocess.run([str(build_dir() / "ctl" / "nat64ctl"), "--no-pager", "status"], env=self.bus.env(),
                           capture_output=True, text=True, check=True)
        return [line.split(": ", 1)[1] for line in r.stdout.splitlines() if line.strip().startswith(label + ":")]

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
