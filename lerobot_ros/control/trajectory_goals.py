"""Check a FollowJointTrajectory goal against the robot, then judge its execution.

Plain Python and NumPy, no ROS: the action server (lerobot_ros/ros/trajectory_action.py)
converts messages to these types and back. The semantics are control_msgs' (the meaning of
error codes and tolerances) as ros2_control's joint trajectory controller applies them:

* the goal names some or all of the controller's joints; unknown, repeated or multi-DOF
  joints -> INVALID_JOINTS (joints it does not name hold their position);
* no points, times that are negative or do not increase, wrong vector lengths, NaN/inf,
  a position outside the joint limits, a segment faster than the velocity limits, or a
  first point at time 0 far from where the arm is commanded -> INVALID_GOAL. Out-of-limit
  points are rejected, not clamped: silently moving somewhere else than planned would be
  worse for a planner than a clear error naming the joint, the point and the limits;
* a header stamp such that the whole trajectory lies in the past -> OLD_HEADER_TIMESTAMP
  (stamp 0 means "start on receipt"; a stamp in the future makes the arm wait);
* while executing, a joint farther from the planned path than its path tolerance ->
  PATH_TOLERANCE_VIOLATED; after the last point the joints must come within the goal
  tolerance by ``goal_time_tolerance`` -> SUCCESSFUL, else GOAL_TOLERANCE_VIOLATED.

Tolerance values follow control_msgs/JointTolerance: 0 = the server's default, -1 = not
checked, > 0 = the tolerance. Acceleration tolerances are accepted but not checked (no
acceleration is measured). Positions are interpolated linearly between points, as for the
trajectory topic; the points' velocities and accelerations are checked for shape, and the
last point's velocities are the ones the goal tolerance expects at the end (0 if none). Interpolation is :class:`JointTrajectoryPlan`'s; several plans
(arm and gripper goals running at once) are merged into one trajectory for the
:class:`JointCommandArbiter` by :func:`merge_segments`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from lerobot_ros.control.joint_commands import JointLimits, JointTrajectoryPlan, TrajectoryPoint

# Positions this close outside a limit are accepted (rounding in planners); the arbiter clamps.
LIMIT_EPSILON = 1e-6
UNCHECKED = math.inf


class ErrorCode(IntEnum):
    """control_msgs/action/FollowJointTrajectory result codes (same values)."""

    SUCCESSFUL = 0
    INVALID_GOAL = -1
    INVALID_JOINTS = -2
    OLD_HEADER_TIMESTAMP = -3
    PATH_TOLERANCE_VIOLATED = -4
    GOAL_TOLERANCE_VIOLATED = -5


class GoalRejected(ValueError):
    """A goal that cannot be executed: ``code`` for the result, the message for error_string."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class JointTolerance:
    """One entry of a goal's path_tolerance or goal_tolerance (0 = default, -1 = none)."""

    name: str
    position: float = 0.0
    velocity: float = 0.0
    acceleration: float = 0.0


@dataclass(frozen=True)
class GoalPoint:
    time_from_start: float
    positions: Sequence[float]
    velocities: Sequence[float] = ()
    accelerations: Sequence[float] = ()


@dataclass(frozen=True)
class TrajectoryGoal:
    """The parts of a FollowJointTrajectory goal this controller uses (times in seconds)."""

    joint_names: Sequence[str]
    points: Sequence[GoalPoint]
    stamp: float = 0.0  # trajectory header stamp; 0 = start when received
    path_tolerance: Sequence[JointTolerance] = ()
    goal_tolerance: Sequence[JointTolerance] = ()
    goal_time_tolerance: float = 0.0  # 0 = the server's default
    # Names from multi_dof_trajectory and the component tolerances: unsupported here.
    multi_dof_joint_names: Sequence[str] = ()


@dataclass(frozen=True)
class TrajectorySettings:
    """The controller's joints and the tolerances that a goal's zeros stand for.

    Defaults: the path is not checked (the servos lag a planned path by a few control
    periods, and a planner rarely knows by how much), the goal must be reached within
    0.02 rad, at most 1 s after the trajectory's end.
    """

    joints: tuple[str, ...]
    path_position: float = UNCHECKED
    path_velocity: float = UNCHECKED
    goal_position: float = 0.02
    goal_velocity: float = UNCHECKED
    goal_time: float = 1.0
    # A first point at time 0 replaces the current target at once: only if this close to it.
    start_tolerance: float = 0.05

    def __post_init__(self) -> None:
        if not self.joints or len(set(self.joints)) != len(self.joints):
            raise ValueError(f"controller joints must be non-empty and distinct: {self.joints}")
        tolerances = (self.path_position, self.path_velocity, self.goal_position)
        if min(*tolerances, self.goal_velocity, self.goal_time, self.start_tolerance) <= 0:
            raise ValueError("default tolerances, goal_time and start_tolerance must be > 0")


@dataclass(frozen=True)
class Tolerances:
    """Resolved per-joint tolerances in the goal's joint order; inf = not checked."""

    position: np.ndarray
    velocity: np.ndarray


@dataclass(frozen=True)
class AcceptedGoal:
    joint_names: tuple[str, ...]
    columns: tuple[int, ...]  # index of each goal joint in the arbiter's joint vector
    points: tuple[TrajectoryPoint, ...]
    start_time: float
    path: Tolerances
    goal: Tolerances
    goal_time_tolerance: float
    final_velocities: np.ndarray

    @property
    def end_time(self) -> float:
        return self.start_time + float(self.points[-1].time_from_start)

    @property
    def final_positions(self) -> np.ndarray:
        return np.asarray(self.points[-1].positions, dtype=float)


@dataclass(frozen=True)
class Outcome:
    """How a goal ended: the result's error code and error string."""

    code: ErrorCode
    message: str

    @property
    def succeeded(self) -> bool:
        return self.code == ErrorCode.SUCCESSFUL


def _vector(values: Sequence[float], length: int, what: str, allow_empty: bool) -> np.ndarray:
    array = np.asarray(values, dtype=float).reshape(-1)
    if allow_empty and array.size == 0:
        return array
    if array.size != length:
        raise GoalRejected(
            ErrorCode.INVALID_GOAL, f"{what} has {array.size} values for {length} joints"
        )
    if not np.all(np.isfinite(array)):
        raise GoalRejected(ErrorCode.INVALID_GOAL, f"{what} contains NaN or inf: {array.tolist()}")
    return array


def _resolve_tolerances(
    entries: Sequence[JointTolerance],
    joint_names: Sequence[str],
    controller_joints: Sequence[str],
    default_position: float,
    default_velocity: float,
    what: str,
) -> Tolerances:
    position = np.full(len(joint_names), default_position)
    velocity = np.full(len(joint_names), default_velocity)
    index = {name: i for i, name in enumerate(joint_names)}
    for entry in entries:
        if entry.name not in controller_joints:
            raise GoalRejected(
                ErrorCode.INVALID_JOINTS,
                f"{what} names joint {entry.name!r}, which this controller does not have "
                f"(its joints: {list(controller_joints)})",
            )
        for field in ("position", "velocity", "acceleration"):
            value = float(getattr(entry, field))
            if not (value >= 0.0 or value == -1.0):  # also rejects NaN
                raise GoalRejected(
                    ErrorCode.INVALID_GOAL,
                    f"{what} {field} of {entry.name} is {value}: a tolerance is > 0, "
                    "0 (the default) or -1 (not checked)",
                )
        if entry.name not in index:
            continue  # a tolerance for a joint this goal does not move
        i = index[entry.name]
        for array, value in ((position, entry.position), (velocity, entry.velocity)):
            if value == -1.0:
                array[i] = UNCHECKED
            elif value > 0.0:
                array[i] = value
    return Tolerances(position, velocity)


def validate_trajectory_goal(
    goal: TrajectoryGoal,
    settings: TrajectorySettings,
    limits: JointLimits,
    current_target: np.ndarray,
    now: float,
    velocity_limits: np.ndarray | None = None,
) -> AcceptedGoal:
    """Check ``goal`` against the controller; GoalRejected (code, message) if it cannot run.

    ``current_target`` is the arbiter's target (all joints, ``limits`` order), where the
    trajectory starts from; ``velocity_limits`` (same order) enables the speed check.
    """
    if goal.multi_dof_joint_names:
        raise GoalRejected(
            ErrorCode.INVALID_JOINTS,
            f"multi-DOF joints {list(goal.multi_dof_joint_names)} are not supported; this "
            f"controller moves the single-DOF joints {list(settings.joints)}",
        )
    names = tuple(goal.joint_names)
    if not names:
        raise GoalRejected(
            ErrorCode.INVALID_JOINTS,
            f"the trajectory names no joints (this controller has {list(settings.joints)})",
        )
    unknown = [name for name in names if name not in settings.joints]
    if unknown:
        raise GoalRejected(
            ErrorCode.INVALID_JOINTS,
            f"the trajectory names joints {unknown} that this controller does not have "
            f"(its joints: {list(settings.joints)})",
        )
    if len(set(names)) != len(names):
        raise GoalRejected(
            ErrorCode.INVALID_JOINTS, f"the trajectory repeats joint names: {list(names)}"
        )
    if not goal.points:
        raise GoalRejected(ErrorCode.INVALID_GOAL, "the trajectory has no points")

    columns = tuple(limits.names.index(name) for name in names)
    lower, upper = np.asarray(limits.lower)[list(columns)], np.asarray(limits.upper)[list(columns)]
    start = np.asarray(current_target, dtype=float)[list(columns)]
    points: list[TrajectoryPoint] = []
    previous_time, previous_positions = 0.0, start
    for number, point in enumerate(goal.points):
        t = float(point.time_from_start)
        if not math.isfinite(t) or t < 0.0:
            raise GoalRejected(
                ErrorCode.INVALID_GOAL, f"point {number} has time_from_start {t} s (must be >= 0)"
            )
        if number > 0 and t <= previous_time:
            raise GoalRejected(
                ErrorCode.INVALID_GOAL,
                f"point {number} time_from_start {t:g} s is not after point {number - 1}'s "
                f"{previous_time:g} s (times must increase)",
            )
        positions = _vector(point.positions, len(names), f"point {number} positions", False)
        velocities = _vector(point.velocities, len(names), f"point {number} velocities", True)
        _vector(point.accelerations, len(names), f"point {number} accelerations", True)
        outside = np.flatnonzero(
            (positions < lower - LIMIT_EPSILON) | (positions > upper + LIMIT_EPSILON)
        )
        if outside.size:
            j = int(outside[0])
            raise GoalRejected(
                ErrorCode.INVALID_GOAL,
                f"point {number}: {names[j]} = {positions[j]:.4f} is outside its limits "
                f"[{lower[j]:.4f}, {upper[j]:.4f}]",
            )
        if number == 0 and t == 0.0:
            jump = np.abs(positions - start)
            if jump.max() > settings.start_tolerance:
                j = int(np.argmax(jump))
                raise GoalRejected(
                    ErrorCode.INVALID_GOAL,
                    f"point 0 is at time 0 but {names[j]} is {jump[j]:.3f} away from its current "
                    f"target (more than {settings.start_tolerance:g}): give the first point a "
                    "time_from_start > 0 so the arm can get there",
                )
        elif velocity_limits is not None:
            speed = np.abs(positions - previous_positions) / (t - previous_time)
            limit = np.asarray(velocity_limits, dtype=float)[list(columns)]
            too_fast = np.flatnonzero(speed > limit * (1.0 + 1e-6))
            if too_fast.size:
                j = int(too_fast[0])
                where = "from the current position" if number == 0 else f"from point {number - 1}"
                raise GoalRejected(
                    ErrorCode.INVALID_GOAL,
                    f"point {number}: {names[j]} would move at {speed[j]:.3f}/s {where}, above "
                    f"its velocity limit {limit[j]:.3f}/s",
                )
        points.append(TrajectoryPoint(t, np.clip(positions, lower, upper).tolist()))
        previous_time, previous_positions = t, positions
    # The arm should come to rest at the last point unless the goal gives its velocity.
    final_velocities = velocities if velocities.size else np.zeros(len(names))

    stamp = float(goal.stamp)
    start_time = now if stamp <= 0.0 else stamp
    end_time = start_time + previous_time
    if stamp > 0.0 and end_time < now:
        raise GoalRejected(
            ErrorCode.OLD_HEADER_TIMESTAMP,
            f"the trajectory ended {now - end_time:.3f} s ago (header stamp {stamp:.3f} s + "
            f"{previous_time:g} s < now {now:.3f} s)",
        )

    goal_time = float(goal.goal_time_tolerance)
    if not math.isfinite(goal_time) or goal_time < 0.0:
        raise GoalRejected(
            ErrorCode.INVALID_GOAL, f"goal_time_tolerance is {goal_time} s (must be >= 0)"
        )
    path = _resolve_tolerances(
        goal.path_tolerance,
        names,
        settings.joints,
        settings.path_position,
        settings.path_velocity,
        "path_tolerance",
    )
    final = _resolve_tolerances(
        goal.goal_tolerance,
        names,
        settings.joints,
        settings.goal_position,
        settings.goal_velocity,
        "goal_tolerance",
    )
    return AcceptedGoal(
        joint_names=names,
        columns=columns,
        points=tuple(points),
        start_time=start_time,
        path=path,
        goal=final,
        goal_time_tolerance=goal_time if goal_time > 0.0 else settings.goal_time,
        final_velocities=final_velocities,
    )


@dataclass(frozen=True)
class MotionSegment:
    """A plan for some joints, with the absolute times of its points (for merging)."""

    joint_names: tuple[str, ...]
    columns: tuple[int, ...]
    plan: JointTrajectoryPlan
    breakpoints: tuple[float, ...]


def merge_segments(
    segments: Sequence[MotionSegment], now: float
) -> tuple[list[str], list[TrajectoryPoint]]:
    """One trajectory (names, points relative to ``now``) that moves every segment's joints
    along its own plan from ``now`` on; segments already over are left out.

    Each plan is piecewise linear, so sampling all of them at the union of their remaining
    points reproduces every one exactly under the arbiter's linear interpolation.
    """
    active = [s for s in segments if s.breakpoints and s.breakpoints[-1] > now]
    names = [name for s in active for name in s.joint_names]
    if len(set(names)) != len(names):
        raise ValueError(f"segments overlap in joints: {names}")
    times = sorted({t for s in active for t in s.breakpoints if t > now})
    points = []
    for t in times:
        values = np.concatenate([s.plan.sample(t)[list(s.columns)] for s in active])
        points.append(TrajectoryPoint(t - now, values.tolist()))
    return names, points


class TrajectoryMonitor:
    """Follows one accepted goal: the planned path, tolerance checks and the outcome."""

    # Half-width of the central difference that gives the plan's velocity.
    _VELOCITY_STEP = 1e-4

    def __init__(self, goal: AcceptedGoal, limits: JointLimits, start_positions: np.ndarray):
        self.goal = goal
        self.plan = JointTrajectoryPlan(
            goal.joint_names, goal.points, limits, goal.start_time, start_positions
        )
        self._columns = list(goal.columns)

    @property
    def segment(self) -> MotionSegment:
        breakpoints = tuple(self.goal.start_time + p.time_from_start for p in self.goal.points)
        return MotionSegment(self.goal.joint_names, self.goal.columns, self.plan, breakpoints)

    def desired(self, now: float) -> tuple[np.ndarray, np.ndarray]:
        """Planned positions and velocities of the goal's joints at ``now``."""
        h = self._VELOCITY_STEP
        positions = self.plan.sample(now)[self._columns]
        if now >= self.goal.end_time:
            return positions, np.zeros(len(self._columns))
        slope = (self.plan.sample(now + h) - self.plan.sample(now - h)) / (2 * h)
        return positions, slope[self._columns]

    def next_point_index(self, now: float) -> int:
        """Index of the goal point the joints are moving toward (the last once over)."""
        elapsed = now - self.goal.start_time
        for index, point in enumerate(self.goal.points):
            if point.time_from_start > elapsed:
                return index
        return len(self.goal.points) - 1

    def check(self, now: float, positions: np.ndarray, velocities: np.ndarray) -> Outcome | None:
        """The outcome once the goal is over, else None. Arrays are full joint vectors."""
        goal = self.goal
        actual = np.asarray(positions, dtype=float)[self._columns]
        speed = np.asarray(velocities, dtype=float)[self._columns]
        if now < goal.start_time:
            return None  # a stamp in the future: the arm waits for it
        if now < goal.end_time:
            desired, desired_speed = self.desired(now)
            for what, error, tolerance in (
                ("position", np.abs(actual - desired), goal.path.position),
                ("velocity", np.abs(speed - desired_speed), goal.path.velocity),
            ):
                violated = np.flatnonzero(error > tolerance)
                if violated.size:
                    j = int(violated[np.argmax(error[violated] - tolerance[violated])])
                    return Outcome(
                        ErrorCode.PATH_TOLERANCE_VIOLATED,
                        f"{goal.joint_names[j]} {what} is {error[j]:.4f} off the planned path "
                        f"{now - goal.start_time:.2f} s into the trajectory (path tolerance "
                        f"{tolerance[j]:g})",
                    )
            return None
        position_error = np.abs(actual - goal.final_positions)
        velocity_error = np.abs(speed - goal.final_velocities)
        within = np.all(position_error <= goal.goal.position) and np.all(
            velocity_error <= goal.goal.velocity
        )
        if within:
            worst = float(position_error.max())
            return Outcome(
                ErrorCode.SUCCESSFUL,
                f"reached the goal {now - goal.end_time:.2f} s after the trajectory's end "
                f"(largest position error {worst:.4f})",
            )
        if now <= goal.end_time + goal.goal_time_tolerance:
            return None
        for what, error, tolerance in (
            ("position", position_error, goal.goal.position),
            ("velocity", velocity_error, goal.goal.velocity),
        ):
            violated = np.flatnonzero(error > tolerance)
            if violated.size:
                j = int(violated[np.argmax(error[violated] - tolerance[violated])])
                return Outcome(
                    ErrorCode.GOAL_TOLERANCE_VIOLATED,
                    f"{goal.joint_names[j]} {what} is {error[j]:.4f} from the goal "
                    f"{goal.goal_time_tolerance:g} s after the trajectory's end (goal "
                    f"tolerance {tolerance[j]:g})",
                )
        raise AssertionError("unreachable: not within tolerance but nothing violated")
