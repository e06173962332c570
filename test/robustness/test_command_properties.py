"""Bad commands into the control layer: the joint command arbiter, FollowJointTrajectory goal
validation, and the safety layer every action passes.

Commands are built from real ROS messages (Float64MultiArray, JointTrajectory,
FollowJointTrajectory.Goal) with values ROS can carry (int32 seconds, uint32 nanoseconds,
any double). The properties: the documented error (CommandError, GoalRejected with a
control_msgs error code) leaves the controller as it was; anything accepted only ever yields
finite joint targets within the limits; the safety layer never lets a non-finite or
out-of-limit action through.
"""

from __future__ import annotations

import numpy as np
import pytest
from bad_input_support import (
    TALLY,
    examples,
    float_arrays,
    joint_name_lists,
    lengths_near,
)
from hypothesis import given
from hypothesis import strategies as st
from ros_message_strategies import ARM, HOME, LOWER, UPPER, durations, follow_goals, stamps
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from lerobot_ros.control.joint_commands import CommandError, JointCommandArbiter, JointLimits
from lerobot_ros.control.trajectory_goals import (
    LIMIT_EPSILON,
    ErrorCode,
    GoalRejected,
    TrajectoryMonitor,
    TrajectorySettings,
    validate_trajectory_goal,
)
from lerobot_ros.policy.safety import SafetyLayer
from lerobot_ros.robots import panda
from lerobot_ros.ros.conversions import time_to_seconds, trajectory_points
from lerobot_ros.ros.trajectory_action import trajectory_feedback, trajectory_goal_from_msg

pytestmark = pytest.mark.bad_input

LIMITS = JointLimits(panda.JOINT_NAMES, LOWER, UPPER)

clock = st.floats(0.0, 1e6)


def within_limits(target: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(target)) and np.all(target >= LOWER) and np.all(target <= UPPER))


def snapshot(arbiter: JointCommandArbiter) -> tuple:
    return (arbiter.target.tolist(), arbiter.holding, arbiter._trajectory, arbiter._command_time)


# --- /position_controller/commands ----------------------------------------------------------


@examples(250)
@given(st.data(), clock)
def test_position_commands(data, now):
    arbiter = JointCommandArbiter(LIMITS, 0.5, HOME)
    if data.draw(st.booleans()):  # within the limits
        fractions = data.draw(st.lists(st.floats(0.0, 1.0), min_size=8, max_size=8))
        values = Float64MultiArray(data=(LOWER + (UPPER - LOWER) * fractions).tolist()).data
    else:
        values = Float64MultiArray(data=data.draw(float_arrays(data.draw(lengths_near(8))))).data
    before = snapshot(arbiter)
    with TALLY.attempt("joint_commands.command_positions") as attempt:
        try:
            clamped = arbiter.command_positions(values, now)
        except CommandError as error:
            attempt.rejected(error)
            assert "position command" in str(error)
            assert snapshot(arbiter) == before, "a rejected command changed the arbiter"
            return
        vector = np.asarray(values)
        assert vector.shape == (8,) and np.all(np.isfinite(vector))
        np.testing.assert_array_equal(arbiter.target, np.clip(vector, LOWER, UPPER))
        assert clamped == bool(np.any(arbiter.target != vector))
        for dt in (0.0, 0.4, 0.6, 10.0):  # before and after the command timeout
            assert within_limits(arbiter.update(now + dt, HOME))
        attempt.accepted("clamped" if clamped else "valid")


# --- /arm_controller/joint_trajectory -------------------------------------------------------------


@st.composite
def trajectories(draw: st.DrawFn) -> tuple[JointTrajectory, bool]:
    """A JointTrajectory, and whether it is well formed (the arbiter must accept it)."""
    msg = JointTrajectory()
    if draw(st.booleans()):  # well formed: known distinct joints, increasing times
        names = draw(st.lists(st.sampled_from(panda.JOINT_NAMES), min_size=1, unique=True))
        msg.joint_names = names
        t = 0.0
        for _ in range(draw(st.integers(1, 4))):
            t += draw(st.floats(0.01, 5.0))
            point = JointTrajectoryPoint(
                positions=draw(
                    st.lists(st.floats(-10, 10), min_size=len(names), max_size=len(names))
                )
            )
            point.time_from_start.sec = int(t)
            point.time_from_start.nanosec = int((t - int(t)) * 1e9)
            msg.points.append(point)
        return msg, True
    msg.joint_names = draw(joint_name_lists(panda.JOINT_NAMES))
    msg.header.stamp = draw(stamps)
    for _ in range(draw(st.integers(0, 4))):
        point = JointTrajectoryPoint(
            positions=draw(float_arrays(draw(lengths_near(len(msg.joint_names)))))
        )
        point.time_from_start = draw(durations)
        msg.points.append(point)
    return msg, False


@examples(250)
@given(trajectories(), clock)
def test_trajectory_commands(case, now):
    msg, well_formed = case
    arbiter = JointCommandArbiter(LIMITS, 0.5, HOME)
    before = snapshot(arbiter)
    start = time_to_seconds(msg.header.stamp)
    with TALLY.attempt("joint_commands.command_trajectory") as attempt:
        try:
            plan = arbiter.command_trajectory(
                msg.joint_names, trajectory_points(msg), now, start_time=start
            )
        except CommandError as error:
            attempt.rejected(error)
            assert not well_formed, f"a well-formed trajectory was rejected: {error}"
            assert str(error) and snapshot(arbiter) == before
            return
        if plan is None:
            assert not msg.points and arbiter.holding
            attempt.accepted("empty: cancel")
            return
        end = plan.end_time
        for t in (now - 1.0, now, (now + end) / 2, end, end + 1.0):
            assert within_limits(plan.sample(t)), t
            assert within_limits(arbiter.update(t, HOME)), t
        attempt.accepted("clamped" if plan.clamped else "valid")


# --- /arm_controller/follow_joint_trajectory goals ------------------------------------------------


@examples(300)
@given(follow_goals(), st.floats(0.0, 1e5))
def test_follow_joint_trajectory_goals(case, now):
    msg, valid = case
    settings = TrajectorySettings(ARM)
    with TALLY.attempt("trajectory_goals.validate_trajectory_goal") as attempt:
        try:
            accepted = validate_trajectory_goal(
                trajectory_goal_from_msg(msg),
                settings,
                LIMITS,
                HOME,
                now,
                panda.velocity_limits(),
            )
        except GoalRejected as rejection:
            attempt.rejected(rejection.code.name)
            assert not valid, f"a valid goal was rejected: {rejection}"
            assert rejection.code in (
                ErrorCode.INVALID_GOAL,
                ErrorCode.INVALID_JOINTS,
                ErrorCode.OLD_HEADER_TIMESTAMP,
            )
            assert str(rejection)
            return
        times = [p.time_from_start for p in accepted.points]
        assert all(np.isfinite(times)) and times[0] >= 0 and np.all(np.diff(times) > 0)
        for point, name_columns in ((p, accepted.columns) for p in accepted.points):
            positions = np.asarray(point.positions)
            assert np.all(np.isfinite(positions))
            assert np.all(positions >= LOWER[list(name_columns)] - LIMIT_EPSILON)
            assert np.all(positions <= UPPER[list(name_columns)] + LIMIT_EPSILON)
        # Following it: planned path, feedback and judgement stay finite and in range.
        monitor = TrajectoryMonitor(accepted, LIMITS, HOME)
        for t in (
            now,
            accepted.start_time,
            (accepted.start_time + accepted.end_time) / 2,
            accepted.end_time + accepted.goal_time_tolerance + 0.1,
        ):
            desired, velocity = monitor.desired(t)
            assert np.all(np.isfinite(desired)) and np.all(np.isfinite(velocity))
            assert within_limits(monitor.plan.sample(t))
            trajectory_feedback(monitor, t, HOME, np.zeros(8))
            outcome = monitor.check(t, HOME, np.zeros(8))
            assert outcome is None or (isinstance(outcome.code, ErrorCode) and outcome.message)
        attempt.accepted()


# --- the safety layer ---------------------------------------------------------------------------

bounds = st.one_of(
    st.none(),
    st.floats(1e-4, 1.0),
    st.lists(st.floats(1e-4, 1.0), min_size=8, max_size=8).map(np.array),
)


@st.composite
def measured_positions(draw: st.DrawFn) -> tuple[np.ndarray | None, str | None]:
    """A measured position, and what is wrong with it (None: a valid measurement)."""
    kind = draw(st.sampled_from(["none", "near", "near", "near", "nonfinite", "shape"]))
    if kind == "none":
        return None, None
    if kind == "shape":
        return np.asarray(draw(float_arrays(draw(st.sampled_from([0, 1, 7, 9]))))), "shape"
    # Around the limits, a little outside included (a joint pushed past its limit).
    span = UPPER - LOWER
    fractions = draw(st.lists(st.floats(-0.1, 1.1), min_size=8, max_size=8))
    measured = LOWER + span * np.asarray(fractions)
    if kind == "nonfinite":
        measured[draw(st.integers(0, 7))] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
        return measured, "nonfinite"
    return measured, None


@st.composite
def safety_actions(draw: st.DrawFn) -> np.ndarray:
    shape = draw(st.sampled_from([(8,), (8,), (8,), (7,), (9,), (0,), (), (1, 8), (100_000,)]))
    size = int(np.prod(shape))
    values = np.frombuffer(draw(float_arrays(size)), dtype=np.float64).reshape(shape)
    if draw(st.booleans()) and shape == (8,):  # around the limits
        fractions = draw(st.lists(st.floats(-0.2, 1.2), min_size=8, max_size=8))
        values = LOWER + (UPPER - LOWER) * np.asarray(fractions)
    return values


@examples(400)
@given(safety_actions(), measured_positions(), bounds, st.sampled_from([False, False, False, True]))
def test_safety_filter(action, measured_case, bound, estopped):
    measured, flaw = measured_case
    layer = SafetyLayer(LIMITS, bound)
    if estopped:
        layer.engage_estop()
    with TALLY.attempt("safety.SafetyLayer.filter") as attempt:
        right = action.shape == (8,) and np.all(np.isfinite(action))
        # A step bound needs a measurement it can bound the step from.
        unboundable = bound is not None and flaw is not None
        result = layer.filter(action, measured)
        if result.action is None:
            kind = "bad action" if not right else "no usable measurement"
            attempt.rejected("e-stop" if estopped else f"refused: {kind}")
            assert estopped or not right or unboundable, "a valid action was refused"
            assert result.reason
            if estopped:
                assert "e-stop" in result.reason
            elif right:
                assert "measured" in result.reason, result.reason
            return
        assert not estopped and right and not unboundable
        out = result.action
        assert out.shape == (8,) and np.all(np.isfinite(out)), out
        assert within_limits(out), out
        step_bounded = bound is not None and measured is not None
        if step_bounded:
            # The step bound holds wherever it can within the limits; where it cannot (the
            # joint is farther outside a limit than the bound), the nearest limit.
            low, high = measured - bound, measured + bound
            reachable = (low <= UPPER) & (high >= LOWER)
            assert np.all((np.abs(out - measured) <= bound + 1e-12)[reachable])
            np.testing.assert_array_equal(
                out[~reachable], np.clip(measured, LOWER, UPPER)[~reachable]
            )
        assert result.clamped == bool(np.any(out != action))
        attempt.accepted("clamped" if result.clamped else "valid")


@examples(150)
@given(measured_positions().filter(lambda case: case[0] is not None and case[1] != "shape"))
def test_safety_hold(measured_case):
    """hold() gets the node's last state vector: the mapped length, its values any."""
    measured, flaw = measured_case
    layer = SafetyLayer(LIMITS)
    with TALLY.attempt("safety.SafetyLayer.hold") as attempt:
        try:
            held = layer.hold(measured)
        except ValueError as error:
            attempt.rejected(error)
            assert flaw == "nonfinite", f"refused to hold at a finite position: {error}"
            assert "finite" in str(error)
            return
        assert flaw is None, f"held at a non-finite position: {held}"
        assert within_limits(held)
        np.testing.assert_array_equal(held, np.clip(measured, LOWER, UPPER))
        attempt.accepted("clamped" if np.any(held != measured) else "valid")


# --- the step bound and hold at the edges ------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_nonfinite_measurement_never_lets_a_nonfinite_action_through(bad):
    measured = HOME.copy()
    measured[0] = bad
    result = SafetyLayer(LIMITS, 0.1).filter(HOME, measured)
    assert result.action is None and "measured" in result.reason, result


def test_a_measurement_of_another_length_is_refused_not_an_exception():
    result = SafetyLayer(LIMITS, 0.1).filter(HOME, HOME[:3])
    assert result.action is None and "measured" in result.reason


def test_the_step_bound_never_takes_an_action_outside_the_limits():
    measured = HOME.copy()
    measured[7] = 0.2  # the finger 16 cm past its 4 cm limit (a bad reading, a collision)
    result = SafetyLayer(LIMITS, 0.01).filter(HOME, measured)
    assert within_limits(result.action), result.action
    assert result.action[7] == UPPER[7]  # the nearest limit, not 0.19


def test_hold_never_commands_nan():
    measured = HOME.copy()
    measured[2] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        SafetyLayer(LIMITS).hold(measured)
