"""The robot model from a URDF: names, types, limits and mimic joints, and what a bad
description says."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lerobot_ros.robots import RobotModelError, known_robot
from lerobot_ros.robots.robot_model import load_urdf, parse_urdf

ARM = """<?xml version="1.0"?>
<robot name="three_joint_arm">
  <link name="base"/><link name="a"/><link name="b"/><link name="c"/><link name="d"/><link name="e"/>
  <joint name="mount" type="fixed"><parent link="base"/><child link="a"/></joint>
  <joint name="shoulder" type="revolute"><parent link="a"/><child link="b"/>
    <limit lower="-1.5" upper="1.5" velocity="2.0" effort="10"/></joint>
  <joint name="wrist_roll" type="continuous"><parent link="b"/><child link="c"/>
    <limit velocity="3.0" effort="2"/></joint>
  <joint name="jaw" type="prismatic"><parent link="c"/><child link="d"/>
    <limit lower="0" upper="0.03" velocity="0.1" effort="20"/></joint>
  <joint name="jaw_mirror" type="prismatic"><parent link="c"/><child link="e"/>
    <limit lower="0" upper="0.03" velocity="0.1" effort="20"/><mimic joint="jaw"/></joint>
</robot>
"""


def test_movable_joints_with_limits_and_mimics_in_urdf_order(tmp_path):
    path = tmp_path / "arm.urdf"
    path.write_text(ARM)
    model = load_urdf(path)
    assert model.name == "three_joint_arm" and model.source == str(path)
    assert model.joint_names == ("shoulder", "wrist_roll", "jaw", "jaw_mirror")
    assert model.commanded_names == ("shoulder", "wrist_roll", "jaw")
    assert model.joint("jaw_mirror").mimic == "jaw"
    lower, upper = model.position_limits(("jaw", "shoulder", "wrist_roll"))
    np.testing.assert_array_equal(lower, [0.0, -1.5, -math.inf])
    np.testing.assert_array_equal(upper, [0.03, 1.5, math.inf])
    np.testing.assert_array_equal(model.velocity_limits(("shoulder",)), [2.0])
    with pytest.raises(RobotModelError, match=r"no movable joint 'elbow' \(it has \['shoulder'"):
        model.position_limits(("elbow",))


def test_the_panda_is_one_robot_among_others():
    panda = known_robot("panda")
    assert panda.commanded_names[-1] == "panda_finger_joint1"
    assert panda.joint("panda_finger_joint2").mimic == "panda_finger_joint1"
    assert panda.joint("panda_joint1").upper == pytest.approx(2.8973)
    with pytest.raises(
        RobotModelError, match=r"robot 'so101' is unknown; known robots: \['panda'\]"
    ):
        known_robot("so101")


@pytest.mark.parametrize(
    "text, message",
    [
        ("<robot", "is not valid XML"),
        ("<sdf/>", "the root element is <sdf>, not <robot>"),
        ('<robot name="r"><joint name="j" type="fixed"/></robot>', "has no movable joint"),
        ('<robot><joint name="j" type="revolute"/></robot>', "a revolute joint needs a <limit>"),
        (
            '<robot><joint name="j" type="revolute"><limit lower="1" upper="0"/></joint></robot>',
            "lower limit 1.0 is above upper 0.0",
        ),
        (
            '<robot><joint name="j" type="revolute"><limit lower="a" upper="0"/></joint></robot>',
            "lower='a' is not a number",
        ),
        (
            '<robot><joint name="j" type="continuous"/><joint name="j" type="continuous"/></robot>',
            "joint names repeat",
        ),
        ('<robot><joint type="continuous"/></robot>', "a <joint> has no name"),
    ],
)
def test_a_bad_description_is_named(text, message):
    with pytest.raises(RobotModelError, match=message):
        parse_urdf(text, "test.urdf")


def test_a_missing_urdf_file_is_named(tmp_path):
    with pytest.raises(RobotModelError, match="URDF file not found"):
        load_urdf(tmp_path / "missing.urdf")
