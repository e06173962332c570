"""The arm description (calibration maths, limits, validation) and DynamixelArm on the emulator."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

from lerobot_ros.emulators.dynamixel_emulator import DynamixelEmulator
from lerobot_ros.hardware.dynamixel import control_table
from lerobot_ros.hardware.dynamixel.arm import (
    ArmConfigError,
    ArmError,
    DynamixelArm,
    JointCalibration,
    load_arm_config,
    parse_arm_config,
)
from lerobot_ros.hardware.dynamixel.bus import BusError, DynamixelBus, PortError
from lerobot_ros.resources import config_path
from lerobot_ros.robots import panda


def joint(**overrides) -> JointCalibration:
    values = dict(
        name="j",
        servo_id=1,
        model_number=1060,
        prismatic=False,
        offset=2048,
        direction=1,
        ticks_per_unit=control_table.TICKS_PER_RADIAN,
        lower=-1.0,
        upper=1.0,
        velocity_limit=2.0,
    )
    values.update(overrides)
    return JointCalibration(**values)


def test_ticks_radians_and_metres():
    revolute = joint()
    assert revolute.to_ticks(0.0) == 2048
    assert revolute.to_ticks(math.pi / 2) == 3072
    assert revolute.from_ticks(1024) == pytest.approx(-math.pi / 2)
    reversed_joint = joint(direction=-1, offset=1000)
    assert reversed_joint.to_ticks(math.pi / 2) == 1000 - 1024
    assert reversed_joint.from_ticks(1000 - 1024) == pytest.approx(math.pi / 2)
    finger = joint(prismatic=True, ticks_per_unit=25600, offset=1536, lower=0.0, upper=0.04)
    assert finger.to_ticks(0.04) == 2560
    assert finger.from_ticks(2048) == pytest.approx(0.02)
    # 100 units = 22.9 rev/min = 2.398 rad/s; reversed, it reads negative.
    assert revolute.velocity_from_units(100) == pytest.approx(100 * 0.229 * 2 * math.pi / 60)
    assert reversed_joint.velocity_from_units(100) == pytest.approx(-2.398, abs=1e-3)
    # Round trips stay within half a tick.
    for q in np.linspace(-1.0, 1.0, 41):
        assert abs(revolute.from_ticks(revolute.to_ticks(q)) - q) <= 0.5 / revolute.ticks_per_unit


def test_tick_limits_round_outward_and_profile_velocity():
    j = joint(lower=-0.5, upper=0.7)
    low, high = j.tick_limits
    assert low <= j.to_ticks(-0.5) and high >= j.to_ticks(0.7)
    assert low == math.floor(2048 - 0.5 * j.ticks_per_unit)
    reversed_joint = joint(direction=-1, lower=-0.5, upper=0.7)
    assert reversed_joint.tick_limits == (math.floor(2048 - 0.7 * j.ticks_per_unit), 2048 + 326)
    # 2 rad/s = 19.1 rev/min -> 84 units (rounded up: never slower than the limit).
    assert joint(velocity_limit=2.0).profile_velocity == math.ceil(2.0 * 60 / (2 * math.pi) / 0.229)


def test_default_config_is_the_panda_contract():
    config = load_arm_config(config_path("dynamixel_arm.yaml"))
    assert config.names == panda.JOINT_NAMES
    assert config.servo_ids == tuple(range(1, 9))
    lower, upper = panda.joint_limits()
    np.testing.assert_array_equal(config.limits.lower, lower)
    np.testing.assert_array_equal(config.limits.upper, upper)
    np.testing.assert_array_equal(config.velocity_limits, panda.velocity_limits())
    assert config.joints[-1].prismatic
    # Every joint's range fits one turn (position mode) and mid-range is near tick 2048.
    for j in config.joints:
        low, high = j.tick_limits
        assert 0 <= low < high <= 4095
        assert abs((low + high) / 2 - 2048) < 20


def panda_document(**joint_overrides) -> dict:
    document = yaml.safe_load(config_path("dynamixel_arm.yaml").read_text())
    for name, changes in joint_overrides.items():
        entry = next(e for e in document["joints"] if e["name"] == name)
        entry.update(changes)
        for key in [k for k, v in changes.items() if v is None]:
            del entry[key]
    return document


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"panda_joint2": {"id": 1}}, "servo ids repeat"),
        ({"panda_joint3": {"id": None}}, "joint panda_joint3: 'id'"),
        ({"panda_joint3": {"direction": 2}}, "joint panda_joint3: direction 2"),
        ({"panda_joint1": {"model": "xl999"}}, "joint panda_joint1: model 'xl999'"),
        ({"panda_joint4": {"offset": 1000}}, "joint panda_joint4: limits .* outside one turn"),
        ({"panda_finger_joint1": {"ticks_per_unit": None}}, "prismatic joint needs ticks_per_unit"),
        ({"panda_joint5": {"lower": 1.0, "upper": 0.5}}, "lower 1.0 must be below upper 0.5"),
        ({"panda_joint5": {"gear": 3}}, r"unknown keys \['gear'\]"),
        ({"panda_joint6": {"lower": float("nan")}}, "lower must be a finite number"),
    ],
)
def test_invalid_configs_name_the_joint_and_field(changes, message):
    with pytest.raises(ArmConfigError, match=message):
        parse_arm_config(panda_document(**changes))


def test_panda_joints_must_be_complete_and_in_order():
    document = panda_document()
    document["joints"].reverse()
    with pytest.raises(ArmConfigError, match="in this order"):
        parse_arm_config(document)
    document = {"joints": [{"name": "elbow", "id": 3}]}  # no robot: limits are required
    with pytest.raises(ArmConfigError, match="'lower' is required"):
        parse_arm_config(document)
    document["joints"][0].update(lower=-1, upper=1, velocity_limit=1)
    assert parse_arm_config(document).names == ("elbow",)


def test_unreadable_config_file(tmp_path):
    with pytest.raises(ArmConfigError, match="cannot read arm config"):
        load_arm_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("joints: [ {name: a")
    with pytest.raises(ArmConfigError, match="not valid YAML"):
        load_arm_config(bad)


# --- DynamixelArm against eight emulated servos ---------------------------------------------
LATENCY_TIMER_MS = 60  # as conftest.py's latency_timer_ms: tolerant of a loaded machine


@pytest.fixture
def config():
    return load_arm_config(config_path("dynamixel_arm.yaml"))


@pytest.fixture
def panda_servos(config, latency_timer_ms):
    models = {j.servo_id: j.model_number for j in config.joints}
    with DynamixelEmulator(config.servo_ids, models=models) as emu:
        yield emu


def make_arm(emulator, config, **kwargs) -> DynamixelArm:
    bus = DynamixelBus(emulator.port, retries=1, latency_timer_ms=LATENCY_TIMER_MS)
    arm = DynamixelArm(bus, config, **kwargs)
    arm.connect()
    return arm


def test_connect_configures_the_servos(panda_servos, config):
    arm = make_arm(panda_servos, config)
    try:
        for j in config.joints:
            servo = panda_servos.servo(j.servo_id)
            assert servo.read_register("Operating_Mode") == control_table.POSITION_CONTROL
            assert servo.read_register("Min_Position_Limit") == j.tick_limits[0]
            assert servo.read_register("Max_Position_Limit") == j.tick_limits[1]
            assert servo.read_register("Profile_Velocity") == j.profile_velocity
            assert servo.read_register("Return_Delay_Time") == 0
            assert not servo.torque_enabled
    finally:
        arm.close()


def test_connect_reports_every_missing_or_wrong_servo(config, latency_timer_ms):
    ids = config.servo_ids[:-1]  # no finger servo, and joint 2 is the wrong model
    with DynamixelEmulator(ids, models={2: 1190}) as emu:
        bus = DynamixelBus(emu.port, retries=0, latency_timer_ms=latency_timer_ms)
        arm = DynamixelArm(bus, config)
        with pytest.raises(ArmError) as info:
            arm.connect()
        arm.close()
    message = str(info.value)
    assert "servo 8 (panda_finger_joint1) does not answer" in message
    assert "servo 2 (panda_joint2) is a xl330-m077 (1190), expected xl430-w250 (1060)" in message


def test_read_and_command_in_si_units(panda_servos, config, wait_for):
    arm = make_arm(panda_servos, config)
    try:
        panda_servos.servo(2).set_present_position(2048 + 512)  # +pi/4
        panda_servos.servo(8).set_present_position(1536 + 256)  # 1 cm
        state = arm.read()
        assert state.positions[1] == pytest.approx(math.pi / 4)
        assert state.positions[7] == pytest.approx(0.01)
        assert state.positions[3] == pytest.approx(-math.pi / 2)  # 2048 with offset 3072
        np.testing.assert_array_equal(state.velocities, np.zeros(8))

        arm.hold_present()
        assert [panda_servos.servo(i).goal_position for i in range(1, 9)] == list(state.ticks)
        arm.enable_torque()
        target = panda.HOME_POSITION.copy()
        target[0] = 99.0  # far beyond joint 1's limit: clamped to 2.8973
        goals = arm.command(target)
        assert goals[1] == config.joints[0].to_ticks(2.8973)
        assert goals[8] == 2560
        assert wait_for(lambda: panda_servos.servo(8).goal_position == 2560)
        assert wait_for(lambda: panda_servos.servo(1).present_position == goals[1], timeout=10.0)
        moving = arm.read()
        assert moving.positions[0] == pytest.approx(2.8973, abs=1e-3)
    finally:
        arm.close()
    assert not any(panda_servos.servo(i).torque_enabled for i in range(1, 9))


def test_a_silent_servo_loses_the_bus_and_the_arm_holds(panda_servos, config, wait_for):
    arm = make_arm(panda_servos, config, max_consecutive_errors=2, on_bus_lost="hold")
    arm.hold_present()
    arm.enable_torque()
    arm.command(np.array(arm.read().positions))
    panda_servos.silence(5)
    for _ in range(2):
        with pytest.raises(BusError, match=r"servo \[5\]"):
            arm.read()
    assert arm.bus_lost and "2 bus errors in a row" in arm.lost_reason
    goals_before = [panda_servos.servo(i).goal_position for i in range(1, 9)]
    assert arm.command(panda.HOME_POSITION) is None  # nothing is sent any more
    panda_servos.unsilence(5)
    assert [panda_servos.servo(i).goal_position for i in range(1, 9)] == goals_before
    assert all(panda_servos.servo(i).torque_enabled for i in range(1, 9))  # holding
    arm.hold_present()  # what activate does: clears the latch with goal := present
    assert not arm.bus_lost
    arm.close()


def test_disable_torque_policy(panda_servos, config):
    arm = make_arm(panda_servos, config, max_consecutive_errors=1, on_bus_lost="disable_torque")
    arm.hold_present()
    arm.enable_torque()
    panda_servos.silence(3)
    with pytest.raises(BusError):
        arm.read()
    assert arm.bus_lost
    torque = [panda_servos.servo(i).torque_enabled for i in range(1, 9)]
    assert torque == [False, False, True, False, False, False, False, False]  # 3 heard nothing
    assert arm.torque_disabled_on_loss == [1, 2, 4, 5, 6, 7, 8]
    arm.close()


def test_a_vanished_port_is_lost_at_once(panda_servos, config):
    arm = make_arm(panda_servos, config, max_consecutive_errors=10)
    arm.hold_present()
    panda_servos.vanish()
    with pytest.raises(PortError):
        arm.read()
    assert arm.bus_lost and arm.lost_reason.startswith("serial port lost")
    arm.close()


def test_activation_refuses_joints_outside_their_limits(panda_servos, config):
    arm = make_arm(panda_servos, config)
    panda_servos.servo(4).set_present_position(3072)  # panda_joint4 at 0 rad: above -0.0698
    with pytest.raises(ArmError, match=r"panda_joint4 at 0.0000 is outside \[-3.0718, -0.0698\]"):
        arm.hold_present()
    assert not any(panda_servos.servo(i).torque_enabled for i in range(1, 9))
    arm.close()


def test_bad_arm_settings():
    config = parse_arm_config(
        {"joints": [{"name": "a", "id": 1, "lower": 0, "upper": 1, "velocity_limit": 1}]}
    )
    with pytest.raises(ValueError, match="on_bus_lost must be one of"):
        DynamixelArm(DynamixelBus("/dev/null"), config, on_bus_lost="explode")
    with pytest.raises(ValueError, match="max_consecutive_errors"):
        DynamixelArm(DynamixelBus("/dev/null"), config, max_consecutive_errors=0)
