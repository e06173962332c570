"""The SO-101 through ROS: lerobot_robot_node and lerobot_teleop_node in their own processes,
each driving LeRobot's own so101_follower / so101_leader, whose Feetech bus talks to an
emulated chain of STS3215 servos; watched from a probe node and from the servos."""

from __future__ import annotations

import json
import math
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray, String
from test_lerobot_nodes import IDS, goals, torques  # servo ids 1-6 on any emulated bus

from lerobot_ros.emulators.feetech_emulator import FeetechEmulator
from lerobot_ros.robots.robot_model import parse_urdf
from lerobot_ros.ros import qos, topics

pytestmark = pytest.mark.ros

SO101_MOTORS = [
    "shoulder_pan",
    "shoulder_lift",
    "elbow_flex",
    "wrist_flex",
    "wrist_roll",
    "gripper",
]
# Calibrated ranges as lerobot-calibrate records them (steps), each around its own middle.
RANGES = [(800, 3300), (900, 3200), (850, 3150), (900, 3100), (100, 4000), (2000, 3400)]
MIDS = np.array([(low + high) / 2 for low, high in RANGES])
STEPS_PER_RAD = 4095 / (2 * math.pi)
ROBOT_NODE = "lerobot_ros.nodes.lerobot_robot_node"
TELEOP_NODE = "lerobot_ros.nodes.lerobot_teleop_node"


def write_calibration(directory: Path, device_id: str, port: str) -> Path:
    """A calibration file as lerobot-calibrate writes it, and a device config naming it."""
    directory.mkdir(parents=True, exist_ok=True)
    calibration = {
        motor: {"id": n, "drive_mode": 0, "homing_offset": 0, "range_min": low, "range_max": high}
        for n, (motor, (low, high)) in enumerate(zip(SO101_MOTORS, RANGES, strict=True), start=1)
    }
    (directory / f"{device_id}.json").write_text(json.dumps(calibration, indent=4))
    config = directory / f"{device_id}.yaml"
    config.write_text(f"port: {port}\nid: {device_id}\ncalibration_dir: {directory}\n")
    return config


def radians(steps: np.ndarray) -> np.ndarray:
    return (np.asarray(steps, dtype=float) - MIDS) / STEPS_PER_RAD


@pytest.fixture
def so101_follower():
    with FeetechEmulator(IDS, positions={1: 2100, 2: 1900, 3: 2200, 4: 2000, 5: 1500}) as arm:
        yield arm


@pytest.fixture
def so101_leader():
    with FeetechEmulator(IDS) as arm:
        yield arm


def start_follower(start_node, config: Path, **parameters):
    return start_node(
        ROBOT_NODE, {"robot_type": "so101_follower", "robot_config": str(config), **parameters}
    )


@pytest.mark.arms
def test_so101_leader_drives_the_follower_through_ros(
    so101_follower, so101_leader, tmp_path, start_node, probe
):
    follower_config = write_calibration(tmp_path / "follower", "follower", so101_follower.port)
    leader_config = write_calibration(tmp_path / "leader", "leader", so101_leader.port)
    states = probe.collect(JointState, topics.JOINT_STATES, qos.STATE)
    commands = probe.collect(Float64MultiArray, topics.POSITION_COMMANDS, qos.COMMAND)
    descriptions = probe.collect(String, topics.ROBOT_DESCRIPTION, qos.LATCHED)
    follower = start_follower(start_node, follower_config)
    assert probe.spin_until(lambda: states, 60), "no joint states"
    assert states[-1].name == SO101_MOTORS
    present = [so101_follower.servo(n).present_position for n in IDS]
    np.testing.assert_allclose(states[-1].position, radians(present), atol=2 / STEPS_PER_RAD)

    # RViz and policy_node read the arm from /robot_description: its joints, calibrated limits.
    assert probe.spin_until(lambda: bool(descriptions), 10), "no /robot_description"
    model = parse_urdf(descriptions[-1].data, "/robot_description")
    assert model.name == "so101_follower" and model.joint_names == tuple(SO101_MOTORS)
    lower, upper = model.position_limits(model.joint_names)
    np.testing.assert_allclose(upper - lower, np.ptp(RANGES, axis=1) / STEPS_PER_RAD, rtol=1e-3)

    start_node(
        TELEOP_NODE,
        {
            "teleop_type": "so101_leader",
            "teleop_config": str(leader_config),
            "follower_type": "so101_follower",
            "follower_config": str(follower_config),
        },
    )
    assert probe.spin_until(lambda: commands, 60), "no commands from the teleop node"
    assert torques(so101_leader) == [False] * 6, "a leader arm is limp"
    assert torques(so101_follower) == [True] * 6

    # A person moves the leader; the follower's goals follow within a tick or two.
    moved = {1: 2600, 2: 2300, 3: 1500, 4: 2500, 5: 700, 6: 3000}
    for servo_id, steps in moved.items():
        so101_leader.servo(servo_id).set_present_position(steps)
    wanted = np.array([moved[n] for n in IDS])
    assert probe.spin_until(lambda: np.abs(goals(so101_follower) - wanted).max() <= 1, 30), (
        f"follower goals {goals(so101_follower)}, leader at {wanted}"
    )
    probe.spin_for(0.3)  # the probe's copy of the newest command may still be on its way
    np.testing.assert_allclose(commands[-1].data, radians(wanted), atol=1.01 / STEPS_PER_RAD)
    assert probe.spin_until(
        lambda: np.abs(np.array(states[-1].position) - radians(wanted)).max() < 3 / STEPS_PER_RAD,
        30,
    ), states[-1].position

    # How soon: both nodes tick at 30 Hz, so a leader move reaches the follower's goal within
    # a tick or two plus the message's way (measured here; the assert only catches a stall).
    delays = []
    for step in range(8):
        target = 2000 + 40 * step
        moved_at = time.monotonic()
        so101_leader.servo(1).set_present_position(target)
        assert probe.spin_until(lambda: abs(goals(so101_follower)[0] - target) <= 1, 10)  # noqa: B023
        delays.append(time.monotonic() - moved_at)
    print(
        f"leader -> follower goal: median {np.median(delays) * 1e3:.0f} ms, {np.round(delays, 3)}"
    )
    assert np.median(delays) < 0.5, delays

    # Shutdown: LeRobot's disconnect leaves the follower limp (disable_torque_on_disconnect).
    assert follower.stop() == 0
    assert torques(so101_follower) == [False] * 6


def test_so101_silent_servo_or_vanished_port_holds_the_arm_and_names_the_fault(
    so101_follower, tmp_path, start_node, probe
):
    config = write_calibration(tmp_path, "follower", so101_follower.port)
    states = probe.collect(JointState, topics.JOINT_STATES, qos.STATE)
    node = start_follower(start_node, config)
    assert probe.spin_until(lambda: len(states) > 3 and all(torques(so101_follower)), 60)
    held = goals(so101_follower)

    so101_follower.silence(4)  # a cut cable: every sync read fails
    probe.spin_for(1.5)
    states.clear()
    probe.spin_for(1.0)
    assert not states, "state published without a reading"
    np.testing.assert_array_equal(goals(so101_follower), held)  # the arm holds
    so101_follower.unsilence(4)
    assert probe.spin_until(lambda: len(states) > 3, 20), "no recovery after the fault"
    assert "reading so101_follower failed" in node.log_text()

    failures = node.log_text().count("reading so101_follower failed")
    so101_follower.vanish()  # the USB adapter is unplugged
    assert probe.spin_until(
        lambda: node.log_text().count("reading so101_follower failed") > failures, 10
    ), "the lost port was not reported"
    probe.spin_for(1.0)
    assert node.running, "the node died with its port"
    np.testing.assert_array_equal(goals(so101_follower), held)
    assert torques(so101_follower) == [True] * 6, "the servos keep holding their goal"


@pytest.mark.parametrize("fault", ["missing", "unreadable"])
def test_so101_calibration_missing_or_bad_exits_2_naming_lerobot_calibrate(
    fault, so101_follower, tmp_path, start_node
):
    config = write_calibration(tmp_path, "follower", so101_follower.port)
    calibration = tmp_path / "follower.json"
    if fault == "missing":
        calibration.unlink()
    else:
        calibration.write_text('{"shoulder_pan": {"id": 1, "range_min": ')  # cut short
    node = start_follower(start_node, config)
    try:
        code = node.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the node kept running with a {fault} calibration")
    log = node.log_text()
    assert code == 2, log[-2000:]
    assert "lerobot-calibrate --robot.type=so101_follower" in log, log[-2000:]
    assert str(calibration) in log, log[-2000:]
    assert torques(so101_follower) == [False] * 6, "no motion: torque was never enabled"
