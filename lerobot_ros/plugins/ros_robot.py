"""Any ROS robot on the topic contract as a LeRobot Robot: ``--robot.type=lerobot_ros``.

The feature mapping (``--robot.mapping``, default the Panda pick-cube's) says which topics
form the observation and where actions go, so ``observation_features`` and
``action_features`` are known before connecting: every ``observation.state`` name (joints
as ``<joint>.pos``, LeRobot's key, then ``state_extra`` fields) and every environment-state
field is a float feature, each camera an image; LeRobot's own recording turns them back into
``observation.state`` (the environment state folded in after the joints: a LeRobot Robot has
only floats and images) and ``observation.images.<camera>``.

``connect()`` starts an rclpy node in its own context (the project's network defaults) with
an executor thread, subscribes to the mapped topics and waits until each has delivered,
naming what is missing (and what a topic carries when its type is wrong).
``get_observation()`` returns the newest samples aligned to one instant (every input at or
before the newest stamp they all reach, none older than the mapping's ``max_age``), the
recorder's rule. ``send_action()`` goes through the safety layer (the robot model's limits:
``--robot.robot_description`` URDF, else the mapping's robot, else /robot_description;
``--robot.max_relative_target``) and returns what was sent.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from lerobot.robots.config import RobotConfig
from lerobot.robots.robot import Robot

from lerobot_ros.control.joint_commands import JointLimits
from lerobot_ros.features import adapters
from lerobot_ros.features.alignment import NotReady, ObservationAligner
from lerobot_ros.features.mapping import (
    OBS_ENVIRONMENT_STATE,
    OBS_STATE,
    default_mapping_path,
    load_mapping,
)
from lerobot_ros.plugins.ros_device import RosDevice, position_keys
from lerobot_ros.policy.safety import SafetyLayer
from lerobot_ros.ros.conversions import time_to_seconds

ROBOT_TYPE = "lerobot_ros"


@RobotConfig.register_subclass(ROBOT_TYPE)
@dataclass
class RosRobotConfig(RobotConfig):
    mapping: str = ""  # feature mapping YAML; "" = config/features/panda_pick_cube.yaml
    robot_description: str = ""  # URDF file for the joint limits; see the module doc
    max_relative_target: float | None = None  # rad (m) per action, as LeRobot's robots
    connect_timeout_s: float = 10.0  # for every mapped topic to deliver once
    observation_timeout_s: float = 1.0  # for an aligned observation in get_observation
    node_name: str = "lerobot_robot_plugin"


class RosRobot(RosDevice, Robot):
    config_class = RosRobotConfig
    name = ROBOT_TYPE

    def __init__(self, config: RosRobotConfig) -> None:
        super().__init__(config)
        self.config = config
        self.mapping = load_mapping(config.mapping or default_mapping_path())
        features = self.mapping.lerobot_features()
        # Joints as "<joint>.pos" (LeRobot's key), then any state_extra fields by their names.
        joints = len(self.mapping.state.names)
        state_names = list(features[OBS_STATE]["names"])
        self._state_names = position_keys(state_names[:joints]) + state_names[joints:]
        self._action_keys = position_keys(self.mapping.action.names)
        self._environment_names = list(features.get(OBS_ENVIRONMENT_STATE, {}).get("names", []))
        # LeRobot's record sizes its image writers by the robot's cameras: here image topics.
        self.cameras = {image.name: image for image in self.mapping.images}
        self._node = None  # the BackgroundNode's, while connected
        self._lock = threading.Lock()
        self._aligner = ObservationAligner(self.mapping.source_keys, self.mapping.max_age)
        self._errors: dict[str, str] = {}
        self.safety: SafetyLayer | None = None

    # --- what LeRobot reads before connecting ----------------------------------------------
    @property
    def observation_features(self) -> dict[str, Any]:
        floats = dict.fromkeys([*self._state_names, *self._environment_names], float)
        images = {image.name: (image.height, image.width, 3) for image in self.mapping.images}
        return {**floats, **images}

    @property
    def action_features(self) -> dict[str, type]:
        return dict.fromkeys(self._action_keys, float)

    # --- connecting -----------------------------------------------------------------------
    def connect(self, calibrate: bool = True) -> None:
        del calibrate
        self._node = self._start_node(self.config.node_name).node
        try:
            self._create_io()
            self._wait_for_inputs()
            self.safety = self._safety_layer()
        except Exception:
            self.disconnect()
            raise

    def _create_io(self) -> None:
        from std_msgs.msg import Float64MultiArray
        from trajectory_msgs.msg import JointTrajectory

        from lerobot_ros.ros import qos
        from lerobot_ros.ros.message_classes import MESSAGE_CLASSES

        mapping, node = self.mapping, self._node
        converters = adapters.input_converters(mapping)
        images = {image.key for image in mapping.images}
        self._topics = {}
        for key, (topic, type_name) in mapping.topic_types().items():
            if key not in converters:
                continue  # the action: published, not read
            self._topics[key] = (topic, type_name)
            node.create_subscription(
                MESSAGE_CLASSES[type_name],
                topic,
                lambda msg, key=key, convert=converters[key]: self._on_input(key, msg, convert),
                qos.with_reliability(
                    qos.IMAGE if key in images else qos.STATE, mapping.reliability(key)
                ),
            )
        action_type = (
            Float64MultiArray if mapping.action.type == "position_command" else JointTrajectory
        )
        self._action_pub = node.create_publisher(action_type, mapping.action.topic, qos.COMMAND)

    def _on_input(self, key: str, msg: Any, convert: Any) -> None:  # noqa: ANN401
        try:
            value = convert(msg)
        except adapters.InputError as error:
            with self._lock:
                self._errors[key] = str(error)
            return
        header = adapters.input_header(msg, self.mapping.environment_state)
        stamp = time_to_seconds(header.stamp) if header is not None else self._ros.now()
        with self._lock:
            self._errors.pop(key, None)
            self._aligner.add(key, stamp, value)

    def _wait_for_inputs(self) -> None:
        deadline = time.monotonic() + self.config.connect_timeout_s
        while time.monotonic() < deadline:
            if not self._silent_inputs():
                return
            time.sleep(0.05)
        missing = [self._why_silent(key) for key in self._silent_inputs()]
        raise ConnectionError(
            f"{self}: no message within {self.config.connect_timeout_s:g} s on "
            + "; ".join(missing)
        )

    def _silent_inputs(self) -> list[str]:
        with self._lock:
            return [
                key for key, buffer in self._aligner.buffers.items() if buffer.newest_stamp is None
            ]

    def _why_silent(self, key: str) -> str:
        topic, type_name = self._topics[key]
        publishers = self._node.get_publishers_info_by_topic(topic)
        if not publishers:
            return f"{topic} ({key}): nothing publishes it"
        types = sorted({info.topic_type for info in publishers})
        if type_name not in types:
            return (
                f"{topic} ({key}): published as {', '.join(types)}, the mapping reads {type_name}"
            )
        error = self._errors.get(key)
        return f"{topic} ({key}): " + (
            f"malformed: {error}" if error else "published, none arrived"
        )

    def _safety_layer(self) -> SafetyLayer:
        from lerobot_ros.robots import from_ros

        model = from_ros.robot_model(
            self._node,
            self.config.robot_description,
            self.mapping.robot,
            str(self.mapping.source),
            wait_s=self.config.connect_timeout_s,
        )
        names = self.mapping.action.names
        lower, upper = model.position_limits(names)
        return SafetyLayer(JointLimits(names, lower, upper), self.config.max_relative_target)

    # --- acting ---------------------------------------------------------------------------
    def get_observation(self) -> dict[str, Any]:
        if not self.is_connected:
            raise ConnectionError(f"{self} is not connected")
        deadline = time.monotonic() + self.config.observation_timeout_s
        while True:
            with self._lock:
                stamp = self._aligner.newest_common_stamp()
                aligned = self._aligner.sample(stamp) if stamp is not None else None
            if aligned is not None and not isinstance(aligned, NotReady):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self}: no aligned observation: {aligned}")
            time.sleep(0.005)
        values = self.mapping.compose(aligned.values)
        observation: dict[str, Any] = dict(
            zip(self._state_names, np.asarray(values[OBS_STATE], dtype=float).tolist(), strict=True)
        )
        if self._environment_names:
            environment = np.asarray(values[OBS_ENVIRONMENT_STATE], dtype=float).tolist()
            observation |= dict(zip(self._environment_names, environment, strict=True))
        for image in self.mapping.images:
            observation[image.name] = values[image.key]
        return observation

    def send_action(self, action: dict[str, Any]) -> dict[str, Any]:
        if not self.is_connected:
            raise ConnectionError(f"{self} is not connected")
        keys = self._action_keys
        missing = [key for key in keys if key not in action]
        if missing:
            raise ValueError(f"{self}: the action lacks {missing}; it needs {keys}")
        wanted = self.mapping.action_to_ros(np.array([float(action[key]) for key in keys]))
        # The step is bounded from the newest joint state, whatever observation came before.
        with self._lock:
            newest = self._aligner.buffers[OBS_STATE].as_of(np.inf)
        filtered = self.safety.filter(wanted, None if newest is None else newest[1])
        if filtered.action is None:
            raise ValueError(f"{self}: action refused: {filtered.reason}")
        self._action_pub.publish(
            adapters.action_message(
                filtered.action, self.mapping.action, self._ros.now(), 1.0 / self.mapping.fps
            )
        )
        # In the action's own units (degrees where the mapping says so), as LeRobot's robots.
        sent = self.mapping.compose({"action": filtered.action})["action"]
        return dict(zip(keys, np.asarray(sent, dtype=float).tolist(), strict=True))

    # --- disconnecting --------------------------------------------------------------------
    def disconnect(self) -> None:
        self._node = None
        super().disconnect()
