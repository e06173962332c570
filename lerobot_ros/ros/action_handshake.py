"""Make sure an action server can answer us before a goal is sent.

``ActionClient.server_is_ready()`` only proves that *we* discovered the server's request
readers. The server may not have discovered our response readers yet; rmw_fastrtps then
waits 100 ms and drops the response ("failed to send response (timeout)"), so an accepted
goal is never confirmed to the client. That happens with a server that has just (re)started
on a loaded machine, when a fixed settle time is too short.

The handshake asks the server something harmless (cancel a goal id that does not exist:
``ERROR_UNKNOWN_GOAL_ID``, nothing cancelled, nothing logged) from a service client created
*after* the action client, until an answer comes back. An answer proves the server matched
that client's response reader, and discovery announces a participant's endpoints in the
order they were created, so the action client's response readers were matched before it.
"""

from __future__ import annotations

import time
import uuid

from action_msgs.srv import CancelGoal
from rclpy.executors import Executor
from rclpy.node import Node

from lerobot_ros.ros.sim_client import spin_until

ATTEMPT_TIMEOUT_S = 1.0


def handshake_action_server(
    node: Node, executor: Executor, action_name: str, timeout: float
) -> bool:
    """True once the action server ``action_name`` answered a request from ``node``;
    False after ``timeout`` seconds. Create the ActionClient before calling this."""
    client = node.create_client(CancelGoal, f"{action_name}/_action/cancel_goal")
    try:
        request = CancelGoal.Request()
        request.goal_info.goal_id.uuid = list(uuid.uuid4().bytes)  # no such goal
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not client.wait_for_service(timeout_sec=min(ATTEMPT_TIMEOUT_S, timeout)):
                continue
            future = client.call_async(request)
            if spin_until(executor, future.done, ATTEMPT_TIMEOUT_S):
                return True
            client.remove_pending_request(future)  # lost: the server did not know us yet
        return False
    finally:
        node.destroy_client(client)
