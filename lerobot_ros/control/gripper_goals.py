"""Judge a GripperCommand goal: move one finger joint to a position, report reached/stalled.

Plain Python and NumPy, no ROS (the action server is lerobot_ros/ros/trajectory_action.py).
``position`` is the commanded joint's position (for the Panda, panda_finger_joint1 in m:
0 closed, 0.04 open), as ros2_control's gripper action controller reads it. A target beyond
the joint's travel is clamped to it; the finger moves there at its velocity limit, as one
trajectory segment, so an arm trajectory running at the same time is not disturbed.

The goal ends when the finger is within ``position_tolerance`` of the target (reached), or
has stopped short of it for ``stall_time`` once its motion should be over (stalled: it holds
an object, or is blocked), or after ``settle_timeout`` more. A stall succeeds when
``allow_stalling`` (grasping *is* stalling on the object), else aborts.

``max_effort`` cannot be applied by a position servo with a fixed force limit (the sim's
finger servo; a servo's current limit on hardware): it is accepted and not enforced; the
reported ``effort`` is the measured one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lerobot_ros.control.joint_commands import JointLimits, JointTrajectoryPlan, TrajectoryPoint
from lerobot_ros.control.trajectory_goals import MotionSegment


@dataclass(frozen=True)
class GripperSettings:
    joint: str
    position_tolerance: float = 0.002  # m (rad for a revolute gripper joint)
    stall_velocity: float = 0.002  # below this speed the finger counts as stopped
    stall_time: float = 0.3  # s stopped short of the target before it counts as stalled
    settle_timeout: float = 3.0  # s after the planned motion before the goal gives up
    allow_stalling: bool = True

    def __post_init__(self) -> None:
        values = (self.position_tolerance, self.stall_velocity, self.stall_time)
        if min(*values, self.settle_timeout) <= 0:
            raise ValueError("gripper tolerances and times must be > 0")


@dataclass(frozen=True)
class GripperOutcome:
    succeeded: bool
    position: float
    effort: float
    stalled: bool
    reached_goal: bool
    message: str


class GripperMonitor:
    """One gripper goal: its motion segment and, each tick, whether it is over."""

    def __init__(
        self,
        settings: GripperSettings,
        requested_position: float,
        limits: JointLimits,
        current_target: np.ndarray,
        now: float,
        velocity_limit: float,
    ) -> None:
        if not math.isfinite(requested_position):
            raise ValueError(f"gripper position must be finite, got {requested_position}")
        if settings.joint not in limits.names:
            raise ValueError(f"gripper joint {settings.joint!r} is not one of {limits.names}")
        if not velocity_limit > 0:
            raise ValueError(f"gripper velocity limit must be > 0, got {velocity_limit}")
        self.settings = settings
        self.column = limits.names.index(settings.joint)
        lower, upper = limits.lower[self.column], limits.upper[self.column]
        self.requested = float(requested_position)
        self.target = float(np.clip(self.requested, lower, upper))
        self.clamped = self.target != self.requested
        start = float(np.asarray(current_target, dtype=float)[self.column])
        duration = max(abs(self.target - start) / velocity_limit, 1e-3)
        self.start_time = now
        self.end_time = now + duration
        self.plan = JointTrajectoryPlan(
            [settings.joint],
            [TrajectoryPoint(duration, [self.target])],
            limits,
            now,
            current_target,
        )
        self._still_since: float | None = None

    @property
    def segment(self) -> MotionSegment:
        return MotionSegment((self.settings.joint,), (self.column,), self.plan, (self.end_time,))

    def reached(self, position: float) -> bool:
        return abs(position - self.target) <= self.settings.position_tolerance

    def check(
        self, now: float, position: float, velocity: float, effort: float
    ) -> GripperOutcome | None:
        """The outcome once the goal is over, else None (finger position/velocity/effort)."""
        if self.reached(position):
            return GripperOutcome(True, position, effort, False, True, f"reached {self.target:.4f}")
        if now < self.end_time:
            return None
        if abs(velocity) >= self.settings.stall_velocity:
            self._still_since = None
        elif self._still_since is None:
            self._still_since = now
        if self._still_since is not None and now - self._still_since >= self.settings.stall_time:
            return GripperOutcome(
                self.settings.allow_stalling,
                position,
                effort,
                True,
                False,
                f"stalled at {position:.4f}, {abs(position - self.target):.4f} short of "
                f"{self.target:.4f}",
            )
        if now > self.end_time + self.settings.settle_timeout:
            return GripperOutcome(
                False,
                position,
                effort,
                False,
                False,
                f"still moving at {position:.4f}, {self.settings.settle_timeout:g} s after it "
                f"should have reached {self.target:.4f}",
            )
        return None
