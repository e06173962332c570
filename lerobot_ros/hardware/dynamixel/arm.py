"""An arm of DYNAMIXEL servos in SI units: calibration, limits, and what to do when the bus
is lost.

The arm description (``config/dynamixel_arm.yaml``) maps each joint of the topic contract to
a servo: its id and model, ``offset`` (ticks at position 0), ``direction`` (+1/-1) and
``ticks_per_unit`` (ticks per radian, 4096/2π by default; ticks per metre for a prismatic
joint such as a rack-driven gripper finger). Limits and velocity limits default to the
named robot's URDF (``robot: panda``: :func:`lerobot_ros.robots.known_robot`), so the real
arm obeys the same contract as the simulated one.

:class:`DynamixelArm` connects (every servo pinged and its model checked, all problems
reported at once), configures the servos (operating mode, position limits in the servos
themselves as a second fence, profile velocity from the velocity limits), reads positions
and velocities in one sync read, and writes goals in one sync write, clamped to the limits.
Failures are counted: after ``max_consecutive_errors`` in a row, or at once when the port
disappears, the bus is *lost*: no more goals are sent and, with ``on_bus_lost:
disable_torque``, torque is switched off where the servos still listen (``hold`` leaves them
holding their last goal). The latch is cleared only by :meth:`DynamixelArm.hold_present`
(the node's activate), which first sets every goal to the present position: never a jump.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from lerobot_ros.control.joint_commands import JointLimits
from lerobot_ros.hardware.dynamixel import control_table as table
from lerobot_ros.hardware.dynamixel.bus import BusError, DynamixelBus, PortError
from lerobot_ros.robots import RobotModel, RobotModelError, known_robot

ON_BUS_LOST = ("hold", "disable_torque")
OPERATING_MODES = {
    "position": table.POSITION_CONTROL,
    "extended_position": table.EXTENDED_POSITION_CONTROL,
}
_STATE_REGISTERS = ("Present_Velocity", "Present_Position")


class ArmConfigError(ValueError):
    """The arm description is invalid; the message names the joint and the field."""


class ArmError(RuntimeError):
    """The servos on the bus are not the ones the arm description expects."""


@dataclass(frozen=True)
class JointCalibration:
    """How one joint maps onto one servo."""

    name: str
    servo_id: int
    model_number: int
    prismatic: bool
    offset: int  # ticks at position 0
    direction: int  # +1 or -1
    ticks_per_unit: float  # ticks per radian (revolute) or per metre (prismatic)
    lower: float
    upper: float
    velocity_limit: float  # rad/s or m/s; becomes the servo's Profile_Velocity

    def to_ticks(self, position: float) -> int:
        return int(round(self.offset + self.direction * position * self.ticks_per_unit))

    def from_ticks(self, ticks: int | float) -> float:
        return self.direction * (ticks - self.offset) / self.ticks_per_unit

    def velocity_from_units(self, units: int | float) -> float:
        """rad/s (m/s) of a Present_Velocity value (0.229 rev/min units)."""
        return self.direction * table.ticks_per_second(units) / self.ticks_per_unit

    @property
    def tick_limits(self) -> tuple[int, int]:
        """The limits in ticks, rounded outward so a goal at a joint limit stays inside."""
        ends = sorted(
            (
                self.offset + self.direction * self.lower * self.ticks_per_unit,
                self.offset + self.direction * self.upper * self.ticks_per_unit,
            )
        )
        return math.floor(ends[0]), math.ceil(ends[1])

    @property
    def profile_velocity(self) -> int:
        """Profile_Velocity (0.229 rev/min units) for the velocity limit, at least 1."""
        ticks_per_s = self.velocity_limit * self.ticks_per_unit
        return max(1, math.ceil(ticks_per_s / table.ticks_per_second(1)))


@dataclass(frozen=True)
class ArmConfig:
    joints: tuple[JointCalibration, ...]
    operating_mode: int = table.POSITION_CONTROL
    robot: str | None = None
    gripper_joint: str | None = None  # served as a GripperCommand action (MoveIt's hand)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(joint.name for joint in self.joints)

    @property
    def servo_ids(self) -> tuple[int, ...]:
        return tuple(joint.servo_id for joint in self.joints)

    @property
    def limits(self) -> JointLimits:
        return JointLimits(
            self.names,
            np.array([joint.lower for joint in self.joints]),
            np.array([joint.upper for joint in self.joints]),
        )

    @property
    def velocity_limits(self) -> np.ndarray:
        return np.array([joint.velocity_limit for joint in self.joints])

    def to_ticks(self, positions: Sequence[float]) -> dict[int, int]:
        return {j.servo_id: j.to_ticks(q) for j, q in zip(self.joints, positions, strict=True)}


def _robot_model(robot: str | None, source: str) -> RobotModel | None:
    if robot is None:
        return None
    try:
        return known_robot(robot)
    except RobotModelError as error:
        raise ArmConfigError(f"{source}: {error}") from None


def _robot_defaults(model: RobotModel | None) -> dict[str, tuple[float, float, float]]:
    """name -> (lower, upper, velocity limit) of the robot's commanded joints (its URDF's)."""
    if model is None:
        return {}
    names = model.commanded_names
    lower, upper = model.position_limits(names)
    velocity = model.velocity_limits(names)
    return {
        name: (float(lo), float(hi), float(v))
        for name, lo, hi, v in zip(names, lower, upper, velocity, strict=True)
    }


def _model_number(value: Any, where: str) -> int:  # noqa: ANN401 - YAML scalar
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in table.MODEL_NUMBERS:
        return table.MODEL_NUMBERS[value.lower()]
    raise ArmConfigError(
        f"{where}: model {value!r} is not a model number or one of {sorted(table.MODEL_NUMBERS)}"
    )


def parse_arm_config(document: Mapping[str, Any], source: str = "arm config") -> ArmConfig:
    """Validate an arm description (the YAML document as a mapping)."""
    if not isinstance(document, Mapping):
        raise ArmConfigError(f"{source}: expected a mapping with 'joints', got {type(document)}")
    known = {"robot", "operating_mode", "joints", "gripper_joint"}
    extra = sorted(set(document) - known)
    if extra:
        raise ArmConfigError(f"{source}: unknown keys {extra}; expected {sorted(known)}")
    robot = document.get("robot")
    model = _robot_model(robot, source)
    defaults = _robot_defaults(model)
    mode_name = document.get("operating_mode", "position")
    if mode_name not in OPERATING_MODES:
        raise ArmConfigError(
            f"{source}: operating_mode {mode_name!r} is not one of {sorted(OPERATING_MODES)}"
        )
    entries = document.get("joints")
    if not isinstance(entries, list) or not entries:
        raise ArmConfigError(f"{source}: 'joints' must be a non-empty list")

    joints = []
    for number, entry in enumerate(entries):
        joints.append(_parse_joint(entry, number, defaults, source))
    gripper = document.get("gripper_joint")
    config = ArmConfig(tuple(joints), OPERATING_MODES[mode_name], robot, gripper)
    if gripper is not None and gripper not in config.names:
        raise ArmConfigError(
            f"{source}: gripper_joint {gripper!r} is not one of the joints {list(config.names)}"
        )

    names, ids = config.names, config.servo_ids
    if len(set(names)) != len(names):
        raise ArmConfigError(f"{source}: joint names repeat: {list(names)}")
    if len(set(ids)) != len(ids):
        raise ArmConfigError(f"{source}: servo ids repeat: {list(ids)}")
    expected = model.commanded_names if model is not None else None
    if expected is not None and names != expected:
        raise ArmConfigError(
            f"{source}: the joints of robot {robot!r} are {list(expected)} in this order, "
            f"got {list(names)}"
        )
    if config.operating_mode == table.POSITION_CONTROL:
        for joint in config.joints:
            low, high = joint.tick_limits
            if low < 0 or high > table.RESOLUTION - 1:
                raise ArmConfigError(
                    f"{source}: joint {joint.name}: limits [{joint.lower}, {joint.upper}] are "
                    f"ticks {low}..{high}, outside one turn (0..4095) of position mode; "
                    "change its offset or use operating_mode: extended_position"
                )
    return config


def _parse_joint(
    entry: Any,  # noqa: ANN401 - YAML node
    number: int,
    defaults: Mapping[str, tuple[float, float, float]],
    source: str,
) -> JointCalibration:
    if not isinstance(entry, Mapping) or "name" not in entry:
        raise ArmConfigError(f"{source}: joint #{number} must be a mapping with a 'name'")
    name = str(entry["name"])
    where = f"{source}: joint {name}"
    known = {"name", "id", "model", "type", "offset", "direction", "ticks_per_unit"}
    known |= {"lower", "upper", "velocity_limit"}
    extra = sorted(set(entry) - known)
    if extra:
        raise ArmConfigError(f"{where}: unknown keys {extra}; expected {sorted(known)}")
    if "id" not in entry:
        raise ArmConfigError(f"{where}: 'id' (the servo id) is required")
    servo_id = entry["id"]
    if not isinstance(servo_id, int) or not 0 <= servo_id <= 252:
        raise ArmConfigError(f"{where}: id {servo_id!r} must be an integer in 0..252")
    kind = entry.get("type", "revolute")
    if kind not in ("revolute", "prismatic"):
        raise ArmConfigError(f"{where}: type {kind!r} must be 'revolute' or 'prismatic'")
    prismatic = kind == "prismatic"
    if prismatic and "ticks_per_unit" not in entry:
        raise ArmConfigError(f"{where}: a prismatic joint needs ticks_per_unit (ticks per metre)")
    direction = entry.get("direction", 1)
    if direction not in (1, -1):
        raise ArmConfigError(f"{where}: direction {direction!r} must be 1 or -1")
    values: dict[str, float] = {}
    fallback = defaults.get(name)
    for key, index in (("lower", 0), ("upper", 1), ("velocity_limit", 2)):
        raw = entry.get(key, None if fallback is None else fallback[index])
        if raw is None:
            raise ArmConfigError(f"{where}: '{key}' is required (no robot default for {name})")
        values[key] = _finite(raw, f"{where}: {key}")
    for key, default in (("offset", 2048), ("ticks_per_unit", table.TICKS_PER_RADIAN)):
        values[key] = _finite(entry.get(key, default), f"{where}: {key}")
    if not values["lower"] < values["upper"]:
        raise ArmConfigError(
            f"{where}: lower {values['lower']} must be below upper {values['upper']}"
        )
    if values["ticks_per_unit"] <= 0 or values["velocity_limit"] <= 0:
        raise ArmConfigError(f"{where}: ticks_per_unit and velocity_limit must be > 0")
    if values["offset"] != int(values["offset"]):
        raise ArmConfigError(f"{where}: offset {values['offset']} must be whole ticks")
    return JointCalibration(
        name=name,
        servo_id=servo_id,
        model_number=_model_number(entry.get("model", 1060), where),
        prismatic=prismatic,
        offset=int(values["offset"]),
        direction=int(direction),
        ticks_per_unit=values["ticks_per_unit"],
        lower=values["lower"],
        upper=values["upper"],
        velocity_limit=values["velocity_limit"],
    )


def _finite(value: Any, where: str) -> float:  # noqa: ANN401 - YAML scalar
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ArmConfigError(f"{where} must be a finite number, got {value!r}")
    return float(value)


def load_arm_config(path: str | Path) -> ArmConfig:
    """Read and validate an arm description file."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as error:
        raise ArmConfigError(f"cannot read arm config {path}: {error}") from error
    except yaml.YAMLError as error:
        raise ArmConfigError(f"arm config {path} is not valid YAML: {error}") from error
    return parse_arm_config(document, str(path))


@dataclass(frozen=True)
class ArmState:
    """One read of the arm: positions (rad, m) and velocities (rad/s, m/s) in joint order."""

    positions: np.ndarray
    velocities: np.ndarray
    ticks: tuple[int, ...]  # raw Present_Position values


class DynamixelArm:
    """The arm over a :class:`DynamixelBus` (see the module doc)."""

    def __init__(
        self,
        bus: DynamixelBus,
        config: ArmConfig,
        *,
        max_consecutive_errors: int = 5,
        on_bus_lost: str = "hold",
    ) -> None:
        if on_bus_lost not in ON_BUS_LOST:
            raise ValueError(f"on_bus_lost must be one of {ON_BUS_LOST}, got {on_bus_lost!r}")
        if max_consecutive_errors < 1:
            raise ValueError(f"max_consecutive_errors must be >= 1, got {max_consecutive_errors}")
        self.bus = bus
        self.config = config
        self.limits = config.limits
        self.max_consecutive_errors = max_consecutive_errors
        self.on_bus_lost = on_bus_lost
        self.consecutive_errors = 0
        self.total_errors = 0
        self.last_error: str | None = None
        self.lost_reason: str | None = None
        self.torque_enabled = False
        self.last_state: ArmState | None = None
        self.last_goal_ticks: dict[int, int] | None = None
        # With on_bus_lost=disable_torque: the servos that acknowledged torque off.
        self.torque_disabled_on_loss: list[int] = []

    @property
    def bus_lost(self) -> bool:
        return self.lost_reason is not None

    # --- setup ---------------------------------------------------------------------------
    def connect(self) -> None:
        """Open the port, check every servo, configure them (torque off). Raises BusError
        or ArmError with every problem found."""
        self.bus.open()
        self.check_servos()
        self.configure_servos()

    def check_servos(self) -> None:
        problems = []
        for joint in self.config.joints:
            try:
                model = self.bus.ping(joint.servo_id)
            except PortError:
                raise
            except BusError as error:
                problems.append(f"servo {joint.servo_id} ({joint.name}) does not answer: {error}")
                continue
            if model != joint.model_number:
                problems.append(
                    f"servo {joint.servo_id} ({joint.name}) is a {table.model_name(model)} "
                    f"({model}), expected {table.model_name(joint.model_number)} "
                    f"({joint.model_number})"
                )
        if problems:
            raise ArmError(f"servo check on {self.bus.port} failed: " + "; ".join(problems))

    def configure_servos(self) -> None:
        """Torque off, then the EEPROM settings (written only where they differ, to spare
        the EEPROM) and the profile velocity."""
        self.disable_torque()
        for joint in self.config.joints:
            low, high = joint.tick_limits
            wanted = {"Return_Delay_Time": 0, "Operating_Mode": self.config.operating_mode}
            if self.config.operating_mode == table.POSITION_CONTROL:
                wanted |= {"Min_Position_Limit": low, "Max_Position_Limit": high}
            for name, value in wanted.items():
                if self.bus.read(joint.servo_id, name) != value:
                    self.bus.write(joint.servo_id, name, value)
            self.bus.write(joint.servo_id, "Profile_Velocity", joint.profile_velocity)

    def close(self, disable_torque: bool = True) -> None:
        if disable_torque and self.bus.is_open:
            try:
                self.disable_torque()
            except BusError:
                pass  # closing anyway; the caller logs the state it knows
        self.bus.close()

    # --- torque --------------------------------------------------------------------------
    def enable_torque(self) -> None:
        self.bus.set_torque(self.config.servo_ids, True)
        self.torque_enabled = True

    def disable_torque(self) -> None:
        self.torque_enabled = False  # even if a servo misses it: never claim it is on
        self.bus.set_torque(self.config.servo_ids, False)

    def hold_present(self) -> ArmState:
        """Set every goal to the present position (raw ticks, no rounding) and clear a lost
        bus: what must happen before torque goes on."""
        state = self.read()
        # Outside its limits, every clamped goal would pull the joint to the nearest limit.
        outside = [
            f"{j.name} at {q:.4f} is outside [{j.lower:.4f}, {j.upper:.4f}]"
            for j, q in zip(self.config.joints, state.positions, strict=True)
            if not j.lower - 1.5 / j.ticks_per_unit <= q <= j.upper + 1.5 / j.ticks_per_unit
        ]
        if outside:
            raise ArmError(
                "joints outside their limits: " + "; ".join(outside) + " (move them inside "
                "by hand with torque off, then activate again)"
            )
        goals = dict(zip(self.config.servo_ids, state.ticks, strict=True))
        self.bus.sync_write("Goal_Position", goals)
        # Read back: a sync write has no answer, and torque on a stale goal is a jump.
        for joint in self.config.joints:
            goal = self.bus.read(joint.servo_id, "Goal_Position")
            if goal != goals[joint.servo_id]:
                raise ArmError(
                    f"servo {joint.servo_id} ({joint.name}) kept goal {goal}, "
                    f"not its present position {goals[joint.servo_id]}"
                )
        self.last_goal_ticks = goals
        self.lost_reason = None
        self.consecutive_errors = 0
        return state

    # --- cyclic --------------------------------------------------------------------------
    def read(self) -> ArmState:
        """Positions and velocities of every joint (one sync read). BusError on failure,
        counted toward losing the bus."""
        try:
            values = self.bus.sync_read(_STATE_REGISTERS, self.config.servo_ids)
        except BusError as error:
            self._failed(error)
            raise
        self.consecutive_errors = 0
        joints = self.config.joints
        ticks = tuple(values[j.servo_id]["Present_Position"] for j in joints)
        state = ArmState(
            positions=np.array([j.from_ticks(t) for j, t in zip(joints, ticks, strict=True)]),
            velocities=np.array(
                [j.velocity_from_units(values[j.servo_id]["Present_Velocity"]) for j in joints]
            ),
            ticks=ticks,
        )
        self.last_state = state
        return state

    def command(self, positions: Sequence[float]) -> dict[int, int] | None:
        """Send goal positions (clamped to the limits); returns the ticks written, or None
        when the bus is lost (nothing is sent until :meth:`hold_present`)."""
        if self.bus_lost:
            return None
        clamped, _ = self.limits.clamp(np.asarray(positions, dtype=float))
        if not np.all(np.isfinite(clamped)):
            raise ValueError(f"goal positions must be finite, got {list(positions)}")
        goals = self.config.to_ticks(clamped)
        try:
            self.bus.sync_write("Goal_Position", goals)
        except BusError as error:
            self._failed(error)
            raise
        self.last_goal_ticks = goals
        return goals

    def _failed(self, error: BusError) -> None:
        self.consecutive_errors += 1
        self.total_errors += 1
        self.last_error = str(error)
        if self.bus_lost:
            return
        if isinstance(error, PortError):
            self._lose(f"serial port lost: {error}")
        elif self.consecutive_errors >= self.max_consecutive_errors:
            self._lose(f"{self.consecutive_errors} bus errors in a row, last: {error}")

    def _lose(self, reason: str) -> None:
        self.lost_reason = reason
        self.torque_disabled_on_loss = []
        if self.on_bus_lost == "disable_torque" and self.torque_enabled:
            self.torque_enabled = False
            for servo_id in self.config.servo_ids:  # each one that still listens
                try:
                    self.bus.write(servo_id, "Torque_Enable", 0)
                except PortError:
                    break  # nothing listens any more
                except BusError:
                    continue
                self.torque_disabled_on_loss.append(servo_id)
