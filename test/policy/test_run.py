"""A RunPolicy goal's bookkeeping: limits, the first stop reason wins, what succeeded means."""

from __future__ import annotations

import math

import pytest

from lerobot_ros.policy import run
from lerobot_ros.policy.run import GoalError, PolicyRun


def test_a_step_limit_ends_after_exactly_that_many_actions():
    goal = PolicyRun.start("pick", max_steps=3, max_duration_s=0.0, now=10.0)
    for _ in range(2):
        goal.acted()
        assert goal.limit_reached(now=1e9) is None  # no time limit
    goal.acted()
    assert goal.limit_reached(now=10.0) == run.STEP_LIMIT


def test_a_time_limit_counts_from_the_start():
    goal = PolicyRun.start("", max_steps=0, max_duration_s=2.0, now=10.0)
    assert goal.limit_reached(11.9) is None
    assert goal.limit_reached(12.0) == run.TIME_LIMIT


def test_the_first_stop_reason_wins_and_only_limits_succeed():
    goal = PolicyRun.start("", 0, 0.0, 0.0)
    assert goal.stop(run.CANCELED) and not goal.stop(run.PREEMPTED)
    assert goal.stop_reason == run.CANCELED and not goal.succeeded
    finished = PolicyRun.start("", 1, 0.0, 0.0)
    finished.stop(run.STEP_LIMIT)
    assert finished.succeeded


@pytest.mark.parametrize("duration", [-1.0, math.nan, math.inf])
def test_a_bad_duration_is_refused(duration):
    with pytest.raises(GoalError, match="max_duration_s must be >= 0 s"):
        PolicyRun.start("", 0, duration, 0.0)
