"""A leader arm whose joint states arrive on a ROS topic, as a LeRobot Teleoperator:
``--teleop.type=lerobot_ros_leader``.

Its action is the newest ``sensor_msgs/JointState`` of ``--teleop.topic``: the positions of
the feature mapping's action joints (``--teleop.mapping``, default the Panda pick-cube's), by
name, in degrees where the mapping says so, keyed ``<joint>.pos`` as the follower plugin takes
them. A leader silent for ``--teleop.max_age_s`` is an error, never a stale command.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from lerobot.teleoperators.config import TeleoperatorConfig
from lerobot.teleoperators.teleoperator import Teleoperator

from lerobot_ros.features import adapters
from lerobot_ros.features.mapping import StateInput, default_mapping_path, load_mapping
from lerobot_ros.plugins.ros_device import RosDevice, position_keys

TELEOP_TYPE = "lerobot_ros_leader"


@TeleoperatorConfig.register_subclass(TELEOP_TYPE)
@dataclass
class RosLeaderConfig(TeleoperatorConfig):
    topic: str = "/leader/joint_states"
    mapping: str = ""  # its action joints are the leader's; "" = the Panda pick-cube mapping
    connect_timeout_s: float = 10.0
    max_age_s: float = 1.0  # s (wall clock) without a message: the leader is gone


class RosLeader(RosDevice, Teleoperator):
    config_class = RosLeaderConfig
    name = TELEOP_TYPE

    def __init__(self, config: RosLeaderConfig) -> None:
        super().__init__(config)
        self.config = config
        self.mapping = load_mapping(config.mapping or default_mapping_path())
        self._joints = StateInput(config.topic, self.mapping.action.names)
        self._action_keys = position_keys(self.mapping.action.names)
        self._lock = threading.Lock()
        self._newest: tuple[float, np.ndarray] | None = None
        self._error = ""

    @property
    def action_features(self) -> dict[str, type]:
        return dict.fromkeys(self._action_keys, float)

    @property
    def feedback_features(self) -> dict:
        return {}

    def connect(self, calibrate: bool = True) -> None:
        del calibrate
        from sensor_msgs.msg import JointState

        from lerobot_ros.ros import qos

        node = self._start_node("lerobot_leader_plugin").node
        node.create_subscription(JointState, self.config.topic, self._on_state, qos.STATE)
        deadline = time.monotonic() + self.config.connect_timeout_s
        while self._newest is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if self._newest is None:
            why = self._error or "no sensor_msgs/JointState arrived"
            self.disconnect()
            raise ConnectionError(
                f"{self}: {self.config.topic}: {why} within {self.config.connect_timeout_s:g} s"
            )

    def _on_state(self, msg: Any) -> None:  # noqa: ANN401 - a JointState
        try:
            positions = adapters.state_vector(msg, self._joints)
        except adapters.InputError as error:
            self._error = str(error)
            return
        with self._lock:
            self._newest = (time.monotonic(), positions)

    def get_action(self) -> dict[str, float]:
        if not self.is_connected:
            raise ConnectionError(f"{self} is not connected")
        with self._lock:
            received, positions = self._newest
        age = time.monotonic() - received
        if age > self.config.max_age_s:
            raise TimeoutError(
                f"{self}: the newest joint state on {self.config.topic} is {age:.2f} s old "
                f"(max_age_s {self.config.max_age_s:g})"
            )
        # The action's own units, as a policy or dataset has them (degrees where mapped so).
        action = self.mapping.compose({"action": positions})["action"]
        return dict(zip(self._action_keys, np.asarray(action).tolist(), strict=True))

    def send_feedback(self, feedback: dict[str, Any]) -> None:
        del feedback  # a topic leader has no motors to push back
