"""A scripted pick-and-lift expert: Cartesian waypoints turned into joint targets by IK.

It only needs what a real robot would report (joint positions and the cube pose), so the same
class drives the in-process sim, the Gymnasium env and a ROS node fed from topics. It uses
the arm's kinematics (``sim.panda_kinematics``) and never touches the simulator.

Each call to :meth:`ScriptedPickExpert.act` moves a Cartesian waypoint a bounded distance
toward the current phase's goal, solves damped-least-squares IK for it warm-started from the
previous command, and limits the joint change per tick, so the targets form a smooth path
that the position servos can follow.
"""

from __future__ import annotations

import enum
import math

import mujoco
import numpy as np

from lerobot_ros.robots import panda
from lerobot_ros.sim.panda_kinematics import PandaKinematics


class Phase(enum.Enum):
    APPROACH = "approach"  # above the cube, hand turned to the cube's yaw, gripper open
    DESCEND = "descend"  # straight down until the fingertips straddle the cube
    CLOSE = "close"  # squeeze, arm still
    LIFT = "lift"  # straight up
    HOLD = "hold"  # keep the cube up


def _fold_yaw(yaw: float, period: float) -> float:
    """``yaw`` wrapped into [-period / 2, period / 2)."""
    return (yaw + period / 2) % period - period / 2


def cube_yaw(cube_quaternion: np.ndarray) -> float:
    """Yaw of a horizontal face normal of the cube, in [-pi/4, pi/4) (a cube repeats every
    quarter turn); works whichever face the cube rests on."""
    rotation = np.empty(9)
    mujoco.mju_quat2Mat(rotation, np.asarray(cube_quaternion, dtype=float))
    axes = rotation.reshape(3, 3).T  # rows: the cube's x, y, z axes in the world frame
    vertical = int(np.argmax(np.abs(axes[:, 2])))
    horizontal = axes[(vertical + 1) % 3]
    return _fold_yaw(math.atan2(horizontal[1], horizontal[0]), math.pi / 2)


def top_down_rotation(yaw: float) -> np.ndarray:
    """Hand orientation pointing straight down with the fingers closing along ``yaw``.

    Panda hand frame: z along the fingers, y the direction the fingers move.
    """
    z_axis = np.array([0.0, 0.0, -1.0])
    y_axis = np.array([math.cos(yaw), math.sin(yaw), 0.0])
    return np.column_stack([np.cross(y_axis, z_axis), y_axis, z_axis])


class ScriptedPickExpert:
    """Picks the cube and lifts it, from any cube pose the task spawns."""

    APPROACH_HEIGHT = 0.12  # m of the fingertips above the cube center before descending
    GRASP_DEPTH = 0.005  # m below the cube center for the fingertip pads' center
    LIFT_HEIGHT = 0.20  # m above the grasp height; the task needs 0.10
    APPROACH_SPEED = 0.35  # m/s of the waypoint
    VERTICAL_SPEED = 0.15  # m/s while descending and lifting: slow enough to stay straight
    CLOSE_TICKS = 12  # control ticks given to the fingers to close (0.4 s at 30 Hz)
    POSITION_TOLERANCE = 0.008  # m between the measured grasp point and the goal
    YAW_TOLERANCE = math.radians(4.0)
    # Fingers nearly shut while lifting means the cube slipped out: start over.
    EMPTY_GRIPPER = 0.004

    def __init__(self, control_hz: float = 30.0) -> None:
        if control_hz <= 0:
            raise ValueError(f"control_hz must be positive, got {control_hz}")
        self.control_hz = control_hz
        self.kinematics = PandaKinematics()
        # Half the URDF velocity limit per tick keeps the servos' lag small.
        self._max_joint_step = 0.5 * panda.velocity_limits()[:7] / control_hz
        self.reset()

    @property
    def phase(self) -> Phase:
        return self._phase

    def reset(self) -> None:
        """Forget the episode; the next :meth:`act` starts from the measured joints."""
        self._phase = Phase.APPROACH
        self._command: np.ndarray | None = None  # last arm joint command
        self._waypoint: np.ndarray | None = None  # Cartesian goal of the last command
        self._grasp_yaw: float | None = None
        self._lift_start: np.ndarray | None = None
        self._phase_ticks = 0

    def _hand_yaw(self, rotation: np.ndarray) -> float:
        return math.atan2(rotation[1, 1], rotation[0, 1])

    def _grasp_yaw_for(self, cube_quaternion: np.ndarray, reference_yaw: float) -> float:
        """The cube face direction closest to ``reference_yaw`` (the hand is symmetric under a
        half turn and the cube under a quarter turn, so this is within 45 degrees)."""
        yaw = cube_yaw(cube_quaternion)
        return reference_yaw + _fold_yaw(yaw - reference_yaw, math.pi / 2)

    def act(
        self,
        joint_positions: np.ndarray,
        cube_position: np.ndarray,
        cube_quaternion: np.ndarray,
    ) -> np.ndarray:
        """The 8 joint targets (panda.JOINT_NAMES order) for the next control tick."""
        joint_positions = np.asarray(joint_positions, dtype=float)
        cube_position = np.asarray(cube_position, dtype=float)
        if joint_positions.shape != (len(panda.JOINT_NAMES),):
            raise ValueError(f"expected {len(panda.JOINT_NAMES)} joint positions")
        arm = joint_positions[:7]
        gripper = joint_positions[7]
        if self._command is None:
            self._command = arm.copy()
        measured_position, measured_rotation = self.kinematics.tcp_pose(arm)
        if self._waypoint is None:
            self._waypoint = measured_position
        if self._grasp_yaw is None:
            self._grasp_yaw = self._grasp_yaw_for(
                cube_quaternion, self._hand_yaw(measured_rotation)
            )
        else:  # follow small cube rotations without flipping between equivalent faces
            self._grasp_yaw = self._grasp_yaw_for(cube_quaternion, self._grasp_yaw)

        grasp_point = cube_position - np.array([0.0, 0.0, self.GRASP_DEPTH])
        above_cube = cube_position + np.array([0.0, 0.0, self.APPROACH_HEIGHT])
        self._phase_ticks += 1
        goal, speed, gripper_target = self._phase_goal(grasp_point, above_cube)

        reached = np.linalg.norm(goal - measured_position) < self.POSITION_TOLERANCE
        yaw_error = abs(_fold_yaw(self._hand_yaw(measured_rotation) - self._grasp_yaw, math.pi))
        if self._phase is Phase.APPROACH and reached and yaw_error < self.YAW_TOLERANCE:
            self._enter(Phase.DESCEND)
        elif self._phase is Phase.DESCEND and reached:
            self._enter(Phase.CLOSE)
        elif self._phase is Phase.CLOSE and self._phase_ticks >= self.CLOSE_TICKS:
            self._lift_start = self._waypoint.copy()
            self._enter(Phase.LIFT)
        elif self._phase in (Phase.LIFT, Phase.HOLD) and gripper < self.EMPTY_GRIPPER:
            self._enter(Phase.APPROACH)  # missed or dropped the cube: try again
            self._grasp_yaw = None
        elif self._phase is Phase.LIFT and reached:
            self._enter(Phase.HOLD)
        goal, speed, gripper_target = self._phase_goal(grasp_point, above_cube)

        # Move the waypoint toward the goal at a bounded speed, then track it with IK.
        offset = goal - self._waypoint
        max_move = speed / self.control_hz
        distance = float(np.linalg.norm(offset))
        if distance > max_move:
            offset *= max_move / distance
        self._waypoint = self._waypoint + offset
        solution = self.kinematics.solve_ik(
            self._waypoint, top_down_rotation(self._grasp_yaw or 0.0), self._command
        )
        step = np.clip(solution - self._command, -self._max_joint_step, self._max_joint_step)
        self._command = self._command + step
        return np.append(self._command, gripper_target)

    def _enter(self, phase: Phase) -> None:
        self._phase = phase
        self._phase_ticks = 0

    def _phase_goal(
        self, grasp_point: np.ndarray, above_cube: np.ndarray
    ) -> tuple[np.ndarray, float, float]:
        """(Cartesian goal, waypoint speed, gripper target) of the current phase."""
        if self._phase is Phase.APPROACH:
            return above_cube, self.APPROACH_SPEED, panda.GRIPPER_OPEN
        if self._phase is Phase.DESCEND:
            return grasp_point, self.VERTICAL_SPEED, panda.GRIPPER_OPEN
        if self._phase is Phase.CLOSE:
            return self._waypoint.copy(), 0.0, panda.GRIPPER_CLOSED
        lifted = self._lift_start + np.array([0.0, 0.0, self.LIFT_HEIGHT])
        return lifted, self.VERTICAL_SPEED, panda.GRIPPER_CLOSED
