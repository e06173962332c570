"""The LeRobot bridge: building devices by type, the feature mapping maths, and a real
LeRobot ``koch_follower`` / ``koch_leader`` (Dynamixel bus) on the servo emulator."""

from __future__ import annotations

import json
import math
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from lerobot.motors import Motor, MotorCalibration, MotorNormMode
from lerobot.motors.dynamixel import DynamixelMotorsBus

from lerobot_ros.emulators.dynamixel_emulator import DynamixelEmulator
from lerobot_ros.hardware import lerobot_bridge as bridge

# The emulator is scheduled late on a loaded machine: see latency_timer_ms in conftest.py.
pytestmark = pytest.mark.usefixtures("latency_timer_ms")

TICKS_PER_RAD = 4095 / (2 * math.pi)  # LeRobot's degrees use (resolution - 1) per turn
KOCH_MOTORS = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")
XL430, XL330_M288, XL330_M077 = 1060, 1200, 1190
FOLLOWER_MODELS = {1: XL430, 2: XL430, 3: XL330_M288, 4: XL330_M288, 5: XL330_M288, 6: XL330_M288}
LEADER_MODELS = dict.fromkeys(range(1, 7), XL330_M077)
# A calibration as lerobot-calibrate writes it: full turns for pan/roll, recorded ranges else.
RANGES = {
    "shoulder_pan": (0, 4095),
    "shoulder_lift": (1024, 3072),
    "elbow_flex": (1000, 3000),
    "wrist_flex": (1100, 2900),
    "wrist_roll": (0, 4095),
    "gripper": (1800, 2800),
}


def write_calibration(
    directory: Path, device_id: str, ranges: dict[str, tuple[int, int]] = RANGES
) -> Path:
    """A LeRobot calibration file (``<calibration_dir>/<id>.json``) for a Koch arm."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{device_id}.json"
    path.write_text(
        json.dumps(
            {
                motor: {
                    "id": number,
                    "drive_mode": 0,
                    "homing_offset": 0,
                    "range_min": ranges[motor][0],
                    "range_max": ranges[motor][1],
                }
                for number, motor in enumerate(KOCH_MOTORS, start=1)
            }
        )
    )
    return path


def wait_until(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def mid(motor: str) -> float:
    return sum(RANGES[motor]) / 2


# --- building -----------------------------------------------------------------------------
def test_known_types_include_the_dynamixel_and_feetech_arms():
    robots = bridge.known_types(bridge.ROBOT)
    teleoperators = bridge.known_types(bridge.TELEOPERATOR)
    assert {"koch_follower", "so100_follower", "so101_follower"} <= set(robots)
    assert {"koch_leader", "so100_leader", "so101_leader"} <= set(teleoperators)


def test_unknown_type_lists_the_known_ones():
    with pytest.raises(bridge.BridgeError) as error:
        bridge.make_robot("kotch_follower", {"port": "/dev/null"})
    message = str(error.value)
    assert "'kotch_follower'" in message and "koch_follower" in message
    assert "so101_follower" in message
    with pytest.raises(bridge.BridgeError, match="unknown LeRobot teleoperator type 'nope'"):
        bridge.make_teleoperator("nope", {})


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"port": "/dev/x", "bogus": 1}, "bogus"),
        ({}, "Missing required field.*port"),
        ({"port": "/dev/x", "max_relative_target": "far"}, "max_relative_target"),
        ({"port": "/dev/x", "cameras": {"front": {"type": "nope"}}}, "cameras.front.*'nope'"),
        ({"port": "/dev/x", "cameras": {"front": {"type": "opencv"}}}, "koch_follower"),
        ({"port": "/dev/x", "type": "so101_follower"}, "says type 'so101_follower'"),
    ],
)
def test_bad_config_names_the_field(config, expected):
    with pytest.raises(bridge.BridgeError, match=expected):
        bridge.make_robot("koch_follower", config)


def test_config_from_mapping_yaml_json_and_file(tmp_path):
    assert bridge.parse_config({"port": "a"}, "x") == {"port": "a"}
    assert bridge.parse_config("port: /dev/a\nid: f", "x") == {"port": "/dev/a", "id": "f"}
    assert bridge.parse_config('{"port": "/dev/a", "id": "f"}', "x") == {
        "port": "/dev/a",
        "id": "f",
    }
    assert bridge.parse_config("", "x") == {} and bridge.parse_config(None, "x") == {}
    path = tmp_path / "robot.yaml"
    path.write_text("port: /dev/ttyACM0\nid: arm\nmax_relative_target: 5.0\n")
    assert bridge.parse_config(str(path), "x")["max_relative_target"] == 5.0
    with pytest.raises(bridge.BridgeError, match="robot_config: config file .*missing.yaml"):
        bridge.parse_config(str(tmp_path / "missing.yaml"), "robot_config")
    with pytest.raises(bridge.BridgeError, match="config file arm_config does not exist"):
        bridge.parse_config("arm_config", "robot_config")  # one line, not a mapping: a path
    with pytest.raises(bridge.BridgeError, match="must hold a mapping"):
        bridge.parse_config("[1, 2]", "robot_config")
    with pytest.raises(bridge.BridgeError, match="not valid YAML"):
        bridge.parse_config("{port: [", "robot_config")


def test_features_of_a_robot_with_a_camera_before_connecting(tmp_path):
    write_calibration(tmp_path, "f")
    robot = bridge.make_robot(
        "koch_follower",
        {
            "port": "/dev/null",
            "id": "f",
            "calibration_dir": str(tmp_path),
            "cameras": {
                "front": {
                    "type": "opencv",
                    "index_or_path": 0,
                    "width": 64,
                    "height": 48,
                    "fps": 30,
                }
            },
        },
    )
    assert not robot.is_connected
    assert bridge.camera_shapes(robot) == {"front": (48, 64, 3)}
    states, commands = bridge.state_map(robot, "radians"), bridge.command_map(robot, "radians")
    assert states.names == commands.names == KOCH_MOTORS  # the camera is not a joint
    assert commands.keys == tuple(f"{m}.pos" for m in KOCH_MOTORS)  # action_features order
    frame = np.zeros((48, 64, 3), np.uint8)
    assert bridge.camera_image({"front": frame}, "front", (48, 64, 3)) is frame
    with pytest.raises(bridge.BridgeError, match="shape"):
        bridge.camera_image({"front": frame[:, :32]}, "front", (48, 64, 3))
    with pytest.raises(bridge.BridgeError, match="no frame"):
        bridge.camera_image({}, "front", (48, 64, 3))


# --- the mapping maths --------------------------------------------------------------------
class _InvertingBus(DynamixelMotorsBus):
    """LeRobot's normalization with the drive mode applied, as its Feetech bus does."""

    apply_drive_mode = True


@pytest.mark.parametrize("inverted", [False, True])
@pytest.mark.parametrize(
    "norm_mode", [MotorNormMode.DEGREES, MotorNormMode.RANGE_M100_100, MotorNormMode.RANGE_0_100]
)
def test_radians_are_the_angle_from_the_middle_of_the_calibrated_range(norm_mode, inverted):
    """Against LeRobot's own (un)normalization: ticks -> LeRobot value -> rad is the encoder
    angle from the middle of the range (in LeRobot's direction: a bus applying an inverted
    drive mode flips it), and rad -> LeRobot value -> ticks comes back."""
    low, high = 1100, 2900
    bus = (_InvertingBus if inverted else DynamixelMotorsBus)(
        port="/dev/null",
        motors={"joint": Motor(1, "xl330-m288", norm_mode)},
        calibration={"joint": MotorCalibration(1, int(inverted), 0, low, high)},
    )
    conversion = bridge.JointMap.from_features(
        ["joint.pos"], bridge.motor_infos(_Holder(bus)), "radians"
    ).conversions[0]
    sign = -1 if inverted and norm_mode is not MotorNormMode.DEGREES else 1
    for ticks in (low, 1500, 2000, 2001, 2600, high):
        value = bus._normalize({1: ticks})[1]
        angle = conversion.to_ros(value)
        assert angle == pytest.approx(sign * (ticks - (low + high) / 2) / TICKS_PER_RAD, abs=1e-9)
        back = bus._unnormalize({1: conversion.to_lerobot(angle)})[1]
        assert abs(back - ticks) <= 1  # LeRobot truncates to int
    half_range = (high - low) / 2 / TICKS_PER_RAD
    assert (conversion.lower, conversion.upper) == pytest.approx((-half_range, half_range))


class _Holder:
    """An object owning a bus, as LeRobot's robots and teleoperators do."""

    def __init__(self, bus):
        self.bus = bus


def test_lerobot_units_pass_through_with_the_norm_mode_bounds():
    infos = {
        "a.pos": bridge.MotorInfo("range_m100_100", 1000, 3000, 4096),
        "b.pos": bridge.MotorInfo("range_0_100", 1000, 3000, 4096),
        "c.pos": bridge.MotorInfo("degrees", 1000, 3000, 4096),
    }
    joints = bridge.JointMap.from_features(["a.pos", "b.pos", "c.pos", "x.vel"], infos, "lerobot")
    assert joints.names == ("a", "b", "c", "x.vel")
    assert joints.to_ros({"a.pos": 12.5, "b.pos": 70.0, "c.pos": -30.0, "x.vel": 0.2}) == (
        pytest.approx([12.5, 70.0, -30.0, 0.2])
    )
    np.testing.assert_allclose(joints.limits.lower[:3], [-100, 0, -1000 * 360 / 4095])
    np.testing.assert_allclose(joints.limits.upper[:3], [100, 100, 1000 * 360 / 4095])
    assert joints.limits.lower[3] == -math.inf and joints.limits.upper[3] == math.inf
    assert (
        "x.vel [lerobot]" in bridge.JointMap.from_features(["x.vel"], infos, "radians").describe()
    )


def test_joint_map_errors_and_reordering():
    joints = bridge.JointMap.from_features(["a.pos", "b.pos"], {}, "radians")
    assert joints.to_lerobot([1.0, 2.0]) == {"a.pos": 1.0, "b.pos": 2.0}
    with pytest.raises(bridge.BridgeError, match="expected 2 values"):
        joints.to_lerobot([1.0])
    with pytest.raises(bridge.BridgeError, match=r"missing the features \['b.pos'\]"):
        joints.to_ros({"a.pos": 1.0})
    assert joints.reordered_from(["b", "x", "a"], [2.0, 9.0, 1.0]).tolist() == [1.0, 2.0]
    assert joints.reordered_from(["a"], [1.0]) is None
    with pytest.raises(bridge.BridgeError, match="units must be one of"):
        bridge.JointMap.from_features(["a.pos"], {}, "degrees")
    with pytest.raises(bridge.BridgeError, match="match the follower"):
        bridge.check_same_commands(["a.pos", "c.pos"], joints)
    bridge.check_same_commands(["b.pos", "a.pos"], joints)


# --- a real LeRobot robot on the emulated Dynamixel bus ------------------------------------
@pytest.fixture
def follower_bus():
    positions = {1: 2100, 2: 2048, 3: 1500, 4: 2000, 5: 1000, 6: 2300}
    with DynamixelEmulator(range(1, 7), models=FOLLOWER_MODELS, positions=positions) as emulator:
        yield emulator


def koch_follower(port: str, calibration_dir: Path, **extra):
    return bridge.make_robot(
        "koch_follower",
        {"port": port, "id": "follower", "calibration_dir": str(calibration_dir), **extra},
    )


def test_koch_follower_reads_and_moves_the_emulated_servos(follower_bus, tmp_path):
    write_calibration(tmp_path, "follower")
    robot = koch_follower(follower_bus.port, tmp_path)
    notes = bridge.connect(robot)
    try:
        # The emulated servos held the factory calibration: the file's was written to them.
        assert notes == ["wrote the calibration file's values to the motors"]
        for number, motor in enumerate(KOCH_MOTORS, start=1):
            servo = follower_bus.servo(number)
            assert servo.read_register("Min_Position_Limit") == RANGES[motor][0]
            assert servo.read_register("Max_Position_Limit") == RANGES[motor][1]
            assert servo.torque_enabled  # LeRobot's configure() leaves torque on
        states = bridge.state_map(robot, "radians")
        measured = states.to_ros(robot.get_observation())
        present = [follower_bus.servo(n).present_position for n in range(1, 7)]
        expected = [(p - mid(m)) / TICKS_PER_RAD for p, m in zip(present, KOCH_MOTORS, strict=True)]
        np.testing.assert_allclose(measured, expected, atol=1e-9)

        commands = bridge.command_map(robot, "radians")
        target = np.array([0.3, -0.5, 0.2, 0.0, -1.0, 0.1])
        sent = robot.send_action(commands.to_lerobot(target))
        assert set(sent) == set(commands.keys)
        expected_goals = [
            mid(m) + t * TICKS_PER_RAD for m, t in zip(KOCH_MOTORS, target, strict=True)
        ]
        goals = lambda: [follower_bus.servo(n).goal_position for n in range(1, 7)]  # noqa: E731
        # Sync write expects no answer: the emulator may still be reading it.
        assert wait_until(lambda: np.allclose(goals(), expected_goals, atol=1.01)), goals()
        # The emulated shafts go there (torque on), and the state reports it.
        measured = lambda: states.to_ros(robot.get_observation())  # noqa: E731
        assert wait_until(lambda: np.allclose(measured(), target, atol=2 / TICKS_PER_RAD), 10.0)

        assert bridge.set_torque(robot, False)  # written with answers: done on return
        assert not any(follower_bus.servo(n).torque_enabled for n in range(1, 7))
    finally:
        bridge.disconnect(robot)
    assert not robot.is_connected


def test_disconnect_disables_torque(follower_bus, tmp_path):
    write_calibration(tmp_path, "follower")
    robot = koch_follower(follower_bus.port, tmp_path)
    bridge.connect(robot)
    assert follower_bus.servo(1).torque_enabled
    bridge.disconnect(robot)
    assert not any(follower_bus.servo(n).torque_enabled for n in range(1, 7))


def test_missing_calibration_file_refuses_with_the_command_to_run(follower_bus, tmp_path):
    robot = koch_follower(follower_bus.port, tmp_path)
    with pytest.raises(bridge.BridgeError) as error:
        bridge.connect(robot)
    message = str(error.value)
    assert "not calibrated" in message and str(tmp_path / "follower.json") in message
    assert (
        "lerobot-calibrate --robot.type=koch_follower" in message
        and "--robot.id=follower" in message
    )
    assert not robot.bus.is_connected  # the port was closed again
    with pytest.raises(bridge.BridgeError, match="no calibration"):
        bridge.require_calibration_file(robot)


def test_a_missing_servo_fails_the_connection_with_lerobots_reason(tmp_path):
    write_calibration(tmp_path, "follower")
    models = {n: FOLLOWER_MODELS[n] for n in range(1, 6)}
    with DynamixelEmulator(range(1, 6), models=models) as emulator:  # no gripper servo
        robot = koch_follower(emulator.port, tmp_path)
        with pytest.raises(
            bridge.BridgeError,
            match=r"cannot connect .*koch_follower(.|\n)*Missing motor IDs(.|\n)*6",
        ):
            bridge.connect(robot)
        assert not robot.bus.is_connected


def test_servos_that_miss_the_first_ping_are_found_by_a_retry(follower_bus, tmp_path):
    write_calibration(tmp_path, "follower")
    robot = koch_follower(follower_bus.port, tmp_path)
    for n in range(1, 7):
        follower_bus.silence(n)

    def answer_after_the_first_attempt() -> None:
        # The first attempt has failed once its port has been opened and closed again.
        port = robot.bus.port_handler
        deadline = time.monotonic() + 30
        while not port.is_open and time.monotonic() < deadline:
            time.sleep(0.001)
        while port.is_open and time.monotonic() < deadline:
            time.sleep(0.001)
        for n in range(1, 7):
            follower_bus.unsilence(n)

    helper = threading.Thread(target=answer_after_the_first_attempt)
    helper.start()
    try:
        notes = bridge.connect(robot)
    finally:
        helper.join()
    try:
        assert notes[0].startswith("connection attempt 1 failed, retried: ")
        assert "Missing motor IDs" in notes[0]
        assert robot.is_connected and robot.bus.read("Torque_Enable", "shoulder_pan") == 1
    finally:
        bridge.disconnect(robot)


def test_nothing_on_the_port_fails_the_connection(tmp_path):
    robot = koch_follower(str(tmp_path / "ttyNothing"), tmp_path)
    write_calibration(tmp_path, "follower")
    with pytest.raises(bridge.BridgeError, match="cannot connect LeRobot robot koch_follower"):
        bridge.connect(robot)


def test_koch_leader_action_is_the_followers_command(tmp_path):
    """A leader moved by hand gives the command that puts the follower at the same place in
    *its* calibrated range, in the follower's radians: LeRobot passes the normalized values
    from leader to follower, and the follower's calibration says what they mean."""
    leader_dir, follower_dir = tmp_path / "leader", tmp_path / "follower"
    write_calibration(leader_dir, "leader")
    follower_ranges = {
        **RANGES,
        "shoulder_lift": (1524, 2572),
    }  # a narrower range than the leader's
    write_calibration(follower_dir, "follower", follower_ranges)
    follower = koch_follower("/dev/null", follower_dir)  # built, never connected
    bridge.require_calibration_file(follower)
    commands = bridge.command_map(follower, "radians")
    with DynamixelEmulator(range(1, 7), models=LEADER_MODELS) as emulator:
        leader = bridge.make_teleoperator(
            "koch_leader",
            {"port": emulator.port, "id": "leader", "calibration_dir": str(leader_dir)},
        )
        bridge.check_same_commands(bridge.action_keys(leader), commands)
        assert bridge.connect(leader) == ["wrote the calibration file's values to the motors"]
        try:
            # LeRobot's leader set-up, run again once calibrated: limp joints, and the gripper
            # a spring-loaded trigger held at gripper_open_pos (50 % of its range).
            assert [emulator.servo(n).torque_enabled for n in range(1, 7)] == [False] * 5 + [True]
            assert emulator.servo(6).goal_position == pytest.approx(mid("gripper"), abs=1)
            emulator.servo(2).set_present_position(2048 + 300)  # 29.3 % of the leader's half range
            emulator.servo(3).set_present_position(1200)
            command = commands.to_ros(leader.get_action())
        finally:
            bridge.disconnect(leader)
    assert command[1] == pytest.approx(300 / 1024 * 524 / TICKS_PER_RAD, abs=1 / TICKS_PER_RAD)
    assert command[2] == pytest.approx((1200 - 2000) / TICKS_PER_RAD, abs=1 / TICKS_PER_RAD)
