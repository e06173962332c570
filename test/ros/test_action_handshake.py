"""handshake_action_server: answered by a live action server without touching its goals;
False when nobody serves the action."""

from __future__ import annotations

import time

import pytest
from action_msgs.msg import GoalStatus
from rclpy.action import ActionClient, ActionServer, CancelResponse
from rclpy.task import Future

from lerobot_ros.interfaces import EvaluatePolicy
from lerobot_ros.ros.action_handshake import handshake_action_server

pytestmark = pytest.mark.ros

ACTION = "/handshake_test/evaluate"


def test_a_live_server_answers_and_its_running_goal_is_not_cancelled(probe):
    cancel_requests = []
    finish = Future()

    async def execute(goal_handle):  # noqa: ANN001, ANN202 - rclpy's callback
        await finish  # runs until the test lets it finish
        goal_handle.succeed()
        return EvaluatePolicy.Result(success=True)

    def on_cancel(_goal_handle):  # noqa: ANN001, ANN202
        cancel_requests.append(True)
        return CancelResponse.ACCEPT

    server = ActionServer(
        probe.node, EvaluatePolicy, ACTION, execute_callback=execute, cancel_callback=on_cancel
    )
    client = ActionClient(probe.node, EvaluatePolicy, ACTION)
    try:
        assert handshake_action_server(probe.node, probe.executor, ACTION, timeout=30)
        send = client.send_goal_async(EvaluatePolicy.Goal(n_episodes=1))
        assert probe.spin_until(send.done, 30)
        handle = send.result()
        assert handle.accepted
        probe.spin_until(lambda: handle.status == GoalStatus.STATUS_EXECUTING, 5)
        assert handshake_action_server(probe.node, probe.executor, ACTION, timeout=30)
        probe.spin_for(0.5)
        assert cancel_requests == []
        assert handle.status == GoalStatus.STATUS_EXECUTING
        finish.set_result(None)
        result = handle.get_result_async()
        assert probe.spin_until(result.done, 30)
        assert result.result().status == GoalStatus.STATUS_SUCCEEDED
    finally:
        client.destroy()
        server.destroy()


def test_no_server_is_false_after_the_timeout(probe):
    started = time.monotonic()
    assert not handshake_action_server(probe.node, probe.executor, "/nobody/serves_this", 2.0)
    assert 1.5 <= time.monotonic() - started < 20
