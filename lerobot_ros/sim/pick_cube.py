"""Pick-and-lift-a-cube with a simulated Panda: the task core shared by the ROS node and gym.

No ROS and no Gymnasium here: a plain class that takes joint position targets, advances
physics one control period at a time, and reports joints, camera images and the task state.
Same seed and same targets give bit-identical states and images.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace

import mujoco
import numpy as np

from lerobot_ros.resources import node_defaults
from lerobot_ros.robots import panda
from lerobot_ros.sim import scene

# The task's episode length: one value, sim_node's parameter file (config/sim_node.yaml).
MAX_EPISODE_STEPS = int(node_defaults("sim_node")["max_episode_steps"])


@dataclass(frozen=True)
class SimConfig:
    image_width: int = 224
    image_height: int = 224
    control_hz: float = 30.0
    # Upper bound on the physics step: the step actually used divides the control period
    # exactly (2 ms at 30 Hz becomes 1/510 s), so sim time advances by exactly 1/control_hz.
    physics_dt: float = 0.002
    max_episode_steps: int = MAX_EPISODE_STEPS
    lift_height: float = 0.10  # m above the cube's resting height counted as success
    # Where the cube's center may spawn on the table (world frame, m): within easy reach of
    # a top-down grasp and inside the front camera's view.
    cube_x_range: tuple[float, float] = (0.40, 0.65)
    cube_y_range: tuple[float, float] = (-0.20, 0.20)
    # Cube yaw (rad) on spawn. A cube looks the same every quarter turn, so one quarter turn
    # covers every visible pose; drawing from it (instead of a full turn) keeps the map from
    # the cube's quaternion to the grasp continuous, which a learned policy needs.
    cube_yaw_range: tuple[float, float] = (-math.pi / 4, math.pi / 4)

    def __post_init__(self) -> None:
        if self.image_width <= 0 or self.image_height <= 0:
            raise ValueError("image size must be positive")
        if not (self.control_hz > 0 and self.physics_dt > 0):
            raise ValueError("control_hz and physics_dt must be positive")
        if self.max_episode_steps <= 0 or self.lift_height <= 0:
            raise ValueError("max_episode_steps and lift_height must be positive")
        if not self.cube_yaw_range[0] <= self.cube_yaw_range[1]:
            raise ValueError(f"cube_yaw_range must be (low, high), got {self.cube_yaw_range}")


@dataclass(frozen=True)
class TaskState:
    reward: float  # dense, in [0, 1]; exactly 1 on success
    success: bool
    grasped: bool  # both fingers touch the cube
    lift: float  # m, cube height above its resting height
    cube_position: np.ndarray  # world frame, m
    cube_quaternion: np.ndarray  # world frame, (w, x, y, z)


@dataclass(frozen=True)
class SceneObject:
    """A static description of a box in the scene, for RViz markers (world frame)."""

    name: str
    shape: str  # "box"
    size: np.ndarray  # full extents along x, y, z, m
    position: np.ndarray
    quaternion: np.ndarray  # (w, x, y, z)
    rgba: tuple[float, float, float, float]


# Reward shaping weights: reaching brings the hand to the cube, a two-finger grasp is worth a
# step up, and lifting fills in the rest linearly up to lift_height.
REACH_WEIGHT, GRASP_WEIGHT, LIFT_WEIGHT = 0.3, 0.2, 0.5
REACH_SCALE = 10.0  # 1/m: reach term is 1 - tanh(10 d), ~0.5 at 5.5 cm


def _release_egl_context() -> None:
    """Unbind the current EGL context from this thread.

    An EGL context can be current in only one thread; the Renderer binds it on every render
    and never lets go, so without this a ROS executor that runs the next render callback on
    another thread gets EGL_BAD_ACCESS. Other GL backends are left as they are.
    """
    if os.environ.get("MUJOCO_GL", "").lower() != "egl":
        return
    from mujoco import egl  # only importable when MUJOCO_GL=egl

    if egl.EGL_DISPLAY is not None:
        egl.EGL.eglMakeCurrent(
            egl.EGL_DISPLAY, egl.EGL.EGL_NO_SURFACE, egl.EGL.EGL_NO_SURFACE, egl.EGL.EGL_NO_CONTEXT
        )


class PickCubeSim:
    """The Panda, a table and a cube in MuJoCo, stepped at a fixed control rate."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        control_period = 1.0 / self.config.control_hz
        self.substeps = max(1, math.ceil(round(control_period / self.config.physics_dt, 9)))
        self.model = scene.build_model(
            self.config.image_width, self.config.image_height, control_period / self.substeps
        )
        self.index = scene.SceneIndex.of(self.model)
        self.data = mujoco.MjData(self.model)
        self._lower, self._upper = panda.joint_limits()
        self._max_speed = panda.velocity_limits()
        self._renderer: mujoco.Renderer | None = None  # created on first render()
        self._rng = np.random.default_rng()
        self._targets = panda.HOME_POSITION.copy()
        self.episode_step = 0
        self.reset()

    def set_control_hz(self, control_hz: float) -> None:
        """Change the control rate (sim_node's live ``control_hz``): the physics step is derived
        again as at construction, so each step still advances exactly 1 / control_hz."""
        self.config = replace(self.config, control_hz=float(control_hz))  # validates it
        control_period = 1.0 / self.config.control_hz
        self.substeps = max(1, math.ceil(round(control_period / self.config.physics_dt, 9)))
        self.model.opt.timestep = control_period / self.substeps

    @property
    def joint_names(self) -> tuple[str, ...]:
        return panda.JOINT_NAMES

    @property
    def camera_names(self) -> tuple[str, ...]:
        return panda.CAMERA_NAMES

    @property
    def time(self) -> float:
        """Simulated seconds since the last reset."""
        return float(self.data.time)

    @property
    def joint_targets(self) -> np.ndarray:
        return self._targets.copy()

    def reset(self, seed: int | None = None) -> None:
        """Arm at home, cube at a random pose drawn from ``seed`` (or the running generator)."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        x = self._rng.uniform(*self.config.cube_x_range)
        y = self._rng.uniform(*self.config.cube_y_range)
        yaw = self._rng.uniform(*self.config.cube_yaw_range)

        mujoco.mj_resetData(self.model, self.data)
        cube = slice(self.index.cube_qpos, self.index.cube_qpos + 7)
        self.data.qpos[cube] = [x, y, scene.CUBE_REST_Z, math.cos(yaw / 2), 0, 0, math.sin(yaw / 2)]
        self.episode_step = 0
        self.place_arm(panda.HOME_POSITION)

    def set_joint_targets(self, positions: Sequence[float] | np.ndarray) -> np.ndarray:
        """Set the 8 position targets (JOINT_NAMES order); returns them clamped to the limits."""
        targets = np.asarray(positions, dtype=float)
        if targets.shape != (len(panda.JOINT_NAMES),):
            raise ValueError(
                f"expected {len(panda.JOINT_NAMES)} joint targets, got shape {targets.shape}"
            )
        if not np.all(np.isfinite(targets)):
            raise ValueError(f"joint targets must be finite, got {targets.tolist()}")
        self._targets = np.clip(targets, self._lower, self._upper)
        return self._targets.copy()

    def place_arm(self, positions: Sequence[float] | np.ndarray) -> None:
        """Put the arm at ``positions`` (8 values) at rest, targets included (test set-ups)."""
        targets = self.set_joint_targets(positions)
        self._setpoints = targets.copy()
        self.data.qpos[self.index.joint_qpos] = targets
        self.data.qpos[self.index.mimic_qpos] = targets[-1]
        self.data.qvel[:] = 0.0
        self.data.ctrl[self.index.actuators] = targets
        mujoco.mj_forward(self.model, self.data)

    def step(self) -> None:
        """Advance one control period (1 / control_hz) of physics.

        The servo setpoints move toward the targets at most at the URDF velocity limits, as
        the real arm's controller would: a far target is approached at a plausible speed
        instead of with the full torque of a stiff position servo.
        """
        max_change = self._max_speed / self.config.control_hz
        self._setpoints += np.clip(self._targets - self._setpoints, -max_change, max_change)
        self.data.ctrl[self.index.actuators] = self._setpoints
        mujoco.mj_step(self.model, self.data, nstep=self.substeps)
        self.episode_step += 1

    def joint_positions(self) -> np.ndarray:
        return self.data.qpos[self.index.joint_qpos].copy()

    def joint_velocities(self) -> np.ndarray:
        return self.data.qvel[self.index.joint_dof].copy()

    def joint_efforts(self) -> np.ndarray:
        """Joint torques (N m; N for the gripper) of the servos, gravity compensation included."""
        return self.data.qfrc_actuator[self.index.joint_dof].copy()

    def tcp_position(self) -> np.ndarray:
        """The grasp point between the fingertips, world frame."""
        return self.data.xpos[self.index.tcp_body].copy()

    def cube_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """Cube (position, quaternion w x y z) in the world frame."""
        body = self.index.cube_body
        return self.data.xpos[body].copy(), self.data.xquat[body].copy()

    def render(self, camera: str) -> np.ndarray:
        """RGB image of ``camera``, shape (image_height, image_width, 3), uint8."""
        if camera not in self.index.cameras:
            raise ValueError(f"unknown camera {camera!r}, expected one of {self.camera_names}")
        if self._renderer is None:
            self._renderer = mujoco.Renderer(
                self.model, self.config.image_height, self.config.image_width
            )
            # Shadows and reflections are the costly passes; the lights cast none anyway.
            flags = self._renderer.scene.flags
            flags[mujoco.mjtRndFlag.mjRND_SHADOW] = False
            flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = False
            flags[mujoco.mjtRndFlag.mjRND_SKYBOX] = False
        self._renderer.update_scene(self.data, camera=self.index.cameras[camera])
        image = self._renderer.render()
        _release_egl_context()
        return image

    def camera_intrinsics(self, camera: str) -> tuple[float, float, float, float]:
        """Pinhole (fx, fy, cx, cy) in pixels of :meth:`render` images (OpenCV/ROS convention).

        MuJoCo's fovy is vertical and pixels are square; the principal point is the image
        center, which is (size - 1) / 2 when pixel centers sit at integer coordinates.
        """
        if camera not in self.index.cameras:
            raise ValueError(f"unknown camera {camera!r}, expected one of {self.camera_names}")
        fovy = math.radians(float(self.model.cam_fovy[self.index.cameras[camera]]))
        focal = (self.config.image_height / 2) / math.tan(fovy / 2)
        return (
            focal,
            focal,
            (self.config.image_width - 1) / 2,
            (self.config.image_height - 1) / 2,
        )

    def _fingers_touching_cube(self) -> tuple[bool, bool]:
        # Vectorized over the contact list: this runs every control step.
        contacts = self.data.contact.geom[: self.data.ncon]
        if contacts.size == 0:
            return False, False
        cube_geom = self.index.cube_geom
        other = np.where(contacts[:, 0] == cube_geom, contacts[:, 1], contacts[:, 0])
        touching_bodies = self.model.geom_bodyid[other[np.any(contacts == cube_geom, axis=1)]]
        left, right = self.index.finger_bodies
        return bool(np.any(touching_bodies == left)), bool(np.any(touching_bodies == right))

    def task_state(self) -> TaskState:
        """Dense reward and success.

        reward = 0.3 * reach + 0.2 * grasped + 0.5 * grasped * min(lift / lift_height, 1),
        where reach = 1 - tanh(10 * |tcp - cube|) (counted as 1 while grasped) and grasped
        means both fingers touch the cube. Success: grasped and lifted >= lift_height, which
        is exactly reward 1.
        """
        cube_position, cube_quaternion = self.cube_pose()
        grasped = all(self._fingers_touching_cube())
        lift = float(cube_position[2] - scene.CUBE_REST_Z)
        distance = float(np.linalg.norm(self.tcp_position() - cube_position))
        reach = 1.0 if grasped else 1.0 - math.tanh(REACH_SCALE * distance)
        lift_fraction = min(max(lift / self.config.lift_height, 0.0), 1.0) if grasped else 0.0
        reward = REACH_WEIGHT * reach + GRASP_WEIGHT * grasped + LIFT_WEIGHT * lift_fraction
        success = grasped and lift >= self.config.lift_height
        return TaskState(
            reward=1.0 if success else float(reward),
            success=success,
            grasped=grasped,
            lift=lift,
            cube_position=cube_position,
            cube_quaternion=cube_quaternion,
        )

    def scene_objects(self) -> list[SceneObject]:
        """The table and the cube as boxes in the world frame (the cube where it is now)."""
        cube_position, cube_quaternion = self.cube_pose()
        return [
            SceneObject(
                name="table",
                shape="box",
                size=2 * scene.TABLE_HALF_SIZE,
                position=scene.TABLE_CENTER.copy(),
                quaternion=np.array([1.0, 0.0, 0.0, 0.0]),
                rgba=scene.TABLE_RGBA,
            ),
            SceneObject(
                name="cube",
                shape="box",
                size=np.full(3, scene.CUBE_SIZE),
                position=cube_position,
                quaternion=cube_quaternion,
                rgba=scene.CUBE_RGBA,
            ),
        ]

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def __enter__(self) -> PickCubeSim:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
