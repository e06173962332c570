"""Security defaults: DDS listens on loopback only, and nothing received is unpickled or run."""

from __future__ import annotations

import ast
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import lerobot_ros
from lerobot_ros.orchestration.processes import NodeProcess, ros_arguments
from lerobot_ros.ros.network import NETWORK_MODE_VARIABLE, user_network_variables

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


# A user's own loopback-only Fast DDS profile, recognisable by its fixed discovery port.
USER_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<dds xmlns="http://www.eprosima.com">
  <profiles>
    <transport_descriptors>
      <transport_descriptor>
        <transport_id>user_loopback</transport_id>
        <type>UDPv4</type>
        <interfaceWhiteList><address>127.0.0.1</address></interfaceWhiteList>
      </transport_descriptor>
    </transport_descriptors>
    <participant profile_name="user_profile" is_default_profile="true">
      <rtps>
        <builtin>
          <metatrafficUnicastLocatorList>
            <locator><udpv4><address>127.0.0.1</address><port>{port}</port></udpv4></locator>
          </metatrafficUnicastLocatorList>
        </builtin>
        <userTransports><transport_id>user_loopback</transport_id></userTransports>
        <useBuiltinTransports>false</useBuiltinTransports>
      </rtps>
    </participant>
  </profiles>
</dds>
"""
# The node of the "nothing set" test runs in a network namespace of its own holding only
# loopback, so even a regression that forgot the defaults could not send past this host.
OWN_LOOPBACK_NAMESPACE = ("unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$@"', "sh")


def _without_network_settings(environ) -> dict[str, str]:
    drop = {*user_network_variables(environ), NETWORK_MODE_VARIABLE}
    return {name: value for name, value in environ.items() if name not in drop}


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _sockets_once(pid: int, ready: Callable[[list], bool], timeout: float = 30.0) -> list:
    """The process's sockets as soon as ``ready`` holds (or at the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        sockets = _udp_sockets(pid)
        if ready(sockets) or time.monotonic() > deadline:
            return sockets
        time.sleep(0.5)


def _domain_ports(sockets: list) -> list:
    base = 7400 + PORTS_PER_DOMAIN * int(os.environ["ROS_DOMAIN_ID"])
    return [(a, p) for a, p in sockets if base <= p < base + PORTS_PER_DOMAIN]


@pytest.mark.ros
def test_a_users_own_dds_profile_reaches_the_node_untouched(tmp_path):
    port = _free_udp_port()
    profile = tmp_path / "user_loopback.xml"
    profile.write_text(USER_PROFILE.format(port=port))
    env = _without_network_settings(os.environ)
    env.update(
        RMW_IMPLEMENTATION="rmw_fastrtps_cpp",
        ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
        FASTDDS_DEFAULT_PROFILES_FILE=str(profile),
        FASTRTPS_DEFAULT_PROFILES_FILE=str(profile),
    )
    node = NodeProcess(
        "lerobot_ros.nodes.sim_node", {"cameras": []}, env=env, log_path=tmp_path / "sim.log"
    ).start()
    try:
        sockets = _sockets_once(node.process.pid, lambda s: ("127.0.0.1", port) in s)
        assert node.running, node.log_text()
    finally:
        node.stop()
    # The discovery port only the user's profile names: that profile, not ours, is in use.
    assert ("127.0.0.1", port) in sockets, (port, sockets, node.log_text())
    assert (
        "DDS settings from your environment: FASTDDS_DEFAULT_PROFILES_FILE, "
        "FASTRTPS_DEFAULT_PROFILES_FILE, RMW_IMPLEMENTATION, ROS_AUTOMATIC_DISCOVERY_RANGE"
    ) in node.log_text()


@pytest.mark.ros
def test_with_nothing_set_a_node_confines_itself_to_localhost(tmp_path):
    env = _without_network_settings(os.environ)
    log_path = tmp_path / "sim.log"
    command = [
        *OWN_LOOPBACK_NAMESPACE,
        sys.executable,
        "-m",
        "lerobot_ros.nodes.sim_node",
        *ros_arguments({"cameras": []}),
    ]
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        sockets = _sockets_once(process.pid, lambda s: bool(_domain_ports(s)))
        assert process.poll() is None, log_path.read_text()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    dds = _domain_ports(sockets)
    assert dds, f"no DDS port of domain {os.environ['ROS_DOMAIN_ID']} among {sockets}"
    assert {address for address, _ in dds} == {"127.0.0.1"}, dds
    assert "DDS localhost only (lerobot_ros defaults" in log_path.read_text()


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
