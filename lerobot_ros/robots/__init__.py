"""Robot descriptions (URDF, joint names, limits): robot_model parses any URDF; the robots
shipped here (the Panda) are looked up by name."""

from __future__ import annotations

from lerobot_ros.robots.robot_model import RobotModel, RobotModelError

KNOWN_ROBOTS = ("panda",)


def known_robot(name: str) -> RobotModel:
    """The model of a robot shipped here; RobotModelError lists them for another name."""
    if name == "panda":
        from lerobot_ros.robots import panda

        return panda.model()
    raise RobotModelError(f"robot {name!r} is unknown; known robots: {list(KNOWN_ROBOTS)}")
