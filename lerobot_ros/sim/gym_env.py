"""Gymnasium wrapper of :class:`PickCubeSim`, registered as ``lerobot_ros/FrankaPickCube-v0``.

Follows the LeRobot gym-env conventions (gym_aloha, gym_pusht) so LeRobot's
``preprocess_observation`` maps ``agent_pos`` to ``observation.state`` and
``pixels/<camera>`` to ``observation.images.<camera>``. Actions are absolute joint position
targets in :data:`panda.JOINT_NAMES` order, clamped to the joint limits.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from lerobot_ros.robots import panda
from lerobot_ros.sim.pick_cube import PickCubeSim, SimConfig

ENV_ID = "lerobot_ros/FrankaPickCube-v0"


class FrankaPickCubeEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": SimConfig().control_hz}

    def __init__(self, render_mode: str | None = "rgb_array", config: SimConfig | None = None):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"unsupported render_mode {render_mode!r}")
        self.render_mode = render_mode
        self.sim = PickCubeSim(config)
        config = self.sim.config
        self.metadata = {**self.metadata, "render_fps": config.control_hz}
        self.max_episode_steps = config.max_episode_steps
        lower, upper = panda.joint_limits()
        self.action_space = spaces.Box(
            lower.astype(np.float32), upper.astype(np.float32), dtype=np.float32
        )
        image_space = spaces.Box(
            0, 255, (config.image_height, config.image_width, 3), dtype=np.uint8
        )
        self.observation_space = spaces.Dict(
            {
                "agent_pos": spaces.Box(
                    lower.astype(np.float32), upper.astype(np.float32), dtype=np.float32
                ),
                "pixels": spaces.Dict({name: image_space for name in self.sim.camera_names}),
            }
        )

    def _observation(self) -> dict[str, Any]:
        # Joint positions may overshoot a limit by a hair under contact; keep obs in its space.
        low, high = (
            self.observation_space["agent_pos"].low,
            self.observation_space["agent_pos"].high,
        )
        return {
            "agent_pos": np.clip(self.sim.joint_positions().astype(np.float32), low, high),
            "pixels": {name: self.sim.render(name) for name in self.sim.camera_names},
        }

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
        truncated = self.sim.episode_step >= self.max_episode_steps and not state.success
        info = {"is_success": state.success}
        return self._observation(), state.reward, state.success, truncated, info

    def render(self) -> np.ndarray | None:
        if self.render_mode == "rgb_array":
            return self.sim.render("front")
        return None

    def close(self) -> None:
        self.sim.close()


if ENV_ID not in gym.registry:
    gym.register(
        id=ENV_ID,
        entry_point=f"{__name__}:FrankaPickCubeEnv",
        max_episode_steps=None,  # the env truncates itself at SimConfig.max_episode_steps
        disable_env_checker=False,
    )
