"""Keyboard jog: keys move the grasp point as labelled, IK follows, the gripper toggles."""

from __future__ import annotations

import os

import numpy as np
import pytest

from lerobot_ros.robots import panda
from lerobot_ros.teleop.keyboard_jog import JogSettings, KeyboardJog
from lerobot_ros.teleop.terminal import TerminalKeys


@pytest.fixture(scope="module")
def jog():
    return KeyboardJog(JogSettings(step=0.02))


@pytest.mark.parametrize(
    ("key", "axis", "sign"),
    [("w", 0, 1), ("s", 0, -1), ("a", 1, 1), ("d", 1, -1), ("r", 2, 1), ("f", 2, -1)],
)
def test_each_key_moves_the_grasp_point_along_its_axis(jog, key, axis, sign):
    jog.start_from(panda.HOME_POSITION)
    before = jog.tcp_position
    for _ in range(3):
        assert jog.press(key)
    moved = jog.tcp_position - before
    assert moved[axis] * sign == pytest.approx(0.06, abs=2e-3)
    assert np.abs(np.delete(moved, axis)).max() < 2e-3
    # The joint target really puts the hand there (forward kinematics of the target).
    reached, _ = jog.kinematics.tcp_pose(jog.target()[:7])
    np.testing.assert_allclose(reached, jog.tcp_position, atol=1e-3)


def test_yaw_keys_turn_the_hand_in_place(jog):
    jog.start_from(panda.HOME_POSITION)
    before = jog.tcp_position
    _, rotation_before = jog.kinematics.tcp_pose(jog.target()[:7])
    for _ in range(4):
        jog.press("q")
    after, rotation_after = jog.kinematics.tcp_pose(jog.target()[:7])
    np.testing.assert_allclose(after, before, atol=2e-3)
    yaw = np.arctan2(rotation_after[1, 0], rotation_after[0, 0]) - np.arctan2(
        rotation_before[1, 0], rotation_before[0, 0]
    )
    assert np.degrees(yaw) == pytest.approx(20.0, abs=1.0)


def test_gripper_toggle_home_and_unknown_keys(jog):
    jog.start_from(panda.HOME_POSITION)
    opened = jog.target()[7]
    jog.press(" ")
    assert jog.target()[7] < opened
    jog.press(" ")
    assert jog.target()[7] == opened
    jog.press("w")
    jog.press("h")
    np.testing.assert_allclose(jog.target()[:7], panda.HOME_POSITION[:7])
    assert not jog.press("x")  # ignored, target unchanged
    np.testing.assert_allclose(jog.target()[:7], panda.HOME_POSITION[:7])


def test_out_of_reach_targets_stay_within_limits(jog):
    jog.start_from(panda.HOME_POSITION)
    for _ in range(100):  # 2 m forward: far beyond the arm's reach
        jog.press("w")
    lower, upper = panda.joint_limits()
    target = jog.target()
    assert np.all(target >= lower) and np.all(target <= upper)
    reached, _ = jog.kinematics.tcp_pose(target[:7])
    np.testing.assert_allclose(reached, jog.tcp_position, atol=1e-6)  # the target is real


def test_terminal_keys_read_a_pty_and_refuse_a_pipe():
    leader, follower = os.openpty()
    with os.fdopen(follower, "rb", buffering=0) as stream:
        keys = TerminalKeys(stream)
        assert keys.read() == []
        os.write(leader, b"wa ")
        assert keys.read() == ["w", "a", " "]
        keys.close()
    os.close(leader)
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as pipe, pytest.raises(OSError, match="needs a terminal"):
        TerminalKeys(pipe)
    os.close(write_end)
