# SPDX-License-Identifier: LGPL-2.1-or-later
"""A private D-Bus system bus for tests and the demo.

dbus-daemon runs with a copy of the distribution's system.conf whose
<listen> points at a socket in our own directory and whose includedirs hold
only our policy files (PLATFORM.md: no system bus runs on these machines).
Daemons and busctl find it through DBUS_SYSTEM_BUS_ADDRESS / --address.
The dbus-daemon is started and stopped by its PID, nothing else is killed.
"""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

SYSTEM_CONF = Path("/usr/share/dbus-1/system.conf")


def _private_config(template: str, socket_path: Path, policy_dir: Path) -> str:
    conf = template
    # Keep the system bus' policy semantics, drop what needs the real system.
    for tag in ("user", "pidfile", "servicehelper"):
        conf = re.sub(rf"\s*<{tag}>[^<]*</{tag}>", "", conf)
    for tag in ("fork", "syslog", "standard_system_servicedirs"):
        conf = re.sub(rf"\s*<{tag}\s*/>", "", conf)
    conf = re.sub(r"<listen>[^<]*</listen>", f"<listen>unix:path={socket_path}</listen>", conf)
    # Only our policies: drop the host's includes and includedirs.
    conf = re.sub(r"\s*<include(dir)?\b[^>]*>[^<]*</include(dir)?>", "", conf)
    conf = conf.replace("</busconfig>", f"  <includedir>{policy_dir}</includedir>\n</busconfig>")
    return conf


class PrivateBus:
    def __init__(self, policy_files=(), policy_texts=(), directory=None):
        self._own_dir = directory is None
        self.dir = Path(directory or tempfile.mkdtemp(prefix="nat64-bus-"))
        # busctl run as "nobody" must reach the socket.
        os.chmod(self.dir, 0o755)
        self.socket = self.dir / "system_bus_socket"
        self.policy_dir = self.dir / "system.d"
        self.policy_dir.mkdir(exist_ok=True)
        for f in policy_files:
            shutil.copy(f, self.policy_dir / Path(f).name)
        for i, text in enumerate(policy_texts):
            (self.policy_dir / f"extra-{i}.conf").write_text(text)
        self.config = self.dir / "system.conf"
        self.config.write_text(_private_config(SYSTEM_CONF.read_text(), self.socket, self.policy_dir))
        self.log = self.dir / "dbus-daemon.log"
        self.proc = None

    @property
    def address(self) -> str:
        return f"unix:path={self.socket}"

    def env(self, base=None) -> dict:
        env = dict(os.environ if base is None else base)
        env["DBUS_SYSTEM_BUS_ADDRESS"] = self.address
        return env

    def start(self, timeout=10.0):
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                ["dbus-daemon", f"--config-file={self.config}", "--nofork", "--nopidfile"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not self.socket.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"dbus-daemon exited: {self.log.read_text()}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError("dbus-daemon did not create its socket")
            time.sleep(0.02)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    @staticmethod
    def _as_user(cmd, user):
        if not user:
            return cmd
        group = "nogroup" if user == "nobody" else user
        return ["setpriv", f"--reuid={user}", f"--regid={group}", "--clear-groups", *cmd]

    def busctl(self, *args, user=None, check=True, timeout=30):
        """Runs busctl against this bus; user="nobody" drops to that user."""
        cmd = self._as_user(["busctl", f"--address={self.address}", *args], user)
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=timeout)

    def dbus_send(self, dest, path, method, *args, user=None, timeout=30):
        """dbus-send --print-reply: unlike busctl it names the D-Bus error
        ("Error org.freedesktop.DBus.Error.InvalidArgs: ...") on stderr."""
        cmd = self._as_user(["dbus-send", f"--bus={self.address}", "--print-reply", f"--dest={dest}",
                             path, method, *args], user)
        return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
