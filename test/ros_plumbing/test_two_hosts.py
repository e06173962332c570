"""The policy on another host: sim_node in one network namespace, policy_node in another,
joined only by a veth pair the test creates (TwoHosts), each pinned to its end by the shipped
multi-host profile. The lockstep loop (observation -> action -> step) runs across the pair,
the cameras' images reach the other host, the bytes went over the veth pair (no shared
memory), nothing in either namespace leads to this machine's network, and the namespaces are
gone afterwards. Skipped, with the reason, where ``ip netns`` cannot run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lerobot_ros.emulators.two_hosts import SUBNET, TwoHosts
from lerobot_ros.orchestration.processes import NodeProcess
from lerobot_ros.ros.network import DDS_ADDRESS_VARIABLE
from lerobot_ros.sim.robot import CAMERA_NAMES

pytestmark = pytest.mark.ros

UNAVAILABLE = TwoHosts.unavailable()
PROBE = Path(__file__).with_name("multihost_probe.py")
SECONDS = 10.0


@pytest.mark.skipif(UNAVAILABLE is not None, reason=str(UNAVAILABLE))
def test_the_policy_on_another_host_drives_the_sim_over_the_veth_pair(tmp_path):
    hosts = TwoHosts()
    with hosts:
        for host in (0, 1):  # only the pair's subnet: no way out
            assert hosts.routes(host) == [f"{SUBNET}.0/24"]
        sim = NodeProcess(
            "lerobot_ros.nodes.sim_node",
            {"lockstep": True, "cameras": list(CAMERA_NAMES), "max_episode_steps": 100000},
            env=hosts.environment(0),
            wrapper=hosts.wrapper(0),
            log_path=tmp_path / "sim_node.log",
        )
        policy = NodeProcess(
            "lerobot_ros.nodes.policy_node",
            {"lockstep": True, "use_sim_time": True},
            env=hosts.environment(1),
            wrapper=hosts.wrapper(1),
            log_path=tmp_path / "policy_node.log",
        )
        with sim, policy:
            received_before, _ = hosts.link_bytes(1)
            probe = subprocess.run(
                [*hosts.wrapper(1), sys.executable, str(PROBE), "--seconds", str(SECONDS)],
                env=hosts.environment(1),
                capture_output=True,
                text=True,
                timeout=300,
            )
            received_after, _ = hosts.link_bytes(1)
        logs = f"\n{probe.stderr[-3000:]}\nsim: {sim.log_text()[-2000:]}\npolicy: {policy.log_text()[-2000:]}"
        assert probe.returncode == 0, logs
        result = json.loads(probe.stdout.splitlines()[-1])
        # 10 s of lockstep: each step went sim -> policy -> sim across the pair.
        assert result["steps"] >= 50, (result, logs)
        for camera in CAMERA_NAMES:  # rendered on host 0, received on host 1
            assert result["images_per_s"][camera] >= 5, (result, logs)
        # The images came over the veth pair, not through shared memory.
        image_bytes = result["image_megabytes_per_s"] * 1e6 * SECONDS
        assert received_after - received_before >= image_bytes, (result, logs)
    assert not hosts.exists()


@pytest.mark.skipif(UNAVAILABLE is not None, reason=str(UNAVAILABLE))
def test_a_node_refuses_the_multihost_profile_without_its_address():
    # In a namespace of its own: were the refusal broken, DDS could not leave it.
    hosts = TwoHosts()
    with hosts:
        environ = hosts.environment(0)
        del environ[DDS_ADDRESS_VARIABLE]
        node = subprocess.run(
            [*hosts.wrapper(0), sys.executable, "-m", "lerobot_ros.nodes.scripted_teleop_node"],
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert node.returncode == 2, node.stderr
    assert "scripted_teleop_node: FASTDDS_DEFAULT_PROFILES_FILE=" in node.stderr
    assert f"{DDS_ADDRESS_VARIABLE} is not set" in node.stderr
    assert "Traceback" not in node.stderr
