"""The robot the simulation simulates, as the sim graph's nodes see it: the Panda.

sim_node, the scripted expert's teleop and the keyboard jog take joint names, limits, the home
pose and the camera frames from here; nodes that drive any robot (policy_node, the recorder,
the hardware drivers) take them from that robot's URDF (:mod:`lerobot_ros.robots`) instead.
"""

from __future__ import annotations

from lerobot_ros.control.joint_commands import JointLimits
from lerobot_ros.robots import panda
from lerobot_ros.robots.panda import (
    ARM_JOINT_NAMES,
    CAMERA_NAMES,
    GRIPPER_JOINT_NAME,
    HOME_POSITION,
    JOINT_NAMES,
    camera_frame_id,
    robot_description,
    velocity_limits,
)

__all__ = [
    "ARM_JOINT_NAMES",
    "CAMERA_NAMES",
    "GRIPPER_JOINT_NAME",
    "HOME_POSITION",
    "JOINT_NAMES",
    "camera_frame_id",
    "joint_limits",
    "robot_description",
    "velocity_limits",
]


def joint_limits() -> JointLimits:
    """Position limits of :data:`JOINT_NAMES`, from the URDF."""
    lower, upper = panda.joint_limits()
    return JointLimits(JOINT_NAMES, lower, upper)
