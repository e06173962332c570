"""lerobot_robot_node and lerobot_teleop_node in their own processes, each driving a real
LeRobot device class (koch_follower, koch_leader) whose Dynamixel bus talks to a servo
emulator; watched from a probe node and from the emulated servos themselves."""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path

import dynamixel_sdk.port_handler
import numpy as np
import pytest
from builtin_interfaces.msg import Duration
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray, String
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from lerobot_ros.emulators.dynamixel_emulator import DynamixelEmulator
from lerobot_ros.robots.robot_model import parse_urdf
from lerobot_ros.ros import qos, topics

pytestmark = pytest.mark.ros

KOCH_MOTORS = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]
FOLLOWER_MODELS = {1: 1060, 2: 1060, 3: 1200, 4: 1200, 5: 1200, 6: 1200}  # xl430, xl330-m288
LEADER_MODELS = dict.fromkeys(range(1, 7), 1190)  # xl330-m077
RANGES = [(0, 4095), (1024, 3072), (1000, 3000), (1100, 2900), (0, 4095), (1800, 2800)]
MIDS = [(low + high) / 2 for low, high in RANGES]
TICKS_PER_RAD = 4095 / (2 * math.pi)
IDS = range(1, 7)
ROBOT_NODE = "lerobot_ros.nodes.lerobot_robot_node"
TELEOP_NODE = "lerobot_ros.nodes.lerobot_teleop_node"


LATENCY_TIMER_MS = 150  # wider than test/hardware/conftest.py: several nodes start at once


@pytest.fixture(autouse=True)
def patient_serial_timeouts(tmp_path_factory, monkeypatch):
    """The SDK gives a status packet 2 x 16 ms (its USB latency allowance) + 2 ms to arrive.
    A real servo answers in microseconds; the emulator is a Python process, and
    on a loaded 2-core machine (two nodes importing LeRobot at once) it is sometimes
    scheduled later than that. The allowance is widened here and, through a sitecustomize
    module on PYTHONPATH, in the node processes; a servo that never answers still fails."""
    hook = tmp_path_factory.mktemp("sdk_latency")
    (hook / "sitecustomize.py").write_text(
        "import dynamixel_sdk.port_handler\n\n"
        f"dynamixel_sdk.port_handler.LATENCY_TIMER = {LATENCY_TIMER_MS}\n"
    )
    search_path = [str(hook), *filter(None, [os.environ.get("PYTHONPATH")])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(search_path))
    monkeypatch.setattr(dynamixel_sdk.port_handler, "LATENCY_TIMER", LATENCY_TIMER_MS)


def write_config(directory: Path, device_id: str, port: str) -> Path:
    """A LeRobot calibration file for a Koch arm and a config file naming it."""
    directory.mkdir(parents=True, exist_ok=True)
    calibration = {
        motor: {"id": n, "drive_mode": 0, "homing_offset": 0, "range_min": low, "range_max": high}
        for n, (motor, (low, high)) in enumerate(zip(KOCH_MOTORS, RANGES, strict=True), start=1)
    }
    (directory / f"{device_id}.json").write_text(json.dumps(calibration))
    config = directory / f"{device_id}.yaml"
    config.write_text(f"port: {port}\nid: {device_id}\ncalibration_dir: {directory}\n")
    return config


def goals(emulator: DynamixelEmulator) -> np.ndarray:
    return np.array([emulator.servo(n).goal_position for n in IDS])


def torques(emulator: DynamixelEmulator) -> list[bool]:
    return [emulator.servo(n).torque_enabled for n in IDS]


@pytest.fixture
def follower_arm():
    positions = {1: 2100, 2: 1900, 3: 2200, 4: 2000, 5: 1500, 6: 2300}
    with DynamixelEmulator(IDS, models=FOLLOWER_MODELS, positions=positions) as emulator:
        yield emulator


@pytest.fixture
def leader_arm():
    with DynamixelEmulator(IDS, models=LEADER_MODELS) as emulator:
        yield emulator


def robot_parameters(config: Path, **extra) -> dict:
    return {"robot_type": "koch_follower", "robot_config": str(config), **extra}


def test_leader_arm_drives_the_follower_through_ros(
    follower_arm, leader_arm, tmp_path, start_node, probe
):
    follower_config = write_config(tmp_path / "follower", "follower", follower_arm.port)
    leader_config = write_config(tmp_path / "leader", "leader", leader_arm.port)
    states = probe.collect(JointState, topics.JOINT_STATES, qos.STATE)
    commands = probe.collect(Float64MultiArray, topics.POSITION_COMMANDS, qos.COMMAND)
    start_node(ROBOT_NODE, robot_parameters(follower_config))
    assert probe.spin_until(lambda: states, 60), "no joint states"
    assert states[-1].name == KOCH_MOTORS
    present = [follower_arm.servo(n).present_position for n in IDS]
    expected = [(p - m) / TICKS_PER_RAD for p, m in zip(present, MIDS, strict=True)]
    np.testing.assert_allclose(states[-1].position, expected, atol=2 / TICKS_PER_RAD)
    start_node(
        TELEOP_NODE,
        {
            "teleop_type": "koch_leader",
            "teleop_config": str(leader_config),
            "follower_type": "koch_follower",
            "follower_config": str(follower_config),  # the robot node's own config file
        },
    )
    assert probe.spin_until(lambda: commands, 60), "no commands from the teleop node"

    # A person moves the leader (limp; its gripper is a trigger held at its middle).
    moved = {1: 2600, 2: 2300, 3: 1500, 4: 2500, 5: 700}
    for servo_id, ticks in moved.items():
        leader_arm.servo(servo_id).set_present_position(ticks)
    wanted = np.array([moved.get(n, leader_arm.servo(n).present_position) for n in IDS])
    # Same calibration on both arms: the follower's goal is the leader's position in ticks.
    assert probe.spin_until(lambda: np.abs(goals(follower_arm) - wanted).max() <= 1, 30), (
        f"follower goals {goals(follower_arm)}, leader at {wanted}"
    )
    probe.spin_for(0.3)  # the probe's copy of the newest command may still be on its way
    np.testing.assert_allclose(
        commands[-1].data, (wanted - MIDS) / TICKS_PER_RAD, atol=1.01 / TICKS_PER_RAD
    )
    # The emulated follower gets there, and /joint_states says so.
    assert probe.spin_until(
        lambda: (
            np.abs(np.array(states[-1].position) - (wanted - MIDS) / TICKS_PER_RAD).max()
            < 3 / TICKS_PER_RAD
        ),
        30,
    ), states[-1].position
    assert torques(follower_arm) == [True] * 6
    assert torques(leader_arm) == [False] * 5 + [True]


class Lifecycle:
    def __init__(self, probe, node_name: str) -> None:
        self.probe = probe
        self.client = probe.node.create_client(ChangeState, f"/{node_name}/change_state")
        assert self.client.wait_for_service(timeout_sec=60)
        probe.spin_for(0.5)  # let the server see our response reader (see sim_client.py)

    def __call__(self, transition_id: int) -> bool:
        future = self.client.call_async(
            ChangeState.Request(transition=Transition(id=transition_id))
        )
        assert self.probe.spin_until(future.done, 30), "no answer to change_state"
        return future.result().success


def stream(probe, command: list[float], seconds: float) -> None:
    """Publish a position command at 30 Hz, as a commander would."""
    publisher = probe.node.create_publisher(
        Float64MultiArray, topics.POSITION_COMMANDS, qos.COMMAND
    )
    timer = probe.node.create_timer(
        1 / 30, lambda: publisher.publish(Float64MultiArray(data=command))
    )
    probe.spin_for(seconds)
    probe.node.destroy_timer(timer)
    probe.node.destroy_publisher(publisher)


def test_lifecycle_torque_and_commands_only_when_active(follower_arm, tmp_path, start_node, probe):
    config = write_config(tmp_path, "follower", follower_arm.port)
    states = probe.collect(JointState, topics.JOINT_STATES, qos.STATE)
    node = start_node(ROBOT_NODE, robot_parameters(config, autostart=False))
    transition = Lifecycle(probe, "lerobot_robot_node")
    start_goals = goals(follower_arm)
    target = [0.2, -0.3, 0.4, -0.2, 0.5, 0.1]
    target_ticks = np.array(MIDS) + np.array(target) * TICKS_PER_RAD

    assert transition(Transition.TRANSITION_CONFIGURE)
    assert probe.spin_until(lambda: len(states) > 3, 20), "a configured node shows the arm"
    assert torques(follower_arm) == [False] * 6, "limp until activated"
    # A robot without a URDF: a model from its motors and calibration, latched for late
    # joiners (RViz, policy_node): the joints of /joint_states, limits around 0 rad.
    descriptions = probe.collect(String, topics.ROBOT_DESCRIPTION, qos.LATCHED)
    assert probe.spin_until(lambda: bool(descriptions), 10), "no /robot_description"
    model = parse_urdf(descriptions[-1].data, "/robot_description")
    assert model.name == "koch_follower" and model.joint_names == tuple(states[-1].name)
    lower, upper = model.position_limits(model.joint_names)
    assert np.all(lower < 0) and np.all(upper > 0) and np.all(np.isfinite([lower, upper]))
    stream(probe, target, 1.0)
    np.testing.assert_array_equal(goals(follower_arm), start_goals)  # an inactive node ignores

    assert transition(Transition.TRANSITION_ACTIVATE)
    assert torques(follower_arm) == [True] * 6
    np.testing.assert_allclose(goals(follower_arm), start_goals, atol=1)  # no jump on torque on
    stream(probe, target, 1.0)
    assert probe.spin_until(lambda: np.abs(goals(follower_arm) - target_ticks).max() <= 1, 10)

    # Stale commands: nothing more is sent, the motors hold the last goal (no hold at measured).
    probe.spin_for(1.0)
    assert np.abs(goals(follower_arm) - target_ticks).max() <= 1

    assert transition(Transition.TRANSITION_DEACTIVATE)
    stream(probe, [0.0] * 6, 1.0)
    assert np.abs(goals(follower_arm) - target_ticks).max() <= 1, "inactive, yet it moved"
    assert torques(follower_arm) == [True] * 6, "deactivated: the motors hold their goal"

    assert transition(Transition.TRANSITION_CLEANUP)  # disconnects: LeRobot disables torque
    assert torques(follower_arm) == [False] * 6
    assert node.running


def test_max_relative_target_bounds_each_step_and_trajectories_are_followed(
    follower_arm, tmp_path, start_node, probe
):
    config = write_config(tmp_path, "follower", follower_arm.port)
    states = probe.collect(JointState, topics.JOINT_STATES, qos.STATE)
    start_node(ROBOT_NODE, robot_parameters(config, max_relative_target=0.05))
    assert probe.spin_until(lambda: len(states) > 3 and torques(follower_arm)[0], 60)
    start = goals(follower_arm)
    measured = np.array(states[-1].position)
    target = measured + np.array([0.5, 0, 0, 0, 0, 0])  # 0.5 rad away on shoulder_pan
    publisher = probe.node.create_publisher(
        Float64MultiArray, topics.POSITION_COMMANDS, qos.COMMAND
    )
    timer = probe.node.create_timer(
        1 / 30, lambda: publisher.publish(Float64MultiArray(data=target.tolist()))
    )
    assert probe.spin_until(lambda: goals(follower_arm)[0] != start[0], 30)
    first_step = abs(goals(follower_arm)[0] - start[0]) / TICKS_PER_RAD
    assert first_step <= 0.05 + 2 / TICKS_PER_RAD, f"first step {first_step:.3f} rad"
    target_tick = MIDS[0] + target[0] * TICKS_PER_RAD
    assert probe.spin_until(lambda: abs(goals(follower_arm)[0] - target_tick) <= 1, 20)
    probe.node.destroy_timer(timer)

    # A trajectory on the contract's other command topic: interpolated, ends at its last point.
    trajectory = JointTrajectory(joint_names=["elbow_flex", "wrist_flex"])
    trajectory.points = [
        JointTrajectoryPoint(
            positions=[-0.02, 0.02], time_from_start=Duration(sec=0, nanosec=300_000_000)
        ),
        JointTrajectoryPoint(
            positions=[-0.04, 0.04], time_from_start=Duration(sec=0, nanosec=600_000_000)
        ),
    ]
    trajectory_pub = probe.node.create_publisher(
        JointTrajectory, topics.JOINT_TRAJECTORY, qos.COMMAND
    )
    probe.spin_for(0.5)  # let the node match the new publisher
    trajectory_pub.publish(trajectory)
    wanted = [MIDS[2] - 0.04 * TICKS_PER_RAD, MIDS[3] + 0.04 * TICKS_PER_RAD]
    assert probe.spin_until(lambda: np.abs(goals(follower_arm)[2:4] - wanted).max() <= 1, 10)
    assert abs(goals(follower_arm)[0] - target_tick) <= 1  # joints it does not name stay


def test_a_silent_servo_pauses_the_state_and_the_node_recovers(
    follower_arm, tmp_path, start_node, probe
):
    config = write_config(tmp_path, "follower", follower_arm.port)
    states = probe.collect(JointState, topics.JOINT_STATES, qos.STATE)
    node = start_node(ROBOT_NODE, robot_parameters(config))
    assert probe.spin_until(lambda: len(states) > 3, 60)
    states.clear()
    probe.spin_for(2.0)
    assert 30 <= len(states) <= 90, f"{len(states) / 2:.1f} Hz of joint states, fps is 30"
    follower_arm.silence(4)  # a cut cable: every sync read fails
    probe.spin_for(1.5)
    states.clear()
    probe.spin_for(1.0)
    assert not states, "state published without a reading"
    follower_arm.unsilence(4)
    assert probe.spin_until(lambda: len(states) > 3, 20), "no recovery after the fault"
    assert node.running
    assert "reading koch_follower failed" in node.log_text()


@pytest.mark.parametrize(
    ("module", "parameters", "expected"),
    [
        (
            ROBOT_NODE,
            {"robot_type": "kotch_follower", "robot_config": "{port: /dev/null}"},
            ["unknown LeRobot robot type 'kotch_follower'", "koch_follower", "so101_follower"],
        ),
        (
            ROBOT_NODE,
            {"robot_type": "koch_follower", "robot_config": "{port: /dev/null, speed: 3}"},
            ["bad robot config for koch_follower", "speed"],
        ),
        (
            TELEOP_NODE,
            {"teleop_type": "koch_leeder", "teleop_config": "{port: /dev/null}"},
            ["unknown LeRobot teleoperator type 'koch_leeder'", "koch_leader", "so101_leader"],
        ),
    ],
    ids=["unknown robot type", "bad robot config field", "unknown teleoperator type"],
)
def test_bad_parameters_exit_with_code_2_and_the_reason(module, parameters, expected, start_node):
    node = start_node(module, parameters)
    try:
        code = node.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("the node kept running with bad parameters")
    assert code == 2
    log = node.log_text()
    for text in expected:
        assert text in log, log


def test_missing_calibration_exits_with_the_command_to_run(follower_arm, tmp_path, start_node):
    config = tmp_path / "follower.yaml"
    config.write_text(f"port: {follower_arm.port}\nid: nobody\ncalibration_dir: {tmp_path}\n")
    node = start_node(ROBOT_NODE, robot_parameters(config))
    assert node.process.wait(timeout=60) == 2
    log = node.log_text()
    assert "not calibrated" in log and "lerobot-calibrate --robot.type=koch_follower" in log, log
    assert torques(follower_arm) == [False] * 6  # left as it was found
