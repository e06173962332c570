"""Client side of recorder_node's episode services, for a node spun by its caller."""

from __future__ import annotations

from rclpy.executors import Executor
from rclpy.node import Node
from std_srvs.srv import Trigger

from lerobot_ros.interfaces import RecorderStatus, StartEpisode
from lerobot_ros.ros import qos, topics
from lerobot_ros.ros.sim_client import DISCOVERY_SETTLE_S, ServiceUnavailable, spin_until


class RecorderClient:
    def __init__(self, node: Node, executor: Executor, timeout: float = 30.0) -> None:
        self.executor = executor
        self.timeout = timeout
        self.status: RecorderStatus | None = None
        self._start = node.create_client(StartEpisode, topics.RECORDER_START)
        self._stop = node.create_client(Trigger, topics.RECORDER_STOP)
        self._discard = node.create_client(Trigger, topics.RECORDER_DISCARD)
        node.create_subscription(
            RecorderStatus, topics.RECORDER_STATUS, self._on_status, qos.LATCHED
        )
        self._settled = False

    def _on_status(self, msg: RecorderStatus) -> None:
        self.status = msg

    def _call(self, client, request):  # noqa: ANN001, ANN202 - any service
        if not client.wait_for_service(timeout_sec=self.timeout):
            raise ServiceUnavailable(f"{client.srv_name} is not available (is recorder_node up?)")
        if not self._settled:
            spin_until(self.executor, lambda: False, DISCOVERY_SETTLE_S)
            self._settled = True
        future = client.call_async(request)
        if not spin_until(self.executor, future.done, self.timeout):
            client.remove_pending_request(future)
            raise ServiceUnavailable(f"{client.srv_name} did not answer within {self.timeout} s")
        return future.result()

    def start(self, task: str = "") -> StartEpisode.Response:
        return self._call(self._start, StartEpisode.Request(task=task))

    def stop(self) -> Trigger.Response:
        return self._call(self._stop, Trigger.Request())

    def discard(self) -> Trigger.Response:
        return self._call(self._discard, Trigger.Request())

    def wait_saved(self, episodes: int, timeout: float = 120.0) -> bool:
        """Until the dataset holds ``episodes`` saved episodes and nothing is being written."""
        return spin_until(
            self.executor,
            lambda: (
                self.status is not None
                and self.status.saved_episodes >= episodes
                and self.status.saving == 0
            ),
            timeout,
        )
