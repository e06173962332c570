"""Security defaults: DDS listens on loopback only, and nothing received is unpickled or run."""

from __future__ import annotations

import ast
import os
import time
from pathlib import Path

import pytest

import lerobot_ros
from lerobot_ros.launching.processes import NodeProcess

PACKAGE = Path(lerobot_ros.__file__).parent
# The RTPS well-known ports of a domain (discovery and user traffic, multicast and unicast,
# for up to 120 participants): 7400 + 250 * domain + [0, 250).
PORTS_PER_DOMAIN = 250


def _udp_sockets(pid: int) -> list[tuple[str, int]]:
    """(local address, port) of every UDP/UDP6 socket the process holds."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    sockets = []
    for table in ("udp", "udp6", "tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                address, port = fields[1].split(":")
                if len(address) == 8:  # IPv4, little-endian hex
                    address = ".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0))
                sockets.append((address, int(port, 16)))
    return sockets


@pytest.mark.ros
def test_dds_ports_of_a_node_are_bound_to_loopback_only(tmp_path):
    node = NodeProcess(
        "lerobot_ros.nodes.sim_node", {"cameras": []}, log_path=tmp_path / "sim.log"
    ).start()
    try:
        time.sleep(8)  # participant, discovery and the node's endpoints are up
        assert node.running, node.log_text()
        sockets = _udp_sockets(node.process.pid)
    finally:
        node.stop()
    base = 7400 + PORTS_PER_DOMAIN * int(os.environ["ROS_DOMAIN_ID"])
    dds = [(a, p) for a, p in sockets if base <= p < base + PORTS_PER_DOMAIN]
    assert dds, f"no DDS port of domain {os.environ['ROS_DOMAIN_ID']} among {sockets}"
    assert {address for address, _ in dds} == {"127.0.0.1"}, dds
    # Fast DDS also keeps send-only sockets on ephemeral ports (one per interface); they
    # never receive on a DDS locator. TCP: none at all.
    assert all(p >= 32768 for a, p in sockets if a != "127.0.0.1"), sockets


UNSAFE_CALLS = {
    ("pickle", "load"),
    ("pickle", "loads"),
    ("marshal", "loads"),
    ("yaml", "load"),
    ("yaml", "unsafe_load"),
}


def test_no_unpickling_eval_or_unsafe_yaml_in_the_package():
    """Data from topics, bags, datasets and config files is parsed, never executed."""
    findings = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", "") or ""]
                if any(n.split(".")[0] in ("pickle", "marshal", "shelve", "dill") for n in names):
                    findings.append(f"{path}:{node.lineno} imports {names}")
            if not isinstance(node, ast.Call):
                continue
            function = node.func
            if isinstance(function, ast.Name) and function.id in ("eval", "exec"):
                findings.append(f"{path}:{node.lineno} calls {function.id}()")
            if isinstance(function, ast.Attribute) and isinstance(function.value, ast.Name):
                if (function.value.id, function.attr) in UNSAFE_CALLS:
                    findings.append(
                        f"{path}:{node.lineno} calls {function.value.id}.{function.attr}"
                    )
                if (function.value.id, function.attr) == ("torch", "load"):
                    safe = any(
                        k.arg == "weights_only" and getattr(k.value, "value", None) is True
                        for k in node.keywords
                    )
                    if not safe:
                        findings.append(f"{path}:{node.lineno} torch.load without weights_only")
    assert not findings, findings
