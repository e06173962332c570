"""Client side of the sim's task services (reset, pause, step) for a node spun by its caller."""

from __future__ import annotations

import time
from collections.abc import Callable

from rclpy.executors import Executor
from rclpy.node import Node
from std_srvs.srv import SetBool

from lerobot_ros.interfaces import ResetEpisode, StepSimulation
from lerobot_ros.ros import topics


class ServiceUnavailable(RuntimeError):
    """A service did not appear or did not answer in time."""


def spin_until(executor: Executor, condition: Callable[[], bool], timeout: float) -> bool:
    """Spin ``executor`` until ``condition()`` holds or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        executor.spin_once(timeout_sec=0.02)
    return True


# wait_for_service() only proves the request channel is matched; the server may not have
# discovered the client's response reader yet, and a response sent before that is lost. A
# new client waits this long once before its first call (the usual ROS 2 work-around).
DISCOVERY_SETTLE_S = 0.5


class SimClient:
    def __init__(self, node: Node, executor: Executor, timeout: float = 10.0) -> None:
        self.executor = executor
        self.timeout = timeout
        self._reset = node.create_client(ResetEpisode, topics.TASK_RESET)
        self._pause = node.create_client(SetBool, topics.SIM_PAUSE)
        self._step = node.create_client(StepSimulation, topics.SIM_STEP)
        self._settled: set[str] = set()

    def _call(self, client, request, attempts: int = 1):  # noqa: ANN001, ANN202 - any service
        if not client.wait_for_service(timeout_sec=self.timeout):
            raise ServiceUnavailable(
                f"service {client.srv_name} is not available (is sim_node running?)"
            )
        if client.srv_name not in self._settled:
            spin_until(self.executor, lambda: False, DISCOVERY_SETTLE_S)
            self._settled.add(client.srv_name)
        for _ in range(attempts):
            future = client.call_async(request)
            if spin_until(self.executor, future.done, self.timeout / attempts):
                return future.result()
            client.remove_pending_request(future)
        raise ServiceUnavailable(
            f"service {client.srv_name} did not answer within {self.timeout} s"
        )

    def reset(self, seed: int | None = None) -> ResetEpisode.Response:
        request = ResetEpisode.Request(
            use_seed=seed is not None, seed=seed if seed is not None else 0
        )
        # A repeated reset is harmless (same seed, same scene), so a lost answer is retried.
        response = self._call(self._reset, request, attempts=3)
        if not response.success:
            raise RuntimeError(f"reset failed: {response.message}")
        return response

    def pause(self, paused: bool = True) -> None:
        self._call(self._pause, SetBool.Request(data=paused))

    def step(self, num_steps: int = 1) -> StepSimulation.Response:
        response = self._call(self._step, StepSimulation.Request(num_steps=num_steps))
        if not response.success:
            raise RuntimeError(f"step failed: {response.message}")
        return response
