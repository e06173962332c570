import numpy as np
import pytest

from lerobot_ros.control.joint_commands import (
    CommandError,
    JointCommandArbiter,
    JointLimits,
    TrajectoryPoint,
    validate_position_command,
)

NAMES = ("a", "b", "c")
LIMITS = JointLimits(NAMES, np.array([-1.0, -1.0, 0.0]), np.array([1.0, 1.0, 0.04]))


def make_arbiter(timeout=0.5):
    return JointCommandArbiter(LIMITS, timeout, np.zeros(3))


def test_position_command_is_clamped_and_reported():
    target, clamped = validate_position_command([2.0, -0.5, 0.1], LIMITS)
    np.testing.assert_allclose(target, [1.0, -0.5, 0.04])
    assert clamped
    _, clamped = validate_position_command([0.1, 0.2, 0.01], LIMITS)
    assert not clamped


@pytest.mark.parametrize(
    "values, message",
    [
        ([0.0, 0.0], "has 2 values, expected 3"),
        ([0.0, np.nan, 0.0], "NaN"),
        ([np.inf, 0, 0], "NaN or inf"),
    ],
)
def test_bad_position_commands_are_rejected(values, message):
    with pytest.raises(CommandError, match=message):
        validate_position_command(values, LIMITS)


def test_rejected_command_changes_nothing():
    arbiter = make_arbiter()
    arbiter.command_positions([0.5, 0.5, 0.02], now=0.0)
    with pytest.raises(CommandError):
        arbiter.command_positions([np.nan, 0.0, 0.0], now=0.1)
    np.testing.assert_allclose(arbiter.update(0.1, np.zeros(3)), [0.5, 0.5, 0.02])


def test_stale_position_command_holds_measured_position():
    arbiter = make_arbiter(timeout=0.5)
    arbiter.command_positions([0.5, 0.5, 0.02], now=0.0)
    np.testing.assert_allclose(arbiter.update(0.4, np.array([0.3, 0.3, 0.01])), [0.5, 0.5, 0.02])
    held = arbiter.update(0.6, np.array([0.3, 0.3, 0.01]))
    np.testing.assert_allclose(held, [0.3, 0.3, 0.01])
    assert arbiter.holding
    # Holding does not follow the measurement any further (no drift under load).
    np.testing.assert_allclose(arbiter.update(5.0, np.array([0.0, 0.0, 0.0])), [0.3, 0.3, 0.01])


def test_stale_position_command_can_keep_its_target():
    """A gripper squeezing an object measures wider than its goal: it keeps the goal."""
    arbiter = JointCommandArbiter(LIMITS, 0.5, np.zeros(3), hold_measured_on_timeout=False)
    arbiter.command_positions([0.5, 0.5, 0.0], now=0.0)
    held = arbiter.update(0.6, np.array([0.3, 0.3, 0.02]))
    np.testing.assert_allclose(held, [0.5, 0.5, 0.0])
    assert arbiter.holding
    np.testing.assert_allclose(arbiter.update(5.0, None), [0.5, 0.5, 0.0])


def test_trajectory_is_interpolated_in_time_from_current_target():
    arbiter = make_arbiter()
    plan = arbiter.command_trajectory(
        ["a", "c"], [TrajectoryPoint(1.0, [1.0, 0.04]), TrajectoryPoint(2.0, [0.0, 0.0])], now=10.0
    )
    assert plan.end_time == pytest.approx(12.0)
    np.testing.assert_allclose(arbiter.update(10.5, np.zeros(3)), [0.5, 0.0, 0.02])
    np.testing.assert_allclose(arbiter.update(11.0, np.zeros(3)), [1.0, 0.0, 0.04])
    np.testing.assert_allclose(arbiter.update(11.5, np.zeros(3)), [0.5, 0.0, 0.02])
    # Past the end: the last point is held, even long after the timeout.
    np.testing.assert_allclose(arbiter.update(20.0, np.ones(3)), [0.0, 0.0, 0.0])
    assert arbiter.holding


def test_trajectory_with_future_start_waits():
    arbiter = make_arbiter()
    arbiter.command_trajectory(["a"], [TrajectoryPoint(1.0, [1.0])], now=0.0, start_time=5.0)
    np.testing.assert_allclose(arbiter.update(4.0, np.zeros(3)), [0.0, 0.0, 0.0])
    np.testing.assert_allclose(arbiter.update(5.5, np.zeros(3)), [0.5, 0.0, 0.0])


def test_trajectory_point_at_zero_replaces_start():
    arbiter = make_arbiter()
    arbiter.command_trajectory(
        ["b"], [TrajectoryPoint(0.0, [0.8]), TrajectoryPoint(1.0, [0.0])], now=0.0
    )
    np.testing.assert_allclose(arbiter.update(0.0, np.zeros(3)), [0.0, 0.8, 0.0])


def test_trajectory_clamps_and_reports():
    arbiter = make_arbiter()
    plan = arbiter.command_trajectory(["a"], [TrajectoryPoint(1.0, [5.0])], now=0.0)
    assert plan.clamped
    np.testing.assert_allclose(plan.final_positions, [1.0, 0.0, 0.0])


@pytest.mark.parametrize(
    "names, points, message",
    [
        (["a", "zz"], [TrajectoryPoint(1.0, [0.0, 0.0])], "unknown joints"),
        (["a", "a"], [TrajectoryPoint(1.0, [0.0, 0.0])], "repeats"),
        (["a"], [TrajectoryPoint(1.0, [0.0, 0.0])], "has 2 values"),
        (["a"], [TrajectoryPoint(1.0, [np.nan])], "NaN"),
        (["a"], [TrajectoryPoint(2.0, [0.0]), TrajectoryPoint(1.0, [0.1])], "not after"),
        (["a"], [TrajectoryPoint(-1.0, [0.0])], "invalid time"),
    ],
)
def test_bad_trajectories_are_rejected_and_change_nothing(names, points, message):
    arbiter = make_arbiter()
    arbiter.command_positions([0.2, 0.2, 0.02], now=0.0)
    with pytest.raises(CommandError, match=message):
        arbiter.command_trajectory(names, points, now=0.1)
    np.testing.assert_allclose(arbiter.update(0.2, np.zeros(3)), [0.2, 0.2, 0.02])


def test_empty_trajectory_cancels_motion_in_progress():
    arbiter = make_arbiter()
    arbiter.command_trajectory(["a"], [TrajectoryPoint(2.0, [1.0])], now=0.0)
    np.testing.assert_allclose(arbiter.update(1.0, np.zeros(3)), [0.5, 0.0, 0.0])
    arbiter.command_trajectory([], [], now=1.0)
    np.testing.assert_allclose(arbiter.update(1.5, np.zeros(3)), [0.5, 0.0, 0.0])
