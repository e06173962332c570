"""One policy step from NumPy inputs, converted exactly as LeRobot's env rollout does.

The ROS policy node and the in-process rollout both go through
``lerobot.envs.utils.preprocess_observation`` (gym-style ``agent_pos`` /
``environment_state`` / ``pixels`` -> ``observation.*`` tensors), so the same inputs give
bit-identical policy inputs on both paths.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

import numpy as np
import torch

from lerobot_ros.policy.loading import LoadedPolicy


def seed_episode(seed: int) -> None:
    """Seed every generator a policy may draw from (torch on every device, numpy, python)
    from an episode's seed: the ROS policy node and the in-process rollout both call it at
    an episode's start, so a stochastic policy acts alike both ways, seed for seed."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # numpy takes 32-bit seeds; episode seeds are int64
    torch.manual_seed(seed)


def gym_style_observation(
    state: np.ndarray,
    environment_state: np.ndarray | None = None,
    images: Mapping[str, np.ndarray] | None = None,
) -> dict:
    """A batch-of-one observation in the layout LeRobot's gym envs return."""
    observation: dict = {"agent_pos": np.asarray(state, dtype=np.float32)[None]}
    if environment_state is not None:
        observation["environment_state"] = np.asarray(environment_state, dtype=np.float32)[None]
    if images:
        observation["pixels"] = {
            name: np.asarray(pixels, dtype=np.uint8)[None] for name, pixels in images.items()
        }
    return observation


def policy_batch(gym_observation: dict, task: str = "") -> dict:
    """LeRobot's own conversion to ``observation.*`` tensors, plus the task string."""
    from lerobot.envs.utils import preprocess_observation

    batch = preprocess_observation(gym_observation)
    batch["task"] = [task] * next(iter(batch.values())).shape[0]
    return batch


def select_action(loaded: LoadedPolicy, gym_observation: dict, task: str = "") -> np.ndarray:
    """``policy.select_action`` with the checkpoint's processors; returns the action (D,)."""
    batch = loaded.preprocessor(policy_batch(gym_observation, task))
    with torch.inference_mode():
        action = loaded.policy.select_action(batch)
    action = loaded.postprocessor(action)
    return action.to("cpu").numpy()[0].astype(np.float64)


def predict_action_chunk(loaded: LoadedPolicy, gym_observation: dict, task: str = "") -> np.ndarray:
    """A whole action chunk (T, D) for asynchronous execution (policies that chunk)."""
    batch = loaded.preprocessor(policy_batch(gym_observation, task))
    with torch.inference_mode():
        chunk = loaded.policy.predict_action_chunk(batch)  # (1, T, D)
    steps = [loaded.postprocessor(chunk[:, i]) for i in range(chunk.shape[1])]
    return torch.stack(steps, dim=1).to("cpu").numpy()[0].astype(np.float64)
