"""The simulation as a LeRobot env plugin: LeRobot's own ``lerobot-eval`` command line on
``--env.type=lerobot_ros_pick_cube`` against the in-process evaluator, seed for seed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lerobot_ros.evaluation.in_process import evaluate_in_process
from lerobot_ros.plugins.pick_cube_env import ENV_TYPE, PandaPickCubeEnv
from lerobot_ros.policy.loading import shipped_policy_dir

LEROBOT_EVAL = Path(sys.executable).with_name("lerobot-eval")


def lerobot_eval(output: Path, episodes: int, batch_size: int, seed: int) -> dict:
    """``lerobot-eval`` as a user types it; returns its per-episode metrics (episode i ran
    on seed + i)."""
    command = [
        str(LEROBOT_EVAL),
        "--env.discover_packages_path=lerobot_ros.plugins",
        f"--env.type={ENV_TYPE}",
        "--env.cameras=[]",  # the shipped policy takes the state and the cube's pose only
        f"--policy.path={shipped_policy_dir()}",
        "--policy.device=cpu",
        f"--eval.n_episodes={episodes}",
        f"--eval.batch_size={batch_size}",
        f"--seed={seed}",
        f"--output_dir={output}",
    ]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    info = json.loads((output / "eval_info.json").read_text())
    (task,) = info["per_task"]
    assert task["task_group"] == ENV_TYPE
    return {**task["metrics"], "pc_success": info["overall"]["pc_success"]}


def test_lerobot_eval_on_the_env_plugin_gives_the_in_process_rewards_seed_for_seed(tmp_path):
    seeds = list(range(20, 24))
    reference = evaluate_in_process(shipped_policy_dir(), seeds)
    one_at_a_time = lerobot_eval(tmp_path / "batch1", len(seeds), batch_size=1, seed=seeds[0])
    assert one_at_a_time["sum_rewards"] == [o.sum_reward for o in reference]
    assert one_at_a_time["successes"] == [o.success for o in reference]


def test_lerobot_eval_plugin_50_seeds_in_parallel_envs(tmp_path):
    """Ten envs at once in LeRobot's async vector env: the outcomes of the 50 seeds are the
    in-process ones; rewards agree to rounding (batched inference sums in another order)."""
    seeds = list(range(1000, 1050))
    metrics = lerobot_eval(tmp_path / "batch10", len(seeds), batch_size=10, seed=seeds[0])
    reference = evaluate_in_process(shipped_policy_dir(), seeds)
    assert metrics["pc_success"] >= 95.0
    assert metrics["successes"] == [o.success for o in reference]
    np.testing.assert_allclose(
        metrics["sum_rewards"], [o.sum_reward for o in reference], rtol=0, atol=0.05
    )
    assert len(list((tmp_path / "batch10" / "videos").rglob("*.mp4"))) == 10  # LeRobot's videos


def test_env_plugin_config_features_cameras_and_vector_envs():
    config = PandaPickCubeEnv(cameras=["wrist"], image_height=48, image_width=64)
    assert config.type == ENV_TYPE
    assert config.features_map["pixels/wrist"] == "observation.images.wrist"
    assert config.features["pixels/wrist"].shape == (48, 64, 3)
    assert "pixels/front" not in config.features
    envs = config.create_envs(n_envs=2)[ENV_TYPE][0]
    try:
        observation, _ = envs.reset(seed=[3, 4])
        assert observation["pixels"]["wrist"].shape == (2, 48, 64, 3)
        assert observation["agent_pos"].shape == (2, 8)
        # Each env's episode depends on its own seed only.
        cubes = observation["environment_state"]
        again, _ = envs.reset(seed=[4, 3])
        np.testing.assert_array_equal(again["environment_state"], cubes[::-1])
    finally:
        envs.close()
    with pytest.raises(ValueError, match="unknown cameras \\['top'\\]"):
        PandaPickCubeEnv(cameras=["top"])
