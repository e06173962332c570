"""MoveIt's controller actions on sim_node, driven by a real rclpy ActionClient over DDS."""

from __future__ import annotations

import numpy as np
import pytest
from action_msgs.msg import GoalStatus
from control_msgs.action import FollowJointTrajectory, GripperCommand
from rclpy.action import ActionClient
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectoryPoint

from lerobot_ros.robots import panda
from lerobot_ros.ros import conversions, qos, topics
from lerobot_ros.ros.action_handshake import handshake_action_server

pytestmark = pytest.mark.ros

ARM = list(panda.ARM_JOINT_NAMES)
HOME = np.array(panda.HOME_POSITION)
FINGER = panda.JOINT_NAMES.index(panda.GRIPPER_JOINT_NAME)


@pytest.fixture(scope="module")
def sim(start_module_node):
    # No cameras: rendering is not under test and the machine is shared.
    return start_module_node("lerobot_ros.nodes.sim_node", {"cameras": [], "seed": 1})


@pytest.fixture
def arm(sim, probe):
    """An ActionClient for the arm, with the sim reset to the home pose."""
    client = ActionClient(probe.node, FollowJointTrajectory, topics.FOLLOW_JOINT_TRAJECTORY)
    assert client.wait_for_server(timeout_sec=30.0), "no FollowJointTrajectory server"
    assert handshake_action_server(probe.node, probe.executor, topics.FOLLOW_JOINT_TRAJECTORY, 30.0)
    probe.sim.reset(1)
    return client


def arm_goal(*points: tuple[float, np.ndarray], names=ARM) -> FollowJointTrajectory.Goal:
    goal = FollowJointTrajectory.Goal()
    goal.trajectory.joint_names = list(names)
    for seconds, positions in points:
        point = JointTrajectoryPoint(positions=[float(q) for q in positions])
        duration = conversions.seconds_to_time(seconds)
        point.time_from_start.sec, point.time_from_start.nanosec = duration.sec, duration.nanosec
        goal.trajectory.points.append(point)
    return goal


def send(probe, client, goal, feedback: list | None = None):
    callback = feedback.append if feedback is not None else None
    future = client.send_goal_async(goal, feedback_callback=callback)
    assert probe.spin_until(future.done, 15.0), "no goal response"
    handle = future.result()
    assert handle.accepted, "goals are accepted, then judged (aborted with an error code)"
    return handle


def wait_result(probe, handle, timeout: float = 20.0):
    future = handle.get_result_async()
    assert probe.spin_until(future.done, timeout), "no result in time"
    response = future.result()
    return response.status, response.result


def arm_positions(states: list[JointState]) -> np.ndarray:
    return np.array(states[-1].position)[: len(ARM)]


def test_goal_moves_the_arm_along_the_trajectory(arm, probe):
    states = probe.collect(JointState, topics.JOINT_STATES, qos.STATE)
    via = HOME[:7] + np.array([0.4, 0.0, 0.0, 0.3, 0.0, 0.0, 0.0])
    final = HOME[:7] + np.array([0.8, 0.0, 0.0, 0.3, 0.0, 0.0, -0.4])
    feedback = []
    handle = send(probe, arm, arm_goal((1.0, via), (2.0, final)), feedback)
    status, result = wait_result(probe, handle)
    assert status == GoalStatus.STATUS_SUCCEEDED, result.error_string
    assert result.error_code == FollowJointTrajectory.Result.SUCCESSFUL
    assert probe.spin_until(lambda: np.abs(arm_positions(states) - final).max() < 0.02, 5.0)

    # Feedback at a steady rate (20 Hz of sim time, on 30 Hz control steps).
    assert len(feedback) >= 15, f"only {len(feedback)} feedback messages in a 2 s goal"
    fb = [m.feedback for m in feedback]
    assert all(list(f.joint_names) == ARM for f in fb)
    assert all(len(f.desired.positions) == len(f.actual.positions) == 7 for f in fb)
    stamps = np.array([conversions.time_to_seconds(f.header.stamp) for f in fb])
    assert 0.03 < np.median(np.diff(stamps)) < 0.1
    errors = np.array([np.array(f.desired.positions) - np.array(f.actual.positions) for f in fb])
    np.testing.assert_allclose(errors, [list(f.error.positions) for f in fb], atol=1e-9)

    # The arm followed the planned path: joint_states against the linear interpolation,
    # timed from the start the feedback reports.
    first = fb[0]
    start = conversions.time_to_seconds(first.header.stamp) - conversions.time_to_seconds(
        first.desired.time_from_start
    )
    tracking = []
    for msg in states:
        t = conversions.time_to_seconds(msg.header.stamp) - start
        if 0.2 < t < 2.0:
            planned = [
                np.interp(t, [0, 1, 2], [a, b, c])
                for a, b, c in zip(HOME[:7], via, final, strict=True)
            ]
            tracking.append(np.abs(np.array(msg.position)[:7] - planned).max())
    assert len(tracking) > 20
    assert max(tracking) < 0.15, f"tracking error up to {max(tracking):.3f} rad"
    assert np.array(states[-1].position)[FINGER] == pytest.approx(HOME[FINGER], abs=0.002)


def test_cancel_midway_ends_canceled_and_the_arm_holds(arm, probe):
    states = probe.collect(JointState, topics.JOINT_STATES, qos.STATE)
    final = HOME[:7] + np.array([1.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    handle = send(probe, arm, arm_goal((3.0, final)))
    assert probe.spin_until(lambda: states and arm_positions(states)[0] > HOME[0] + 0.3, 15.0)
    cancel = handle.cancel_goal_async()
    assert probe.spin_until(cancel.done, 10.0)
    assert len(cancel.result().goals_canceling) == 1
    status, result = wait_result(probe, handle)
    assert status == GoalStatus.STATUS_CANCELED
    assert "holds" in result.error_string
    probe.spin_for(0.7)  # the servo settles on the held target
    held = arm_positions(states)
    probe.spin_for(1.0)
    np.testing.assert_allclose(arm_positions(states), held, atol=0.005)
    assert held[0] < final[0] - 0.3, "the arm went on to the goal after the cancel"


def test_a_new_goal_preempts_and_a_topic_command_aborts(arm, probe):
    states = probe.collect(JointState, topics.JOINT_STATES, qos.STATE)
    slow = send(probe, arm, arm_goal((4.0, HOME[:7] + 1.0 * np.eye(7)[0])))
    probe.spin_for(0.5)
    target = HOME[:7] + 0.2 * np.eye(7)[1]
    quick = send(probe, arm, arm_goal((1.0, target)))
    status, result = wait_result(probe, slow)
    assert (
        status == GoalStatus.STATUS_ABORTED and "preempted by a newer goal" in result.error_string
    )
    status, result = wait_result(probe, quick)
    assert status == GoalStatus.STATUS_SUCCEEDED, result.error_string
    np.testing.assert_allclose(arm_positions(states)[1], target[1], atol=0.02)

    running = send(probe, arm, arm_goal((4.0, HOME[:7] - 1.0 * np.eye(7)[0])))
    probe.spin_for(0.5)
    publisher = probe.node.create_publisher(
        Float64MultiArray, topics.POSITION_COMMANDS, qos.COMMAND
    )
    probe.spin_for(0.5)
    publisher.publish(Float64MultiArray(data=np.array(states[-1].position).tolist()))
    status, result = wait_result(probe, running)
    assert status == GoalStatus.STATUS_ABORTED
    assert topics.POSITION_COMMANDS in result.error_string


@pytest.mark.parametrize(
    "goal, code, message",
    [
        (
            arm_goal((1.0, [0.1, 0.2]), names=["panda_joint1", "elbow_of_another_robot"]),
            FollowJointTrajectory.Result.INVALID_JOINTS,
            "['elbow_of_another_robot']",
        ),
        (
            arm_goal((1.0, HOME[:7]), (1.0, HOME[:7] + 0.1)),
            FollowJointTrajectory.Result.INVALID_GOAL,
            "times must increase",
        ),
        (
            arm_goal((2.0, HOME[:7] + 3.0 * np.eye(7)[3])),
            FollowJointTrajectory.Result.INVALID_GOAL,
            "panda_joint4 = 0.6438 is outside its limits [-3.0718, -0.0698]",
        ),
        (
            arm_goal((0.1, HOME[:7] + 1.0 * np.eye(7)[0])),
            FollowJointTrajectory.Result.INVALID_GOAL,
            "above its velocity limit",
        ),
    ],
    ids=["unknown-joint", "non-increasing-times", "out-of-limits", "too-fast"],
)
def test_infeasible_goals_are_aborted_with_the_error_code(arm, probe, goal, code, message):
    states = probe.collect(JointState, topics.JOINT_STATES, qos.STATE)
    assert probe.spin_until(lambda: bool(states), 10.0)
    before = arm_positions(states)
    status, result = wait_result(probe, send(probe, arm, goal))
    assert status == GoalStatus.STATUS_ABORTED
    assert result.error_code == code
    assert message in result.error_string
    probe.spin_for(0.5)
    np.testing.assert_allclose(arm_positions(states), before, atol=0.005)  # nothing moved


def move_finger(probe, client, states: list, position: float) -> None:
    goal = GripperCommand.Goal()
    goal.command.position, goal.command.max_effort = position, 20.0
    feedback = []
    status, result = wait_result(probe, send(probe, client, goal, feedback))
    assert status == GoalStatus.STATUS_SUCCEEDED, result
    assert result.reached_goal and not result.stalled
    assert result.position == pytest.approx(position, abs=0.002)
    # Feedback and joint states travel on other channels than the result: no ordering.
    assert probe.spin_until(lambda: bool(feedback), 5.0), "no gripper feedback"
    assert probe.spin_until(lambda: abs(states[-1].position[FINGER] - position) < 0.003, 5.0), (
        f"finger at {states[-1].position[FINGER]}, expected {position}"
    )


def test_gripper_command_closes_and_opens_the_finger(sim, probe):
    client = ActionClient(probe.node, GripperCommand, topics.GRIPPER_COMMAND)
    assert client.wait_for_server(timeout_sec=30.0), "no GripperCommand server"
    assert handshake_action_server(probe.node, probe.executor, topics.GRIPPER_COMMAND, 30.0)
    probe.sim.reset(1)
    states = probe.collect(JointState, topics.JOINT_STATES, qos.STATE)
    assert probe.spin_until(lambda: bool(states), 10.0)
    arm_before = arm_positions(states)
    move_finger(probe, client, states, panda.GRIPPER_CLOSED)
    move_finger(probe, client, states, panda.GRIPPER_OPEN)
    np.testing.assert_allclose(arm_positions(states), arm_before, atol=0.005)  # arm untouched


def test_arm_and_gripper_goals_run_together(arm, probe):
    gripper = ActionClient(probe.node, GripperCommand, topics.GRIPPER_COMMAND)
    assert gripper.wait_for_server(timeout_sec=30.0)
    assert handshake_action_server(probe.node, probe.executor, topics.GRIPPER_COMMAND, 30.0)
    states = probe.collect(JointState, topics.JOINT_STATES, qos.STATE)
    final = HOME[:7] + np.array([0.0, 0.3, 0.0, 0.3, 0.0, 0.0, 0.5])
    arm_handle = send(probe, arm, arm_goal((2.0, final)))
    probe.spin_for(0.5)
    close = GripperCommand.Goal()
    close.command.position = panda.GRIPPER_CLOSED
    gripper_status, gripper_result = wait_result(probe, send(probe, gripper, close))
    # The finger closed while the arm kept going: the gripper goal did not stop the arm.
    assert gripper_status == GoalStatus.STATUS_SUCCEEDED and gripper_result.reached_goal
    status, result = wait_result(probe, arm_handle)
    assert status == GoalStatus.STATUS_SUCCEEDED, result.error_string
    assert probe.spin_until(lambda: np.abs(arm_positions(states) - final).max() < 0.02, 5.0)
    assert states[-1].position[FINGER] == pytest.approx(panda.GRIPPER_CLOSED, abs=0.003)
