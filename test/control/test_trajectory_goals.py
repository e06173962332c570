import math

import numpy as np
import pytest

from lerobot_ros.control.gripper_goals import GripperMonitor, GripperSettings
from lerobot_ros.control.joint_commands import JointCommandArbiter, JointLimits
from lerobot_ros.control.trajectory_goals import (
    ErrorCode,
    GoalPoint,
    GoalRejected,
    JointTolerance,
    TrajectoryGoal,
    TrajectoryMonitor,
    TrajectorySettings,
    merge_segments,
    validate_trajectory_goal,
)

# Two arm joints and a finger, as the Panda's 7 + 1 in miniature.
NAMES = ("a", "b", "finger")
LIMITS = JointLimits(NAMES, np.array([-1.0, -2.0, 0.0]), np.array([1.0, 2.0, 0.04]))
VELOCITY_LIMITS = np.array([1.0, 1.0, 0.1])
ARM = TrajectorySettings(("a", "b"))
START = np.array([0.0, 0.0, 0.04])
NOW = 100.0


def goal(points, names=("a", "b"), **kwargs) -> TrajectoryGoal:
    return TrajectoryGoal(
        joint_names=names, points=[GoalPoint(t, list(q)) for t, q in points], **kwargs
    )


def validate(g: TrajectoryGoal, settings=ARM, now=NOW):
    return validate_trajectory_goal(g, settings, LIMITS, START, now, VELOCITY_LIMITS)


def rejected(g: TrajectoryGoal, now=NOW) -> GoalRejected:
    with pytest.raises(GoalRejected) as info:
        validate(g, now=now)
    return info.value


def test_valid_goal_is_resolved_against_the_robot():
    accepted = validate(goal([(1.0, (0.5, -0.5)), (2.0, (0.8, -1.0))]))
    assert accepted.joint_names == ("a", "b") and accepted.columns == (0, 1)
    assert accepted.start_time == NOW and accepted.end_time == NOW + 2.0
    np.testing.assert_allclose(accepted.final_positions, [0.8, -1.0])
    np.testing.assert_allclose(accepted.final_velocities, [0.0, 0.0])
    # Defaults: path unchecked, goal within 0.02, 1 s of goal time.
    assert np.all(np.isinf(accepted.path.position))
    np.testing.assert_allclose(accepted.goal.position, [0.02, 0.02])
    assert accepted.goal_time_tolerance == 1.0


def test_a_goal_may_name_some_joints_in_any_order():
    accepted = validate(goal([(1.0, (0.3,))], names=("b",)))
    assert accepted.columns == (1,)


@pytest.mark.parametrize(
    "g, message",
    [
        (goal([(1.0, (0.1, 0.1, 0.0))], names=("a", "b", "finger")), "['finger']"),
        (goal([(1.0, (0.1, 0.1))], names=("a", "elbow")), "['elbow'] that this controller"),
        (goal([(1.0, (0.1, 0.1))], names=("a", "a")), "repeats joint names"),
        (goal([(1.0, ())], names=()), "names no joints"),
        (
            goal([(1.0, (0.1, 0.1))], multi_dof_joint_names=("base",)),
            "multi-DOF joints ['base']",
        ),
        (
            goal([(1.0, (0.1, 0.1))], path_tolerance=[JointTolerance("wrist", 0.1)]),
            "path_tolerance names joint 'wrist'",
        ),
    ],
)
def test_joint_mismatches_are_invalid_joints(g, message):
    error = rejected(g)
    assert error.code == ErrorCode.INVALID_JOINTS
    assert message in str(error)


@pytest.mark.parametrize(
    "g, message",
    [
        (goal([]), "no points"),
        (goal([(1.0, (0.1, 0.1)), (1.0, (0.2, 0.2))]), "1 s is not after point 0's 1 s"),
        (goal([(1.0, (0.1, 0.1)), (0.5, (0.2, 0.2))]), "times must increase"),
        (goal([(-1.0, (0.1, 0.1))]), "time_from_start -1.0 s"),
        (goal([(math.nan, (0.1, 0.1))]), "time_from_start nan"),
        (goal([(1.0, (0.1,))]), "point 0 positions has 1 values for 2 joints"),
        (goal([(1.0, (0.1, math.nan))]), "NaN or inf"),
        (goal([(1.0, (0.1, math.inf))]), "NaN or inf"),
        (
            goal([(1.0, (0.1, 0.2)), (3.0, (0.1, 2.5))]),
            "point 1: b = 2.5000 is outside its limits [-2.0000, 2.0000]",
        ),
        (goal([(0.0, (0.5, 0.0))]), "point 0 is at time 0 but a is 0.500 away"),
        (goal([(0.5, (0.9, 0.0))]), "a would move at 1.800/s from the current position"),
        (
            goal([(1.0, (0.5, 0.0)), (1.1, (0.5, 0.5))]),
            "point 1: b would move at 5.000/s from point 0, above its velocity limit 1.000/s",
        ),
        (
            goal([(1.0, (0.1, 0.1))], goal_tolerance=[JointTolerance("a", -2.0)]),
            "goal_tolerance position of a is -2.0",
        ),
        (goal([(1.0, (0.1, 0.1))], goal_time_tolerance=-1.0), "goal_time_tolerance is -1.0"),
    ],
)
def test_malformed_or_infeasible_goals_are_invalid_goal(g, message):
    error = rejected(g)
    assert error.code == ErrorCode.INVALID_GOAL
    assert message in str(error)


def test_velocity_vectors_must_match_when_given():
    g = TrajectoryGoal(("a", "b"), [GoalPoint(1.0, [0.1, 0.1], velocities=[0.0])])
    error = rejected(g)
    assert error.code == ErrorCode.INVALID_GOAL and "velocities has 1 values" in str(error)


def test_a_first_point_at_time_zero_near_the_current_target_is_the_start():
    accepted = validate(goal([(0.0, (0.01, 0.0)), (1.0, (0.5, 0.5))]))
    assert accepted.points[0].time_from_start == 0.0


def test_header_stamps_set_the_start_and_old_ones_are_rejected():
    assert validate(goal([(1.0, (0.1, 0.1))], stamp=NOW + 2.0)).start_time == NOW + 2.0
    assert validate(goal([(1.0, (0.1, 0.1))], stamp=NOW - 0.5)).start_time == NOW - 0.5
    error = rejected(goal([(1.0, (0.1, 0.1))], stamp=NOW - 3.0))
    assert error.code == ErrorCode.OLD_HEADER_TIMESTAMP
    assert "ended 2.000 s ago" in str(error)


def test_tolerances_zero_is_default_minus_one_is_unchecked():
    settings = TrajectorySettings(("a", "b"), path_position=0.3)
    g = goal(
        [(1.0, (0.1, 0.1))],
        path_tolerance=[JointTolerance("a", 0.0, 0.5), JointTolerance("b", -1.0)],
        goal_tolerance=[JointTolerance("b", 0.05), JointTolerance("a", -1.0, -1.0)],
        goal_time_tolerance=2.5,
    )
    accepted = validate(g, settings=settings)
    np.testing.assert_allclose(accepted.path.position, [0.3, np.inf])
    np.testing.assert_allclose(accepted.path.velocity, [0.5, np.inf])
    np.testing.assert_allclose(accepted.goal.position, [np.inf, 0.05])
    assert accepted.goal_time_tolerance == 2.5


def monitor_for(g: TrajectoryGoal, now=NOW) -> TrajectoryMonitor:
    return TrajectoryMonitor(validate(g, now=now), LIMITS, START)


def full(a: float, b: float) -> np.ndarray:
    return np.array([a, b, 0.04])


def test_monitor_succeeds_once_within_goal_tolerance():
    monitor = monitor_for(goal([(1.0, (0.5, -0.5))]))
    assert monitor.check(NOW + 0.5, full(0.25, -0.25), np.zeros(3)) is None
    assert monitor.check(NOW + 1.05, full(0.45, -0.5), np.zeros(3)) is None  # still settling
    outcome = monitor.check(NOW + 1.2, full(0.49, -0.5), np.zeros(3))
    assert outcome.succeeded and outcome.code == ErrorCode.SUCCESSFUL


def test_monitor_fails_the_goal_tolerance_after_goal_time():
    monitor = monitor_for(goal([(1.0, (0.5, -0.5))], goal_time_tolerance=0.5))
    assert monitor.check(NOW + 1.4, full(0.4, -0.5), np.zeros(3)) is None
    outcome = monitor.check(NOW + 1.6, full(0.4, -0.5), np.zeros(3))
    assert outcome.code == ErrorCode.GOAL_TOLERANCE_VIOLATED
    assert "a position is 0.1000 from the goal" in outcome.message


def test_monitor_checks_path_tolerance_and_velocity_tolerance():
    g = goal([(1.0, (0.5, -0.5))], path_tolerance=[JointTolerance("b", 0.05)])
    monitor = monitor_for(g)
    assert monitor.check(NOW + 0.5, full(0.0, -0.22), np.zeros(3)) is None  # a is unchecked
    outcome = monitor.check(NOW + 0.5, full(0.25, -0.1), np.zeros(3))
    assert outcome.code == ErrorCode.PATH_TOLERANCE_VIOLATED
    assert "b position is 0.1500 off the planned path 0.50 s into" in outcome.message
    moving = monitor_for(goal([(1.0, (0.5, 0.0))], path_tolerance=[JointTolerance("a", 0, 0.1)]))
    assert moving.check(NOW + 0.5, full(0.25, 0), np.array([0.45, 0, 0])) is None
    outcome = moving.check(NOW + 0.5, full(0.25, 0), np.array([0.0, 0, 0]))
    assert outcome.code == ErrorCode.PATH_TOLERANCE_VIOLATED and "a velocity" in outcome.message


def test_monitor_desired_state_follows_the_plan():
    monitor = monitor_for(goal([(1.0, (0.5, -0.5)), (3.0, (0.5, 0.5))]))
    positions, velocities = monitor.desired(NOW + 0.5)
    np.testing.assert_allclose(positions, [0.25, -0.25])
    np.testing.assert_allclose(velocities, [0.5, -0.5], atol=1e-6)
    positions, velocities = monitor.desired(NOW + 2.0)
    np.testing.assert_allclose(positions, [0.5, 0.0])
    np.testing.assert_allclose(velocities, [0.0, 0.5], atol=1e-6)
    np.testing.assert_allclose(monitor.desired(NOW + 9.0)[1], [0.0, 0.0])
    assert [monitor.next_point_index(NOW + t) for t in (0.2, 1.5, 5.0)] == [0, 1, 1]


def test_monitor_waits_for_a_future_stamp():
    monitor = monitor_for(goal([(1.0, (0.5, -0.5))], stamp=NOW + 5.0))
    # Far from any plan point, but before the start: nothing is judged yet.
    assert monitor.check(NOW + 1.0, full(0.0, 0.0), np.zeros(3)) is None
    np.testing.assert_allclose(monitor.desired(NOW + 1.0)[0], [0.0, 0.0])


def test_merged_segments_drive_each_joint_group_along_its_own_plan():
    arbiter = JointCommandArbiter(LIMITS, 0.5, START)
    arm = monitor_for(goal([(1.0, (0.5, -0.5)), (2.0, (0.5, 0.5))]))
    gripper = GripperMonitor(
        GripperSettings("finger"), 0.0, LIMITS, START, NOW + 0.3, VELOCITY_LIMITS[2]
    )
    names, points = merge_segments([arm.segment, gripper.segment], NOW + 0.3)
    assert names == ["a", "b", "finger"]
    assert [round(p.time_from_start, 6) for p in points] == [0.4, 0.7, 1.7]
    # The arm plan is re-based at NOW + 0.3 on the arbiter's target, which is where the
    # arm plan had brought it by then.
    arbiter.command_positions(arm.plan.sample(NOW + 0.3), NOW + 0.3)
    arbiter.command_trajectory(names, points, NOW + 0.3)
    for t in np.arange(NOW + 0.3, NOW + 2.5, 0.05):
        target = arbiter.update(t, START)
        np.testing.assert_allclose(target[:2], arm.plan.sample(t)[:2], atol=1e-9)
        np.testing.assert_allclose(target[2], gripper.plan.sample(t)[2], atol=1e-9)
    # Finished segments drop out; overlapping ones are a bug.
    assert merge_segments([arm.segment], NOW + 3.0) == ([], [])
    with pytest.raises(ValueError, match="overlap"):
        merge_segments([arm.segment, arm.segment], NOW)


def test_gripper_goal_moves_at_the_finger_speed_and_reports_reached():
    settings = GripperSettings("finger")
    monitor = GripperMonitor(settings, 0.0, LIMITS, START, NOW, 0.1)
    assert monitor.end_time == pytest.approx(NOW + 0.4)  # 0.04 m at 0.1 m/s
    assert monitor.check(NOW + 0.2, 0.02, -0.1, 5.0) is None
    outcome = monitor.check(NOW + 0.45, 0.001, 0.0, 10.0)
    assert outcome.succeeded and outcome.reached_goal and not outcome.stalled
    assert outcome.effort == 10.0


def test_gripper_stall_on_an_object_succeeds_unless_stalling_is_not_allowed():
    for allow in (True, False):
        settings = GripperSettings("finger", allow_stalling=allow)
        monitor = GripperMonitor(settings, 0.0, LIMITS, START, NOW, 0.1)
        assert monitor.check(NOW + 0.5, 0.025, 0.0, 70.0) is None  # stopped, not for long yet
        outcome = monitor.check(NOW + 0.85, 0.025, 0.0, 70.0)
        assert outcome.stalled and not outcome.reached_goal
        assert outcome.succeeded is allow
        assert "0.0250 short of 0.0000" in outcome.message


def test_gripper_gives_up_if_the_finger_keeps_moving_away():
    settings = GripperSettings("finger", settle_timeout=1.0)
    monitor = GripperMonitor(settings, 0.0, LIMITS, START, NOW, 0.1)
    assert monitor.check(NOW + 1.3, 0.03, 0.05, 0.0) is None
    outcome = monitor.check(NOW + 1.5, 0.03, 0.05, 0.0)
    assert not outcome.succeeded and not outcome.stalled and "still moving" in outcome.message


def test_gripper_targets_beyond_the_travel_are_clamped():
    monitor = GripperMonitor(GripperSettings("finger"), 0.08, LIMITS, START, NOW, 0.1)
    assert monitor.clamped and monitor.target == 0.04
    assert monitor.check(NOW, 0.04, 0.0, 0.0).reached_goal
    with pytest.raises(ValueError, match="finite"):
        GripperMonitor(GripperSettings("finger"), math.nan, LIMITS, START, NOW, 0.1)
