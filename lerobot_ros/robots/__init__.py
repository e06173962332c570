"""Robot descriptions (URDF, joint names, limits): robot_model parses any URDF; the robots
shipped here (the Panda) are looked up by name, so no other package names one itself."""

from __future__ import annotations

import numpy as np

from lerobot_ros.robots.robot_model import RobotModel, RobotModelError

KNOWN_ROBOTS = ("panda",)


def known_robot(name: str) -> RobotModel:
    """The model of a robot shipped here; RobotModelError lists them for another name."""
    _check_known(name)
    from lerobot_ros.robots import panda

    return panda.model()


def home_position(name: str) -> dict[str, float]:
    """A shipped robot's rest pose: commanded joint -> position (rad, m)."""
    _check_known(name)
    from lerobot_ros.robots import panda

    return dict(zip(panda.JOINT_NAMES, np.asarray(panda.HOME_POSITION, dtype=float), strict=True))


def _check_known(name: str) -> None:
    if name not in KNOWN_ROBOTS:
        raise RobotModelError(f"robot {name!r} is unknown; known robots: {list(KNOWN_ROBOTS)}")
