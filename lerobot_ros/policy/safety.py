"""The safety layer between a policy (or a teleoperator) and the robot.

Plain NumPy. Every action passes through ``SafetyLayer.filter`` before it is published:
non-finite actions are refused, the rest are clamped to the joint limits and, with
``max_relative_target``, to a bounded step away from the measured position (LeRobot's
robots do the same in ``send_action``). An engaged e-stop refuses everything until released.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lerobot_ros.control.joint_commands import JointLimits


@dataclass(frozen=True)
class Filtered:
    """What the layer let through (None: nothing may be sent) and why it changed it."""

    action: np.ndarray | None
    clamped: bool
    reason: str = ""


class SafetyLayer:
    def __init__(
        self, limits: JointLimits, max_relative_target: float | np.ndarray | None = None
    ) -> None:
        if max_relative_target is not None:
            bound = np.broadcast_to(
                np.asarray(max_relative_target, dtype=float), (len(limits.names),)
            )
            if np.any(~np.isfinite(bound)) or np.any(bound <= 0):
                raise ValueError(f"max_relative_target must be > 0, got {max_relative_target}")
            max_relative_target = bound.copy()
        self.limits = limits
        self.max_relative_target = max_relative_target
        self.estopped = False

    def engage_estop(self) -> None:
        self.estopped = True

    def release_estop(self) -> None:
        self.estopped = False

    def filter(self, action: np.ndarray, measured: np.ndarray | None) -> Filtered:
        if self.estopped:
            return Filtered(None, False, "e-stop engaged")
        action = np.asarray(action, dtype=float)
        if action.shape != (len(self.limits.names),):
            return Filtered(
                None,
                False,
                f"action has shape {action.shape}, expected ({len(self.limits.names)},)",
            )
        if not np.all(np.isfinite(action)):
            return Filtered(None, False, "action contains NaN or inf")
        safe, clamped = self.limits.clamp(action)
        if self.max_relative_target is not None and measured is not None:
            measured = np.asarray(measured, dtype=float)
            if measured.shape != safe.shape or not np.all(np.isfinite(measured)):
                return Filtered(
                    None,
                    False,
                    f"measured position {measured.tolist()} is not {safe.shape[0]} finite "
                    "values: cannot bound the step",
                )
            low, high = measured - self.max_relative_target, measured + self.max_relative_target
            # The limits win where the joint is farther outside one than the step bound.
            bounded, _ = self.limits.clamp(np.clip(safe, low, high))
            clamped |= bool(np.any(bounded != safe))
            safe = bounded
        return Filtered(safe, clamped, "clamped" if clamped else "")

    def hold(self, measured: np.ndarray) -> np.ndarray:
        """The command that keeps the robot where it is (e-stop, deactivation)."""
        measured = np.asarray(measured, dtype=float)
        if not np.all(np.isfinite(measured)):
            raise ValueError(f"cannot hold at a non-finite position {measured.tolist()}")
        held, _ = self.limits.clamp(measured)
        return held
