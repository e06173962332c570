"""``scripted_teleop_node``: the scripted pick expert driving any graph over ROS topics.

It reads what a ROS client can see (``/joint_states`` and the cube marker on
``/scene/markers``) and commands ``/position_controller/commands``, one command per joint
state, so it drives the sim exactly as a policy or a person would.
"""

from __future__ import annotations

import sys

import numpy as np
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from visualization_msgs.msg import MarkerArray

from lerobot_ros.features import adapters
from lerobot_ros.features.mapping import PoseInput, StateInput
from lerobot_ros.interfaces import TaskStatus
from lerobot_ros.policy.safety import SafetyLayer
from lerobot_ros.ros import qos, topics
from lerobot_ros.ros.node_main import run_node
from lerobot_ros.sim import robot as sim_robot
from lerobot_ros.sim.expert import ScriptedPickExpert

CUBE_MARKER_NAME = "cube"


# The same validated adapters as the policy node and the bag converter.
JOINTS = StateInput(topics.JOINT_STATES, sim_robot.JOINT_NAMES)
CUBE = PoseInput(topics.SCENE_MARKERS, CUBE_MARKER_NAME)


class ScriptedTeleopNode(Node):
    def __init__(self, **node_kwargs) -> None:
        super().__init__("scripted_teleop_node", **node_kwargs)
        self.expert = ScriptedPickExpert()
        # The same safety layer as the policy's actions and the other teleoperators.
        self.safety = SafetyLayer(sim_robot.joint_limits())
        self.cube_pose: tuple[np.ndarray, np.ndarray] | None = None
        self.episode_index: int | None = None
        self.commands_sent = 0
        self.command_pub = self.create_publisher(
            Float64MultiArray, topics.POSITION_COMMANDS, qos.COMMAND
        )
        self.create_subscription(MarkerArray, topics.SCENE_MARKERS, self.on_markers, qos.STATE)
        self.create_subscription(TaskStatus, topics.TASK_STATUS, self.on_status, qos.STATE)
        self.create_subscription(JointState, topics.JOINT_STATES, self.on_joint_states, qos.STATE)

    def on_markers(self, msg: MarkerArray) -> None:
        try:
            pose = adapters.pose_vector(msg, CUBE)
        except adapters.InputError:
            return  # no cube in this message: keep the last pose
        self.cube_pose = (pose[:3], pose[3:])

    def on_status(self, msg: TaskStatus) -> None:
        if msg.episode_index != self.episode_index:  # a reset: start the pick over
            self.episode_index = msg.episode_index
            self.expert.reset()

    def on_joint_states(self, msg: JointState) -> None:
        if self.cube_pose is None:
            return
        try:
            positions = adapters.state_vector(msg, JOINTS)
        except adapters.InputError as error:
            self.get_logger().error(f"ignored joint state: {error}", throttle_duration_sec=1.0)
            return
        filtered = self.safety.filter(self.expert.act(positions, *self.cube_pose), positions)
        if filtered.action is None:
            self.get_logger().error(
                f"command refused: {filtered.reason}", throttle_duration_sec=1.0
            )
            return
        self.command_pub.publish(Float64MultiArray(data=filtered.action.tolist()))
        self.commands_sent += 1


def main(args: list[str] | None = None) -> int:
    return run_node("scripted_teleop_node", ScriptedTeleopNode, SingleThreadedExecutor, args)


if __name__ == "__main__":
    sys.exit(main())
