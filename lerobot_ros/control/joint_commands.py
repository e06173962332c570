"""Validate joint commands and decide, each control tick, which target the joints get.

Plain Python and NumPy, no ROS: the sim node and the hardware drivers wrap it, and it is
unit-tested alone. Semantics follow ros2_control's forward position controller and joint
trajectory controller where they apply:

* a position command sets all joints at once; values outside the limits are clamped;
* a trajectory is interpolated linearly in time from the current target; joints it does not
  name keep their target; an empty trajectory cancels the one running;
* NaN/inf, wrong lengths, unknown or repeated joint names and non-increasing times are
  rejected with ``CommandError`` and change nothing;
* when the newest position command is older than the timeout, the joints hold the position
  they had measured at that moment, so a dead commander never leaves the arm chasing an old
  target (or, with ``hold_measured_on_timeout=False``, keep the last target: a gripper
  squeezing an object stays closed); a finished trajectory holds its last point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


class CommandError(ValueError):
    """A command that cannot be executed; the message says why."""


@dataclass(frozen=True)
class JointLimits:
    """Position limits of the commanded joints, in their order."""

    names: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray

    def __post_init__(self) -> None:
        if not (len(self.names) == len(self.lower) == len(self.upper)):
            raise ValueError("names, lower and upper must have the same length")
        if np.any(np.asarray(self.lower) > np.asarray(self.upper)):
            raise ValueError("a lower limit is above its upper limit")

    def clamp(self, positions: np.ndarray) -> tuple[np.ndarray, bool]:
        """Clamp to the limits; also say whether anything was changed."""
        clamped = np.clip(positions, self.lower, self.upper)
        return clamped, bool(np.any(clamped != positions))


def _finite_vector(values: Sequence[float], expected_length: int, what: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.shape[0] != expected_length:
        raise CommandError(f"{what} has {array.size} values, expected {expected_length}")
    if not np.all(np.isfinite(array)):
        raise CommandError(f"{what} contains NaN or inf: {array.tolist()}")
    return array


def validate_position_command(
    values: Sequence[float], limits: JointLimits
) -> tuple[np.ndarray, bool]:
    """Check a full position command; return it clamped and whether clamping happened."""
    return limits.clamp(_finite_vector(values, len(limits.names), "position command"))


@dataclass(frozen=True)
class TrajectoryPoint:
    time_from_start: float
    positions: Sequence[float]


class JointTrajectoryPlan:
    """A trajectory resolved to full joint vectors, sampled by time."""

    def __init__(
        self,
        joint_names: Sequence[str],
        points: Sequence[TrajectoryPoint],
        limits: JointLimits,
        start_time: float,
        start_positions: np.ndarray,
    ) -> None:
        index = {name: i for i, name in enumerate(limits.names)}
        unknown = [name for name in joint_names if name not in index]
        if unknown:
            raise CommandError(
                f"trajectory names unknown joints {unknown}; known: {list(limits.names)}"
            )
        if len(set(joint_names)) != len(joint_names):
            raise CommandError(f"trajectory repeats joint names: {list(joint_names)}")
        if not points:
            raise CommandError("trajectory has no points")
        columns = [index[name] for name in joint_names]
        times = [0.0]
        waypoints = [np.asarray(start_positions, dtype=float).copy()]
        self.clamped = False
        for number, point in enumerate(points):
            t = float(point.time_from_start)
            if not np.isfinite(t) or t < 0.0:
                raise CommandError(f"point {number} has an invalid time_from_start {t}")
            if t <= times[-1] and not (number == 0 and t == 0.0):
                raise CommandError(
                    f"point {number} time_from_start {t} is not after the previous point"
                )
            partial = _finite_vector(point.positions, len(columns), f"point {number} positions")
            full = waypoints[-1].copy()
            full[columns] = partial
            full, clamped = limits.clamp(full)
            self.clamped |= clamped
            if number == 0 and t == 0.0:
                waypoints[0] = full  # a point at t=0 replaces the start: jump there at once
            else:
                times.append(t)
                waypoints.append(full)
        self.start_time = start_time
        self._times = np.asarray(times)
        self._waypoints = np.stack(waypoints)

    @property
    def end_time(self) -> float:
        return self.start_time + float(self._times[-1])

    @property
    def final_positions(self) -> np.ndarray:
        return self._waypoints[-1].copy()

    def sample(self, now: float) -> np.ndarray:
        """Target at time ``now`` (linear between waypoints, held at both ends)."""
        t = now - self.start_time
        return np.array([np.interp(t, self._times, column) for column in self._waypoints.T])


class JointCommandArbiter:
    """Holds the newest command and yields the joint target for each control tick."""

    def __init__(
        self,
        limits: JointLimits,
        timeout: float,
        initial_target: np.ndarray,
        hold_measured_on_timeout: bool = True,
    ) -> None:
        if not timeout > 0.0:
            raise ValueError(f"command timeout must be > 0 s, got {timeout}")
        self.limits = limits
        self.timeout = timeout
        self.hold_measured_on_timeout = hold_measured_on_timeout
        self.reset(initial_target)

    def reset(self, target: np.ndarray) -> None:
        """Forget every command and hold ``target``."""
        self._target = np.asarray(target, dtype=float).copy()
        self._trajectory: JointTrajectoryPlan | None = None
        self._command_time: float | None = None
        self.holding = True

    @property
    def target(self) -> np.ndarray:
        return self._target.copy()

    def command_positions(self, values: Sequence[float], now: float) -> bool:
        """Accept a position command; returns whether it was clamped. Raises CommandError."""
        target, clamped = validate_position_command(values, self.limits)
        self._trajectory = None
        self._target = target
        self._command_time = now
        self.holding = False
        return clamped

    def command_trajectory(
        self,
        joint_names: Sequence[str],
        points: Sequence[TrajectoryPoint],
        now: float,
        start_time: float | None = None,
    ) -> JointTrajectoryPlan | None:
        """Accept a trajectory (None or no points: cancel the running one)."""
        if not points:
            if joint_names and any(name not in self.limits.names for name in joint_names):
                raise CommandError(f"trajectory names unknown joints {list(joint_names)}")
            self._trajectory = None  # stop at the target reached so far
            self._command_time = now
            self.holding = True
            return None
        start = now if start_time is None or start_time <= 0.0 else start_time
        plan = JointTrajectoryPlan(joint_names, points, self.limits, start, self._target)
        self._trajectory = plan
        self._command_time = now
        self.holding = False
        return plan

    def update(self, now: float, measured_positions: np.ndarray | None) -> np.ndarray:
        """Target for this tick; on timeout switches to holding ``measured_positions`` (or the
        last target, when so configured or nothing was measured)."""
        if self.holding:
            return self._target.copy()
        if self._trajectory is not None:
            self._target = self._trajectory.sample(now)
            if now > self._trajectory.end_time:
                # Finished, as ros2_control's trajectory controller: hold the last point.
                self._trajectory = None
                self.holding = True
        elif self._command_time is not None and now - self._command_time > self.timeout:
            # The commander went quiet mid-motion: stop where the arm is, not at an old target.
            if self.hold_measured_on_timeout and measured_positions is not None:
                self._target, _ = self.limits.clamp(np.asarray(measured_positions, dtype=float))
            self.holding = True
        return self._target.copy()
