"""The Gymnasium env follows LeRobot's gym conventions and is solvable by the expert."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from lerobot_ros.robots import panda
from lerobot_ros.sim import gym_env
from lerobot_ros.sim.expert import ScriptedPickExpert
from lerobot_ros.sim.pick_cube import PickCubeSim, SimConfig


@pytest.fixture(scope="module")
def env():
    environment = gym.make(gym_env.ENV_ID)
    yield environment
    environment.close()


def test_make_spaces_and_observation(env):
    assert env.action_space.shape == (8,) and env.action_space.dtype == np.float32
    lower, upper = panda.joint_limits()
    np.testing.assert_allclose(env.action_space.low, lower, rtol=1e-6)
    np.testing.assert_allclose(env.action_space.high, upper, rtol=1e-6)
    obs, info = env.reset(seed=0)
    assert set(obs) == {"agent_pos", "environment_state", "pixels"}
    assert set(obs["pixels"]) == {"front", "wrist"}
    assert obs["agent_pos"].dtype == np.float32 and obs["agent_pos"].shape == (8,)
    sim = env.unwrapped.sim
    # Raw measured values cast to float32, exactly what the ROS path sends the policy.
    np.testing.assert_array_equal(obs["agent_pos"], sim.joint_positions().astype(np.float32))
    position, quaternion = sim.cube_pose()
    assert obs["environment_state"].dtype == np.float32
    np.testing.assert_array_equal(
        obs["environment_state"], np.r_[position, quaternion].astype(np.float32)
    )
    assert env.unwrapped.task == env.unwrapped.task_description == gym_env.TASK
    for image in obs["pixels"].values():
        assert image.shape == (224, 224, 3) and image.dtype == np.uint8
    assert obs in env.observation_space
    assert info == {"is_success": False}
    assert env.metadata["render_fps"] == 30.0
    frame = env.render()
    np.testing.assert_array_equal(frame, obs["pixels"]["front"])


def test_state_only_env_renders_nothing():
    env = gym.make(gym_env.ENV_ID, cameras=())
    obs, _ = env.reset(seed=0)
    assert set(obs) == {"agent_pos", "environment_state"}
    assert "pixels" not in env.observation_space.spaces
    obs, *_ = env.step(panda.HOME_POSITION.astype(np.float32))
    assert obs in env.observation_space
    assert env.unwrapped.sim._renderer is None
    env.close()
    with pytest.raises(ValueError, match="unknown cameras"):
        gym_env.FrankaPickCubeEnv(cameras=("side",))


def test_observations_are_not_clipped_to_the_joint_limits():
    env = gym_env.FrankaPickCubeEnv(cameras=())
    env.reset(seed=0)
    beyond = panda.HOME_POSITION.copy()
    beyond[7] = panda.joint_limits()[1][7] + 0.001  # the gripper a hair past its limit
    env.sim.data.qpos[env.sim.index.joint_qpos] = beyond
    obs = env._observation()
    np.testing.assert_array_equal(obs["agent_pos"], beyond.astype(np.float32))
    assert obs in env.observation_space
    env.close()


def test_lerobot_preprocessing_maps_the_observation(env):
    from lerobot.envs.utils import preprocess_observation

    obs, _ = env.reset(seed=3)
    batch = preprocess_observation(
        {key: value[None] for key, value in obs.items() if key != "pixels"}
    )
    assert set(batch) == {"observation.state", "observation.environment_state"}
    np.testing.assert_array_equal(
        batch["observation.environment_state"][0].numpy(), obs["environment_state"]
    )


def test_step_returns_the_gymnasium_tuple(env):
    env.reset(seed=1)
    obs, reward, terminated, truncated, info = env.step(panda.HOME_POSITION.astype(np.float32))
    assert obs in env.observation_space
    assert 0.0 <= reward <= 1.0
    assert terminated is False and truncated is False
    assert info["is_success"] is False


def test_reset_seed_matches_the_core_sim(env):
    env.reset(seed=42)
    sim = PickCubeSim(SimConfig())
    sim.reset(seed=42)
    np.testing.assert_array_equal(env.unwrapped.sim.cube_pose()[0], sim.cube_pose()[0])
    sim.close()


def test_truncates_at_max_episode_steps():
    env = gym.make(
        gym_env.ENV_ID, config=SimConfig(image_width=32, image_height=32, max_episode_steps=3)
    )
    env.reset(seed=0)
    flags = [env.step(panda.HOME_POSITION.astype(np.float32))[3] for _ in range(3)]
    assert flags == [False, False, True]
    env.close()


@pytest.mark.parametrize("cameras", [None, ()])
def test_gymnasium_env_checker_passes(cameras):
    env = gym.make(
        gym_env.ENV_ID, config=SimConfig(image_width=32, image_height=32), cameras=cameras
    )
    # The only expected warning is gymnasium's advice to use a normalized action space;
    # actions here are absolute joint positions by design (LeRobot's convention).
    with pytest.warns(UserWarning, match="symmetric and normalized"):
        check_env(env.unwrapped)
    env.close()


def test_expert_solves_the_env(env):
    expert = ScriptedPickExpert(control_hz=env.metadata["render_fps"])
    obs, info = env.reset(seed=123)
    sim = env.unwrapped.sim
    terminated = truncated = False
    rewards = []
    while not (terminated or truncated):
        position, quaternion = sim.cube_pose()
        action = expert.act(obs["agent_pos"].astype(float), position, quaternion)
        obs, reward, terminated, truncated, info = env.step(action.astype(np.float32))
        rewards.append(reward)
    assert terminated and info["is_success"]
    assert rewards[-1] == 1.0
    assert len(rewards) < sim.config.max_episode_steps
