"""Gymnasium wrapper of :class:`PickCubeSim`, registered as ``lerobot_ros/FrankaPickCube-v0``.

Follows the LeRobot gym-env conventions (gym_aloha, gym_pusht) so LeRobot's
``preprocess_observation`` maps ``agent_pos`` to ``observation.state``,
``environment_state`` (the cube pose) to ``observation.environment_state`` and
``pixels/<camera>`` to ``observation.images.<camera>``. Actions are absolute joint position
targets in :data:`panda.JOINT_NAMES` order, clamped to the joint limits.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from lerobot_ros.robots import panda
from lerobot_ros.sim.episodes import STEP_LIMIT, episode_end
from lerobot_ros.sim.pick_cube import PickCubeSim, SimConfig

ENV_ID = "lerobot_ros/FrankaPickCube-v0"
TASK = "Pick up the red cube and lift it."
# Cube pose layout of ``environment_state``: position then quaternion (w, x, y, z), the order
# of the ``cube.*`` feature names in the feature mapping.
ENVIRONMENT_STATE_NAMES = ("cube.x", "cube.y", "cube.z", "cube.qw", "cube.qx", "cube.qy", "cube.qz")


def cube_pose_vector(sim: PickCubeSim) -> np.ndarray:
    """The cube pose as ``environment_state``: float64 values of the sim cast to float32."""
    position, quaternion = sim.cube_pose()
    return np.concatenate([position, quaternion]).astype(np.float32)


class FrankaPickCubeEnv(gym.Env):
    # Whole frames per second: video writers (PyAV) take no float rate.
    metadata = {"render_modes": ["rgb_array"], "render_fps": round(SimConfig().control_hz)}

    def __init__(
        self,
        render_mode: str | None = "rgb_array",
        config: SimConfig | None = None,
        cameras: tuple[str, ...] | None = None,
    ):
        """``cameras``: the cameras in ``pixels`` (default all); ``()`` leaves ``pixels`` out
        and never renders, for fast state-only rollouts."""
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"unsupported render_mode {render_mode!r}")
        self.render_mode = render_mode
        self.sim = PickCubeSim(config)
        config = self.sim.config
        self.cameras = self.sim.camera_names if cameras is None else tuple(cameras)
        unknown = set(self.cameras) - set(self.sim.camera_names)
        if unknown:
            raise ValueError(
                f"unknown cameras {sorted(unknown)}, expected some of {self.sim.camera_names}"
            )
        self.metadata = {**self.metadata, "render_fps": round(config.control_hz)}
        self.max_episode_steps = config.max_episode_steps
        # LeRobot's rollout reads this attribute name (gymnasium's TimeLimit convention).
        self._max_episode_steps = config.max_episode_steps
        # Read by LeRobot's rollout for the policy's "task" input (language-conditioned ones).
        self.task = TASK
        self.task_description = TASK
        lower, upper = panda.joint_limits()
        self.action_space = spaces.Box(
            lower.astype(np.float32), upper.astype(np.float32), dtype=np.float32
        )
        # Observations are the raw measured values, never clipped: a joint can overshoot a limit
        # under contact, and the ROS path sends the measured value as is, so both paths must
        # give the policy the same numbers. Hence wide bounds.
        wide = np.finfo(np.float32).max
        spaces_by_key: dict[str, spaces.Space] = {
            "agent_pos": spaces.Box(-wide, wide, (len(panda.JOINT_NAMES),), dtype=np.float32),
            "environment_state": spaces.Box(
                -wide, wide, (len(ENVIRONMENT_STATE_NAMES),), dtype=np.float32
            ),
        }
        if self.cameras:
            image_space = spaces.Box(
                0, 255, (config.image_height, config.image_width, 3), dtype=np.uint8
            )
            spaces_by_key["pixels"] = spaces.Dict({name: image_space for name in self.cameras})
        self.observation_space = spaces.Dict(spaces_by_key)

    def _observation(self) -> dict[str, Any]:
        observation: dict[str, Any] = {
            "agent_pos": self.sim.joint_positions().astype(np.float32),
            "environment_state": cube_pose_vector(self.sim),
        }
        if self.cameras:
            observation["pixels"] = {name: self.sim.render(name) for name in self.cameras}
        return observation

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        # The cube pose comes from the sim's own generator, seeded exactly like
        # PickCubeSim.reset(seed), so env and sim episodes with the same seed match.
        self.sim.reset(seed)
        return self._observation(), {"is_success": False}

    def step(self, action: np.ndarray) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        self.sim.set_joint_targets(np.asarray(action, dtype=float))
        self.sim.step()
        state = self.sim.task_state()
        end = episode_end(self.sim.episode_step, self.max_episode_steps, state.success)
        truncated = end == STEP_LIMIT
        info = {"is_success": state.success}
        return self._observation(), state.reward, state.success, truncated, info

    def render(self) -> np.ndarray | None:
        if self.render_mode == "rgb_array":
            return self.sim.render("front")
        return None

    def close(self) -> None:
        self.sim.close()


if ENV_ID not in gym.registry:
    # gymnasium.make(ENV_ID, config=..., cameras=()) passes its keyword arguments through to
    # FrankaPickCubeEnv.__init__.
    gym.register(
        id=ENV_ID,
        entry_point=f"{__name__}:FrankaPickCubeEnv",
        max_episode_steps=None,  # the env truncates itself at SimConfig.max_episode_steps
        disable_env_checker=False,
    )
