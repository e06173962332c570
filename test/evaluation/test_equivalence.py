"""The same checkpoint, env and seeds: in-process (LeRobot's rollout) vs through ROS.

Through ROS, sim_node and policy_node run in lockstep in their own processes and talk only
over topics; in-process, LeRobot's ``rollout`` drives the Gymnasium env. Both go through
the same core, the same float32 conversions and the same processors, so every episode
must end alike, reward for reward.
"""

from __future__ import annotations

import pytest

from lerobot_ros.evaluation.in_process import evaluate_in_process
from lerobot_ros.orchestration.ros_eval import EvalRequest, run_eval
from lerobot_ros.policy.loading import shipped_policy_dir

pytestmark = pytest.mark.ros

FIRST_SEED, N_EPISODES = 5, 3  # the eval action runs consecutive seeds


def test_ros_eval_matches_in_process_rollout_per_seed(tmp_path):
    seeds = list(range(FIRST_SEED, FIRST_SEED + N_EPISODES))
    in_process = evaluate_in_process(shipped_policy_dir(), seeds)
    info = run_eval(
        EvalRequest(n_episodes=N_EPISODES, seed=FIRST_SEED, output_dir=tmp_path, n_videos=1)
    )
    through_ros = {e["seed"]: e for e in info["per_episode"]}
    assert sorted(through_ros) == seeds
    for outcome in in_process:
        ros = through_ros[outcome.seed]
        assert ros["success"] == outcome.success, (
            f"seed {outcome.seed}: ROS {ros}, in-process {outcome}"
        )
        assert ros["sum_reward"] == pytest.approx(outcome.sum_reward, abs=1e-6)
        assert ros["max_reward"] == pytest.approx(outcome.max_reward, abs=1e-6)
    assert (tmp_path / "eval_info.json").is_file() and (tmp_path / "eval_plot.png").is_file()
    assert len(list((tmp_path / "videos").glob("*.mp4"))) == 1
