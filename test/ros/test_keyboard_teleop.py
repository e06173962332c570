"""keyboard_teleop_node driven through a real pseudo-terminal moves the sim's hand."""

from __future__ import annotations

import os

import numpy as np
import pytest
from sensor_msgs.msg import JointState

from lerobot_ros.features import adapters
from lerobot_ros.nodes.keyboard_teleop_node import JOINTS
from lerobot_ros.orchestration.processes import NodeProcess
from lerobot_ros.ros import qos, topics
from lerobot_ros.sim.panda_kinematics import PandaKinematics

pytestmark = pytest.mark.ros


@pytest.fixture
def terminal():
    leader, follower = os.openpty()
    yield leader, follower
    os.close(leader)
    os.close(follower)


def test_keys_jog_the_hand_forward_and_up(start_node, probe, terminal, tmp_path):
    leader, follower = terminal
    start_node("lerobot_ros.nodes.sim_node", {"cameras": []})
    teleop = NodeProcess(
        "lerobot_ros.nodes.keyboard_teleop_node",
        {"step": 0.02},
        log_path=tmp_path / "teleop.log",
        stdin=follower,
    ).start()
    try:
        states = probe.collect(JointState, topics.JOINT_STATES, qos.STATE)
        assert probe.spin_until(lambda: len(states) > 10, 30)
        probe.spin_for(2.0)  # the teleop node takes the measured pose as its start
        kinematics = PandaKinematics()

        def hand() -> np.ndarray:
            joints = adapters.state_vector(states[-1], JOINTS)
            return kinematics.tcp_pose(joints[:7])[0]

        start = hand()
        os.write(leader, b"wwwww" + b"rrr")  # 10 cm forward, 6 cm up
        probe.spin_until(lambda: hand()[0] > start[0] + 0.09, 20)
        probe.spin_for(1.0)
        moved = hand() - start
        assert moved[0] == pytest.approx(0.10, abs=0.015), moved
        assert moved[2] == pytest.approx(0.06, abs=0.015), moved
        assert abs(moved[1]) < 0.015
        assert teleop.running
    finally:
        teleop.stop()
    assert "keyboard jog" in teleop.log_text()


def test_without_a_terminal_it_refuses_to_start(tmp_path):
    teleop = NodeProcess(
        "lerobot_ros.nodes.keyboard_teleop_node",
        log_path=tmp_path / "teleop.log",
        stdin=open(os.devnull),  # noqa: SIM115 - closed with the process
    ).start()
    teleop.process.wait(60)
    assert teleop.process.returncode == 2
    assert "needs a terminal" in teleop.log_text()
