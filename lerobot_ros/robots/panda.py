"""The Franka Emika Panda (arm + hand): the one place its description is defined.

Everything else (the MuJoCo scene, the ROS nodes, the dataset features) reads joint names,
limits, the home pose and camera frames from here, so they can never disagree.

The kinematics, inertias and meshes come from the ``example-robot-data`` pip package (a
cmeel wheel that ships ``panda_description`` as data, no Python module), so nothing is
downloaded at runtime. On top of it :func:`robot_description` adds a ``world`` root link
(REP 105) and the two camera frames, from ``urdf/panda_scene_frames.urdf``.
"""

from __future__ import annotations

import functools
import importlib.metadata
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from lerobot_ros.resources import share_dir
from lerobot_ros.robots.robot_model import RobotModel, parse_urdf
from lerobot_ros.ros import topics

ARM_JOINT_NAMES: tuple[str, ...] = tuple(f"panda_joint{i}" for i in range(1, 8))
GRIPPER_JOINT_NAME = "panda_finger_joint1"
# The second finger mimics the first; it is never commanded on its own.
MIMIC_GRIPPER_JOINT_NAME = "panda_finger_joint2"
# Order of /joint_states, commands, observation.state and actions everywhere.
JOINT_NAMES: tuple[str, ...] = ARM_JOINT_NAMES + (GRIPPER_JOINT_NAME,)

GRIPPER_OPEN = 0.04  # m, panda_finger_joint1 at its upper limit: fingers 8 cm apart
GRIPPER_CLOSED = 0.0

# The usual Franka "ready" pose: elbow up, hand pointing down, fingers open.
HOME_POSITION = np.array(
    [0.0, -math.pi / 4, 0.0, -3 * math.pi / 4, 0.0, math.pi / 2, math.pi / 4, GRIPPER_OPEN]
)
HOME_POSITION.setflags(write=False)

WORLD_FRAME = "world"
BASE_LINK = "panda_link0"
HAND_LINK = "panda_hand"
# Between the fingertips when closed: the point the hand grasps with (from the URDF).
TCP_LINK = "panda_hand_tcp"

CAMERA_NAMES: tuple[str, ...] = ("front", "wrist")


@functools.lru_cache(maxsize=1)
def description_dir() -> Path:
    """``panda_description`` inside the installed example-robot-data wheel."""
    distribution = importlib.metadata.distribution("example-robot-data")
    for file in distribution.files or ():
        if file.name == "panda.urdf" and file.parent.name == "urdf":
            return Path(distribution.locate_file(file)).resolve().parent.parent
    raise FileNotFoundError("example-robot-data is installed but has no panda_description")


def camera_link(name: str) -> str:
    """The camera's body frame (x forward, y left, z up, REP 103)."""
    _check_camera(name)
    return f"{name}_camera_link"


def camera_frame_id(name: str) -> str:
    """The camera's optical frame (z forward, x right, y down): the frame_id of its images."""
    _check_camera(name)
    return topics.camera_optical_frame(name)


def _check_camera(name: str) -> None:
    if name not in CAMERA_NAMES:
        raise ValueError(f"unknown camera {name!r}, expected one of {CAMERA_NAMES}")


SCENE_FRAMES_FILE = "panda_scene_frames.urdf"


@functools.lru_cache(maxsize=1)
def robot_description() -> str:
    """URDF of the Panda in the ``world`` frame, with its cameras, for /robot_description.

    Mesh filenames are absolute ``file://`` URIs (RViz resolves those without a ROS package
    index); visual meshes stay the COLLADA ones RViz renders best.
    """
    root_dir = description_dir()
    robot = ET.parse(root_dir / "urdf" / "panda.urdf").getroot()
    package_prefix = "package://example-robot-data/robots/panda_description/"
    for mesh in robot.iter("mesh"):
        filename = mesh.get("filename", "")
        if filename.startswith(package_prefix):
            path = root_dir / filename[len(package_prefix) :]
            mesh.set("filename", path.as_uri())

    # The world root and the camera frames live in urdf/, where users move cameras.
    frames = ET.parse(share_dir() / "urdf" / SCENE_FRAMES_FILE).getroot()
    robot.extend(list(frames))

    ET.indent(robot, space="  ")
    return '<?xml version="1.0"?>\n' + ET.tostring(robot, encoding="unicode") + "\n"


@functools.lru_cache(maxsize=1)
def model() -> RobotModel:
    """The Panda's joints and limits, parsed from :func:`robot_description`."""
    return parse_urdf(robot_description(), "the Panda's description")


def joint_limits() -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) position limits of :data:`JOINT_NAMES`, read from the URDF."""
    return model().position_limits(JOINT_NAMES)


def velocity_limits() -> np.ndarray:
    """Velocity limits (rad/s, m/s for the gripper) of :data:`JOINT_NAMES`, from the URDF."""
    return model().velocity_limits(JOINT_NAMES)


def effort_limits() -> np.ndarray:
    """Effort limits (N m, N for the gripper) of :data:`JOINT_NAMES`, from the URDF."""
    return np.array([model().joint(name).effort for name in JOINT_NAMES])
