"""One RunPolicy goal's bookkeeping: its task, its limits, and when it has to stop.

Plain Python (policy_node serves the action and calls it), so the rules are tested without
ROS. Reasons are the action's ``stop_reason`` values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

STEP_LIMIT = "step_limit"
TIME_LIMIT = "time_limit"
CANCELED = "canceled"
PREEMPTED = "preempted"
DEACTIVATED = "deactivated"
ESTOPPED = "estopped"
# Reasons after which the goal succeeded: it ran as long as it was asked to.
FINISHED = (STEP_LIMIT, TIME_LIMIT)


class GoalError(ValueError):
    """The goal cannot run as asked; the message says why."""


@dataclass
class PolicyRun:
    """A running goal: ``acted()`` after each published action, ``limit_reached(now)`` to
    see whether it has to stop (times in seconds of the graph clock)."""

    task: str
    max_steps: int
    max_duration_s: float
    started_at: float
    steps: int = 0
    stop_reason: str | None = None

    @classmethod
    def start(cls, task: str, max_steps: int, max_duration_s: float, now: float) -> PolicyRun:
        if not math.isfinite(max_duration_s) or max_duration_s < 0:
            raise GoalError(f"max_duration_s must be >= 0 s (0: no limit), got {max_duration_s}")
        return cls(task, int(max_steps), float(max_duration_s), now)

    def acted(self) -> None:
        self.steps += 1

    def limit_reached(self, now: float) -> str | None:
        if self.max_steps and self.steps >= self.max_steps:
            return STEP_LIMIT
        if self.max_duration_s and now - self.started_at >= self.max_duration_s:
            return TIME_LIMIT
        return None

    def stop(self, reason: str) -> bool:
        """Mark it stopped (the first reason wins); True if this call stopped it."""
        if self.stop_reason is not None:
            return False
        self.stop_reason = reason
        return True

    @property
    def succeeded(self) -> bool:
        return self.stop_reason in FINISHED
