"""The robot model a ROS node acts on: a URDF file, a robot shipped here, or the URDF its
driver (or robot_state_publisher) latches on /robot_description."""

from __future__ import annotations

from rclpy.node import Node
from rclpy.wait_for_message import wait_for_message
from std_msgs.msg import String

from lerobot_ros.robots import RobotModel, RobotModelError, known_robot
from lerobot_ros.robots.robot_model import load_urdf, parse_urdf
from lerobot_ros.ros import qos, topics

DESCRIPTION_WAIT_S = 10.0  # for a latched /robot_description when the URDF comes from there


def robot_model(
    node: Node, urdf_path: str, robot: str | None, source: str, wait_s: float = DESCRIPTION_WAIT_S
) -> RobotModel:
    """Joint names and limits: the URDF file given, else the shipped ``robot`` (a feature
    mapping's), else the URDF on /robot_description. ``source`` names what gave no robot."""
    if urdf_path:
        return load_urdf(urdf_path)
    if robot is not None:
        return known_robot(robot)
    received, message = wait_for_message(
        String, node, topics.ROBOT_DESCRIPTION, qos_profile=qos.LATCHED, time_to_wait=wait_s
    )
    if not received:
        raise RobotModelError(
            f"{source} names no robot, robot_description is empty, and nothing published "
            f"{topics.ROBOT_DESCRIPTION} within {wait_s:g} s: start the robot's driver (or "
            "robot_state_publisher) first, or set robot_description to the robot's URDF file"
        )
    return parse_urdf(message.data, topics.ROBOT_DESCRIPTION)
