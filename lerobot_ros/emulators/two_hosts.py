"""Two hosts on one machine, for multi-host tests and benchmarks.

Two network namespaces joined by a veth pair: each namespace holds its loopback and one end
of the pair with its own address, and nothing else, so DDS traffic between them crosses the
veth pair and cannot reach this machine's interfaces. Nodes run in a namespace through
``ip netns exec`` (root and iproute2 needed: ``TwoHosts.unavailable()`` says why not) with
the multi-host profile pinned to their host's address (``ros.network.multihost_environment``).
Leaving the ``with`` block ends what still runs in the namespaces and removes them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

from lerobot_ros.ros.network import multihost_environment

# A /24 that exists only on the veth pair (no route leads from it to the machine's network).
SUBNET = "10.213.7"
NETNS_ETC = Path("/etc/netns")


def _ip(*arguments: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *arguments], capture_output=True, text=True, check=check)


class TwoHosts:
    """Namespaces ``names[0]`` and ``names[1]``, at ``addresses[0]`` and ``addresses[1]``."""

    def __init__(self, tag: str | None = None) -> None:
        tag = tag or str(os.getpid())
        # Interface names are at most 15 characters.
        self.names = (f"lerobot_a{tag}", f"lerobot_b{tag}")
        self.links = (f"lrva{tag}"[:15], f"lrvb{tag}"[:15])
        self.addresses = (f"{SUBNET}.1", f"{SUBNET}.2")

    @staticmethod
    def unavailable() -> str | None:
        """Why namespaces cannot be made here, or None."""
        if shutil.which("ip") is None:
            return "iproute2's ip is not installed"
        if os.geteuid() != 0:
            return "network namespaces need root"
        probe = f"lerobot_probe{os.getpid()}"
        made = _ip("netns", "add", probe, check=False)
        if made.returncode:
            return f"ip netns add fails: {made.stderr.strip()}"
        _ip("netns", "delete", probe, check=False)
        return None

    def __enter__(self) -> TwoHosts:
        try:
            for name in self.names:
                _ip("netns", "add", name)
                _ip("-n", name, "link", "set", "lo", "up")
                # Fast DDS tells machines apart by /etc/machine-id: namespaces sharing it look
                # like one machine, reached over loopback, which the profile's pin excludes.
                # ip netns exec mounts /etc/netns/<name>/* over /etc: one id per "host".
                etc = NETNS_ETC / name
                etc.mkdir(parents=True, exist_ok=True)
                (etc / "machine-id").write_text(uuid.uuid4().hex + "\n")
            _ip("link", "add", self.links[0], "type", "veth", "peer", "name", self.links[1])
            for name, link, address in zip(self.names, self.links, self.addresses, strict=True):
                _ip("link", "set", link, "netns", name)
                _ip("-n", name, "addr", "add", f"{address}/24", "dev", link)
                _ip("-n", name, "link", "set", link, "up")
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()

    def remove(self) -> None:
        """End every process left in the namespaces, then delete them (the veth pair goes
        with them)."""
        for name in self.names:
            pids = _ip("netns", "pids", name, check=False).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + 5.0
            while _ip("netns", "pids", name, check=False).stdout.split():
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            _ip("netns", "delete", name, check=False)
            shutil.rmtree(NETNS_ETC / name, ignore_errors=True)
        # A pair whose ends never left this namespace (a set-up cut short) has no address.
        _ip("link", "delete", self.links[0], check=False)
        with contextlib.suppress(OSError):
            NETNS_ETC.rmdir()  # only when empty: others' namespaces may keep files there

    def wrapper(self, host: int) -> tuple[str, ...]:
        """The command prefix that runs a program on ``host`` (0 or 1)."""
        return ("ip", "netns", "exec", self.names[host])

    def environment(self, host: int, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """``base`` (default: this process's) with the multi-host settings of ``host``."""
        environ = dict(os.environ if base is None else base)
        environ.update(multihost_environment(self.addresses[host]))
        return environ

    def link_bytes(self, host: int) -> tuple[int, int]:
        """Bytes received and sent so far by ``host``'s end of the veth pair."""
        shown = _ip("-n", self.names[host], "-s", "-j", "link", "show", "dev", self.links[host])
        stats = json.loads(shown.stdout)[0]["stats64"]
        return stats["rx"]["bytes"], stats["tx"]["bytes"]

    def routes(self, host: int) -> list[str]:
        """``host``'s routing table, one destination per entry."""
        shown = _ip("-n", self.names[host], "-j", "route", "show")
        return [route["dst"] for route in json.loads(shown.stdout)]

    def exists(self) -> bool:
        listed = _ip("netns", "list", check=False).stdout.split()
        return any(name in listed for name in self.names)
