"""A robot's joints as its URDF describes them: names, types, limits and mimic joints.

One small parser (the standard library's XML) for every robot: the Panda's description, a
user's URDF file, or the text of /robot_description. Nothing here knows a particular robot.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MOVABLE_TYPES = ("revolute", "prismatic", "continuous")


class RobotModelError(ValueError):
    """The robot description cannot be used; the message names the joint and the source."""


@dataclass(frozen=True)
class JointModel:
    name: str
    type: str  # revolute, prismatic or continuous
    lower: float  # rad or m; -inf / inf for a continuous joint
    upper: float
    velocity: float  # rad/s or m/s
    effort: float
    mimic: str | None = None  # the joint this one follows; never commanded on its own


@dataclass(frozen=True)
class RobotModel:
    name: str
    joints: tuple[JointModel, ...]  # the movable joints, in the URDF's order
    source: str = "<memory>"

    @property
    def joint_names(self) -> tuple[str, ...]:
        return tuple(joint.name for joint in self.joints)

    @property
    def commanded_names(self) -> tuple[str, ...]:
        """The joints a command sets (mimic joints follow their leader)."""
        return tuple(joint.name for joint in self.joints if joint.mimic is None)

    def joint(self, name: str) -> JointModel:
        for joint in self.joints:
            if joint.name == name:
                return joint
        raise RobotModelError(
            f"{self.source}: robot {self.name!r} has no movable joint {name!r} (it has "
            f"{list(self.joint_names)})"
        )

    def position_limits(self, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) of ``names``, in that order; RobotModelError names an unknown one."""
        joints = [self.joint(name) for name in names]
        return np.array([j.lower for j in joints]), np.array([j.upper for j in joints])

    def velocity_limits(self, names: tuple[str, ...]) -> np.ndarray:
        return np.array([self.joint(name).velocity for name in names])


def _number(element: ET.Element | None, key: str, default: float, where: str) -> float:
    text = element.get(key) if element is not None else None
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise RobotModelError(f"{where}: {key}={text!r} is not a number") from None
    if math.isnan(value):
        raise RobotModelError(f"{where}: {key} is NaN")
    return value


def parse_urdf(text: str, source: str = "<memory>") -> RobotModel:
    """The movable joints of a URDF document; RobotModelError says what is wrong and where."""
    try:
        robot = ET.fromstring(text)
    except ET.ParseError as error:
        raise RobotModelError(f"{source} is not valid XML: {error}") from None
    if robot.tag != "robot":
        raise RobotModelError(f"{source}: the root element is <{robot.tag}>, not <robot>")
    joints = []
    for element in robot.findall("joint"):
        name, kind = element.get("name"), element.get("type")
        where = f"{source}: joint {name!r}"
        if not name:
            raise RobotModelError(f"{source}: a <joint> has no name")
        if kind not in MOVABLE_TYPES:
            continue  # fixed, floating, planar: nothing a joint command sets
        limit = element.find("limit")
        if limit is None and kind != "continuous":
            raise RobotModelError(f"{where}: a {kind} joint needs a <limit> (URDF spec)")
        unbounded = kind == "continuous"
        lower = -math.inf if unbounded else _number(limit, "lower", 0.0, where)
        upper = math.inf if unbounded else _number(limit, "upper", 0.0, where)
        if lower > upper:
            raise RobotModelError(f"{where}: lower limit {lower} is above upper {upper}")
        mimic = element.find("mimic")
        joints.append(
            JointModel(
                name=name,
                type=kind,
                lower=lower,
                upper=upper,
                velocity=_number(limit, "velocity", math.inf, where),
                effort=_number(limit, "effort", math.inf, where),
                mimic=mimic.get("joint") if mimic is not None else None,
            )
        )
    names = [joint.name for joint in joints]
    if len(set(names)) != len(names):
        raise RobotModelError(f"{source}: joint names repeat: {names}")
    if not joints:
        raise RobotModelError(f"{source}: robot {robot.get('name')!r} has no movable joint")
    return RobotModel(robot.get("name") or "robot", tuple(joints), source)


def load_urdf(path: str | Path) -> RobotModel:
    """Read and parse a URDF file (xacro must be expanded first)."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise RobotModelError(f"URDF file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise RobotModelError(f"cannot read URDF file {path}: {error}") from None
    return parse_urdf(text, str(path))


def urdf_from_joints(robot_name: str, joints: Sequence[JointModel]) -> str:
    """A URDF of ``joints`` as one serial chain without geometry: the model of a robot that
    ships no description (its motors and their calibrated ranges), for /robot_description.
    Joint frames coincide (no kinematics is known): RViz shows the tree, not the arm's shape."""
    robot = ET.Element("robot", name=robot_name)
    ET.SubElement(robot, "link", name="base_link")
    parent = "base_link"
    for joint in joints:
        child = f"{joint.name}_link"
        ET.SubElement(robot, "link", name=child)
        element = ET.SubElement(robot, "joint", name=joint.name, type=joint.type)
        ET.SubElement(element, "parent", link=parent)
        ET.SubElement(element, "child", link=child)
        ET.SubElement(element, "axis", xyz="0 0 1")
        limit = {"velocity": _urdf_number(joint.velocity), "effort": _urdf_number(joint.effort)}
        if joint.type != "continuous":
            limit |= {"lower": _urdf_number(joint.lower), "upper": _urdf_number(joint.upper)}
        ET.SubElement(element, "limit", **limit)
        if joint.mimic is not None:
            ET.SubElement(element, "mimic", joint=joint.mimic)
        parent = child
    ET.indent(robot, space="  ")
    return '<?xml version="1.0"?>\n' + ET.tostring(robot, encoding="unicode") + "\n"


def _urdf_number(value: float) -> str:
    # URDF has no infinity: an unknown velocity or effort limit is written as 0 ("none").
    return repr(float(value)) if math.isfinite(value) else "0"
