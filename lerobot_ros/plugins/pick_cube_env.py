"""The MuJoCo Franka pick-cube task as a LeRobot env: ``--env.type=lerobot_ros_pick_cube``.

LeRobot's command lines find it when told where it lives (LeRobot imports the module named by
``discover_packages_path`` before it parses ``--env.type``)::

    lerobot-eval --env.discover_packages_path=lerobot_ros.plugins \\
        --env.type=lerobot_ros_pick_cube --env.cameras=[] \\
        --policy.path=models/act_panda_pick_cube --eval.n_episodes=50 --eval.batch_size=5

``lerobot-train --env.type=lerobot_ros_pick_cube ...`` evaluates on it during training the same
way. Each vector env is a ``SyncVectorEnv`` (``AsyncVectorEnv`` with ``use_async_envs``) of
:class:`~lerobot_ros.sim.gym_env.FrankaPickCubeEnv` in LeRobot's SAME_STEP autoreset mode, as
the in-process evaluator uses them, so a seed gives the same episode both ways. Its env
processors are LeRobot's default (identity).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import gymnasium as gym
from lerobot.configs.types import FeatureType, PolicyFeature
from lerobot.envs.configs import EnvConfig
from lerobot.utils.constants import ACTION, OBS_ENV_STATE, OBS_IMAGES, OBS_STATE

from lerobot_ros.sim import robot as sim_robot
from lerobot_ros.sim.gym_env import ENVIRONMENT_STATE_NAMES, TASK, FrankaPickCubeEnv
from lerobot_ros.sim.pick_cube import MAX_EPISODE_STEPS, SimConfig

ENV_TYPE = "lerobot_ros_pick_cube"


@EnvConfig.register_subclass(ENV_TYPE)
@dataclass
class PandaPickCubeEnv(EnvConfig):
    """LeRobot's view of the task: features, feature map and the vector envs."""

    task: str | None = TASK
    fps: int = int(SimConfig().control_hz)
    episode_length: int = MAX_EPISODE_STEPS
    cameras: list[str] = field(default_factory=lambda: list(sim_robot.CAMERA_NAMES))
    image_height: int = SimConfig().image_height
    image_width: int = SimConfig().image_width
    features: dict[str, PolicyFeature] = field(default_factory=dict)
    features_map: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.cameras) - set(sim_robot.CAMERA_NAMES))
        if unknown:
            raise ValueError(
                f"unknown cameras {unknown}; the simulation has {list(sim_robot.CAMERA_NAMES)}"
            )
        joints = len(sim_robot.JOINT_NAMES)
        image = (self.image_height, self.image_width, 3)
        self.features = {
            ACTION: PolicyFeature(type=FeatureType.ACTION, shape=(joints,)),
            "agent_pos": PolicyFeature(type=FeatureType.STATE, shape=(joints,)),
            "environment_state": PolicyFeature(
                type=FeatureType.ENV, shape=(len(ENVIRONMENT_STATE_NAMES),)
            ),
            **{
                f"pixels/{camera}": PolicyFeature(type=FeatureType.VISUAL, shape=image)
                for camera in self.cameras
            },
        }
        self.features_map = {
            ACTION: ACTION,
            "agent_pos": OBS_STATE,
            "environment_state": OBS_ENV_STATE,
            **{f"pixels/{camera}": f"{OBS_IMAGES}.{camera}" for camera in self.cameras},
        }

    @property
    def gym_kwargs(self) -> dict:
        return {
            "config": SimConfig(
                image_height=self.image_height,
                image_width=self.image_width,
                max_episode_steps=self.episode_length,
            ),
            "cameras": tuple(self.cameras),
        }

    def create_envs(
        self, n_envs: int, use_async_envs: bool = False
    ) -> dict[str, dict[int, gym.vector.VectorEnv]]:
        """``{type: {0: VectorEnv of n_envs}}``; not through ``gym.make``, whose wrappers hide
        the ``task`` attributes LeRobot's rollout reads from each env."""
        kwargs = self.gym_kwargs
        vector_class = (
            gym.vector.AsyncVectorEnv if use_async_envs and n_envs > 1 else gym.vector.SyncVectorEnv
        )
        envs = vector_class(
            [lambda: FrankaPickCubeEnv(**kwargs) for _ in range(n_envs)],
            autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
        )
        return {self.type: {0: envs}}
