"""Forward and inverse kinematics of the Panda arm, from the same description as the sim.

A kinematic MuJoCo model of the scene (never stepped): the grasp point's pose for given arm
joints, and damped-least-squares IK back. Used by the scripted expert and the keyboard
teleoperator's end-effector jog.
"""

from __future__ import annotations

import mujoco
import numpy as np

from lerobot_ros.robots import panda
from lerobot_ros.sim import scene

ARM_JOINTS = 7  # the first seven of panda.JOINT_NAMES; the eighth is the finger


class PandaKinematics:
    def __init__(self) -> None:
        self._model = scene.build_model(image_width=64, image_height=64)
        self._data = mujoco.MjData(self._model)
        index = scene.SceneIndex.of(self._model)
        self._arm_qpos = index.joint_qpos[:ARM_JOINTS]
        self._arm_dof = index.joint_dof[:ARM_JOINTS]
        self._tcp_body = index.tcp_body
        lower, upper = panda.joint_limits()
        self._arm_lower, self._arm_upper = lower[:ARM_JOINTS], upper[:ARM_JOINTS]
        self._jacp = np.zeros((3, self._model.nv))
        self._jacr = np.zeros((3, self._model.nv))

    def tcp_pose(self, arm_positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Forward kinematics: grasp point position and hand rotation matrix (world frame)."""
        self._data.qpos[self._arm_qpos] = arm_positions
        mujoco.mj_kinematics(self._model, self._data)
        return (
            self._data.xpos[self._tcp_body].copy(),
            self._data.xmat[self._tcp_body].reshape(3, 3).copy(),
        )

    def solve_ik(
        self,
        position: np.ndarray,
        rotation: np.ndarray,
        initial: np.ndarray,
        iterations: int = 30,
        damping: float = 0.02,
    ) -> np.ndarray:
        """Arm joints putting the grasp point at ``position`` with hand ``rotation``.

        Damped least squares, with a null-space pull toward the home pose so the redundant
        seventh degree of freedom does not drift over an episode.
        """
        q = np.array(initial, dtype=float)
        home = panda.HOME_POSITION[:ARM_JOINTS]
        for _ in range(iterations):
            current_position, current_rotation = self.tcp_pose(q)
            position_error = position - current_position
            # Small-angle rotation error taking the current hand frame to the target one.
            rotation_error = 0.5 * sum(
                np.cross(current_rotation[:, i], rotation[:, i]) for i in range(3)
            )
            error = np.concatenate([position_error, rotation_error])
            if np.linalg.norm(position_error) < 1e-4 and np.linalg.norm(rotation_error) < 1e-3:
                break
            mujoco.mj_comPos(self._model, self._data)
            mujoco.mj_jacBody(self._model, self._data, self._jacp, self._jacr, self._tcp_body)
            jacobian = np.vstack([self._jacp, self._jacr])[:, self._arm_dof]
            regularized = jacobian @ jacobian.T + damping**2 * np.eye(6)
            pseudo_inverse = jacobian.T @ np.linalg.solve(regularized, np.eye(6))
            null_space = np.eye(ARM_JOINTS) - pseudo_inverse @ jacobian
            step = pseudo_inverse @ error + null_space @ (0.1 * (home - q))
            q = np.clip(q + step, self._arm_lower, self._arm_upper)
        return q
