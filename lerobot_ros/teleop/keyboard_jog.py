"""Keyboard end-effector jog: keys move a Cartesian target, IK turns it into joint targets.

Plain Python; ``keyboard_teleop_node`` feeds it keys from the terminal and publishes what it
returns through the safety layer. The target lives in the world frame (x forward, y left,
z up, REP 103) at the grasp point; the hand keeps its orientation except for yaw keys.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lerobot_ros.sim import robot as sim_robot
from lerobot_ros.sim.panda_kinematics import ARM_JOINTS, PandaKinematics

# key -> (translation direction, yaw direction)
MOTION_KEYS: dict[str, tuple[tuple[float, float, float], float]] = {
    "w": ((1, 0, 0), 0),
    "s": ((-1, 0, 0), 0),
    "a": ((0, 1, 0), 0),
    "d": ((0, -1, 0), 0),
    "r": ((0, 0, 1), 0),
    "f": ((0, 0, -1), 0),
    "q": ((0, 0, 0), 1),
    "e": ((0, 0, 0), -1),
}
GRIPPER_KEY = " "
HOME_KEY = "h"
HELP = (
    "keyboard jog: w/s x+/x-, a/d y+/y-, r/f up/down, q/e yaw left/right, "
    "space open/close gripper, h home, Ctrl-C quit"
)


@dataclass(frozen=True)
class JogSettings:
    step: float = 0.01  # m per key press
    yaw_step: float = math.radians(5.0)  # rad per key press
    gripper_open: float = 0.04  # m, the finger joint (panda_finger_joint1)
    gripper_closed: float = 0.0


def _yaw_rotation(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


class KeyboardJog:
    """Turns key presses into an 8-joint position target (7 arm joints + finger)."""

    def __init__(self, settings: JogSettings | None = None) -> None:
        self.settings = settings or JogSettings()
        self.kinematics = PandaKinematics()
        self._joints: np.ndarray | None = None  # the last commanded arm joints
        self._position: np.ndarray | None = None
        self._rotation: np.ndarray | None = None
        self.gripper_closed = False

    @property
    def started(self) -> bool:
        return self._joints is not None

    def start_from(self, measured: np.ndarray) -> None:
        """Take the robot's measured joints as the starting target (no jump)."""
        measured = np.asarray(measured, dtype=float)
        self._joints = measured[:ARM_JOINTS].copy()
        self._position, self._rotation = self.kinematics.tcp_pose(self._joints)
        self.gripper_closed = measured[ARM_JOINTS] < 0.5 * self.settings.gripper_open

    def press(self, key: str) -> bool:
        """Apply one key; False for a key that means nothing (ignored)."""
        if not self.started:
            raise RuntimeError("start_from(measured joints) first")
        if key == GRIPPER_KEY:
            self.gripper_closed = not self.gripper_closed
            return True
        if key == HOME_KEY:
            self._joints = np.array(sim_robot.HOME_POSITION[:ARM_JOINTS], dtype=float)
            self._position, self._rotation = self.kinematics.tcp_pose(self._joints)
            return True
        motion = MOTION_KEYS.get(key.lower())
        if motion is None:
            return False
        direction, yaw = motion
        position = self._position + self.settings.step * np.asarray(direction, dtype=float)
        rotation = _yaw_rotation(yaw * self.settings.yaw_step) @ self._rotation
        joints = self.kinematics.solve_ik(position, rotation, self._joints)
        reached, _ = self.kinematics.tcp_pose(joints)
        # Out of reach (IK stops short): keep the target where the arm can really be.
        self._joints, self._position, self._rotation = joints, reached, rotation
        return True

    def target(self) -> np.ndarray:
        gripper = (
            self.settings.gripper_closed if self.gripper_closed else self.settings.gripper_open
        )
        return np.concatenate([self._joints, [gripper]])

    @property
    def tcp_position(self) -> np.ndarray:
        return self._position.copy()
