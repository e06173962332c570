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

from lerobot_ros.interfaces import TaskStatus
from lerobot_ros.robots import panda
from lerobot_ros.ros import qos, topics
from lerobot_ros.ros.node_main import run_node
from lerobot_ros.sim.expert import ScriptedPickExpert

CUBE_MARKER_NAME = "cube"


def joint_positions_in_order(msg: JointState, names: tuple[str, ...]) -> np.ndarray | None:
    """Positions of ``names`` from a JointState in any order; None if one is missing."""
    index = {name: i for i, name in enumerate(msg.name)}
    if any(name not in index for name in names) or len(msg.position) != len(msg.name):
        return None
    return np.array([msg.position[index[name]] for name in names])


class ScriptedTeleopNode(Node):
    def __init__(self, **node_kwargs) -> None:
        super().__init__("scripted_teleop_node", **node_kwargs)
        self.expert = ScriptedPickExpert()
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
        for marker in msg.markers:
            if marker.text == CUBE_MARKER_NAME:
                p, o = marker.pose.position, marker.pose.orientation
                self.cube_pose = (np.array([p.x, p.y, p.z]), np.array([o.w, o.x, o.y, o.z]))

    def on_status(self, msg: TaskStatus) -> None:
        if msg.episode_index != self.episode_index:  # a reset: start the pick over
            self.episode_index = msg.episode_index
            self.expert.reset()

    def on_joint_states(self, msg: JointState) -> None:
        positions = joint_positions_in_order(msg, panda.JOINT_NAMES)
        if positions is None or self.cube_pose is None:
            return
        action = self.expert.act(positions, *self.cube_pose)
        self.command_pub.publish(Float64MultiArray(data=[float(v) for v in action]))
        self.commands_sent += 1


def main(args: list[str] | None = None) -> int:
    return run_node("scripted_teleop_node", ScriptedTeleopNode, SingleThreadedExecutor, args)


if __name__ == "__main__":
    sys.exit(main())
