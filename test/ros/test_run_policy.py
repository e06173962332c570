"""The RunPolicy action of policy_node: a goal's task reaches the policy's batch, feedback
arrives, limits end it, a cancel or a newer goal ends it with the arm holding."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from rclpy.action import ActionClient
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from std_msgs.msg import Float64MultiArray
from test_policy_node import FakeRobot, policy_parameters, wait_for_status

from lerobot_ros.interfaces import PolicyStatus, RunPolicy
from lerobot_ros.robots import panda
from lerobot_ros.ros import qos, topics

pytestmark = pytest.mark.ros


@pytest.fixture
def goal_policy(start_node, probe):
    """policy_node (its own process) waiting for goals, on a fake robot at home."""
    start_node("lerobot_ros.nodes.policy_node", policy_parameters(wait_for_goal=True))
    statuses = probe.collect(PolicyStatus, topics.POLICY_STATUS, qos.STATE)
    commands = probe.collect(Float64MultiArray, topics.POSITION_COMMANDS, qos.COMMAND)
    robot = FakeRobot(probe)
    robot.send_state = robot.send_marker = True
    wait_for_status(probe, statuses, lambda s: s.reason == "waiting for a RunPolicy goal")
    client = ActionClient(probe.node, RunPolicy, topics.POLICY_RUN)
    assert client.wait_for_server(timeout_sec=30)
    return client, statuses, commands


def send(probe, client, goal, feedback=None):  # noqa: ANN001, ANN201
    future = client.send_goal_async(goal, feedback_callback=feedback)
    assert probe.spin_until(future.done, 30), "no answer to the goal"
    handle = future.result()
    assert handle.accepted
    return handle


def result_of(probe, handle):  # noqa: ANN001, ANN201
    future = handle.get_result_async()
    assert probe.spin_until(future.done, 60), "the goal never ended"
    return future.result()


def assert_holding(probe, commands) -> None:
    """The hold (the measured home position) arrives, and nothing follows it. It may arrive
    after the goal's result: topics and the action's result are separate DDS readers."""

    def holding() -> bool:
        return bool(commands) and np.allclose(commands[-1].data, panda.HOME_POSITION, atol=1e-9)

    assert probe.spin_until(holding, 10), "no hold at the measured position"
    count = len(commands)
    probe.spin_for(0.5)
    assert len(commands) == count, "commands kept coming after the goal ended"


def test_feedback_limits_cancel_and_preemption(goal_policy, probe):
    client, statuses, commands = goal_policy
    probe.spin_for(0.5)
    assert not commands, "acted without a goal"
    refused = client.send_goal_async(RunPolicy.Goal(max_duration_s=-1.0))
    assert probe.spin_until(refused.done, 30) and not refused.result().accepted

    # A step limit: exactly that many actions, then a hold; the goal succeeds.
    feedback: list = []
    handle = send(probe, client, RunPolicy.Goal(max_steps=5), feedback.append)
    outcome = result_of(probe, handle)
    assert outcome.status == 4  # GoalStatus.STATUS_SUCCEEDED
    assert outcome.result.stop_reason == "step_limit" and outcome.result.steps == 5
    assert_holding(probe, commands)
    assert len(commands) == 6  # five actions and the hold
    assert [f.feedback.steps for f in feedback] == [1, 2, 3, 4, 5]
    assert all(f.feedback.inference_s > 0 and f.feedback.state == "acting" for f in feedback)

    # No limit: runs until cancelled, then holds.
    feedback.clear()
    handle = send(probe, client, RunPolicy.Goal(task="pick up the cube"), feedback.append)
    assert probe.spin_until(lambda: len(feedback) >= 10, 30)
    cancel = handle.cancel_goal_async()
    assert probe.spin_until(cancel.done, 10)
    outcome = result_of(probe, handle)
    assert outcome.status == 5  # GoalStatus.STATUS_CANCELED
    assert outcome.result.stop_reason == "canceled" and outcome.result.steps >= 10
    assert_holding(probe, commands)

    # A newer goal preempts: the first one aborts as preempted, the second one acts.
    first = send(probe, client, RunPolicy.Goal())
    assert probe.spin_until(lambda: statuses[-1].state == "acting", 30)
    second = send(probe, client, RunPolicy.Goal(max_duration_s=1.0))
    outcome = result_of(probe, first)
    assert outcome.status == 6 and outcome.result.stop_reason == "preempted"  # ABORTED
    outcome = result_of(probe, second)
    assert outcome.result.stop_reason == "time_limit" and outcome.result.steps > 0
    assert_holding(probe, commands)


def test_a_goal_is_refused_while_the_policy_is_inactive(start_node, probe):
    start_node("lerobot_ros.nodes.policy_node", policy_parameters(autostart=False))
    client = ActionClient(probe.node, RunPolicy, topics.POLICY_RUN)
    assert client.wait_for_server(timeout_sec=60)
    future = client.send_goal_async(RunPolicy.Goal())
    assert probe.spin_until(future.done, 30) and not future.result().accepted


def test_the_goals_task_reaches_the_policy_batch(probe, monkeypatch):
    """policy_node in this process, so the batch LeRobot's policy gets can be looked at."""
    from lerobot_ros.nodes.policy_node import PolicyNode
    from lerobot_ros.policy import inference

    tasks: list = []
    real_policy_batch = inference.policy_batch

    def recording_policy_batch(observation, task=""):  # noqa: ANN001, ANN202
        batch = real_policy_batch(observation, task)
        tasks.append(batch["task"])
        return batch

    monkeypatch.setattr(inference, "policy_batch", recording_policy_batch)
    overrides = [
        Parameter(name, value=value)
        for name, value in policy_parameters(wait_for_goal=True, lockstep=True).items()
    ]
    node = PolicyNode(context=probe.context, parameter_overrides=overrides)
    executor = SingleThreadedExecutor(context=probe.context)
    executor.add_node(node)
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            executor.spin_once(timeout_sec=0.05)

    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        node.trigger_configure()
        node.trigger_activate()
        robot = FakeRobot(probe)
        robot.send_state = robot.send_marker = True
        client = ActionClient(probe.node, RunPolicy, topics.POLICY_RUN)
        assert client.wait_for_server(timeout_sec=30)
        handle = send(probe, client, RunPolicy.Goal(task="pick up the red cube", max_steps=3))
        outcome = result_of(probe, handle)
        assert outcome.result.stop_reason == "step_limit"
        assert tasks and all(task == ["pick up the red cube"] for task in tasks), tasks[:3]
    finally:
        stop.set()
        spinner.join(timeout=10)
        executor.shutdown()
        node.destroy_node()
