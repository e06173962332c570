"""Any checkpoint through ROS with no further argument gives the in-process rollout's rewards
seed for seed: an image policy (the eval graph renders exactly the cameras it takes, at its
image size) and a stochastic one (both paths seed each episode); a camera nothing publishes
fails the eval within seconds, naming it."""

from __future__ import annotations

import time

import pytest
from tiny_training import untrained_act, untrained_diffusion

from lerobot_ros.evaluation.in_process import evaluate_in_process
from lerobot_ros.interfaces import PolicyStatus
from lerobot_ros.orchestration.graphs import eval_sim_graph
from lerobot_ros.orchestration.ros_eval import EvalFailed, EvalGraph, EvalRequest, run_eval
from lerobot_ros.ros import qos, topics

pytestmark = pytest.mark.ros

IMAGE_SIZE = (48, 64)  # (height, width): not square, so a swap shows
STEPS = 25
# Rewards far from the cube are ~1e-6 per step: compared relative to their size (float32
# rounding in-process is 1e-7 of it; unseeded Diffusion runs differed by 7 %).
SAME = {"rel": 1e-5, "abs": 1e-9}


@pytest.fixture(scope="module")
def two_camera_policy(tmp_path_factory):
    path = tmp_path_factory.mktemp("policy") / "act_front_wrist"
    return untrained_act(path, ("front", "wrist"), IMAGE_SIZE, chunk_size=10)


def assert_ros_matches_in_process(policy, tmp_path, seeds: list[int]) -> list[dict]:
    """Both evals of ``policy`` with nothing but the checkpoint given; returns ROS's episodes."""
    in_process = evaluate_in_process(policy, seeds, max_episode_steps=STEPS)
    info = run_eval(
        EvalRequest(
            policy=str(policy),
            n_episodes=len(seeds),
            seed=seeds[0],
            output_dir=tmp_path,
            n_videos=1,
            max_episode_steps=STEPS,
        )
    )
    through_ros = {episode["seed"]: episode for episode in info["per_episode"]}
    assert sorted(through_ros) == seeds
    for outcome in in_process:
        ros = through_ros[outcome.seed]
        assert ros["sum_reward"] == pytest.approx(outcome.sum_reward, **SAME), outcome
        assert ros["max_reward"] == pytest.approx(outcome.max_reward, **SAME), outcome
        assert ros["success"] == outcome.success
    assert len(list((tmp_path / "videos").glob("*.mp4"))) == 1
    return info["per_episode"]


def test_eval_renders_the_policys_cameras_and_matches_in_process(two_camera_policy, tmp_path):
    sim = eval_sim_graph(policy_path=str(two_camera_policy))[0]
    assert sim.parameters["cameras"] == ["front", "wrist"]
    assert (sim.parameters["image_height"], sim.parameters["image_width"]) == IMAGE_SIZE
    assert_ros_matches_in_process(two_camera_policy, tmp_path, [4, 5])


def test_a_diffusion_policy_matches_in_process_seed_for_seed(tmp_path):
    policy = untrained_diffusion(tmp_path / "diffusion")
    # Seeds 7 and 7 again: a seeded episode repeats itself, whatever ran before it.
    episodes = assert_ros_matches_in_process(policy, tmp_path / "eval", [7, 8])
    (again,) = evaluate_in_process(policy, [7], max_episode_steps=STEPS)
    assert again.sum_reward == pytest.approx(episodes[0]["sum_reward"], **SAME)


def test_a_camera_nothing_publishes_fails_the_eval_naming_it(two_camera_policy, tmp_path):
    graph = eval_sim_graph(
        policy_path=str(two_camera_policy), max_episode_steps=STEPS, cameras=("front",)
    )
    with EvalGraph(graph, tmp_path / "logs") as session:
        statuses: list[PolicyStatus] = []
        session.node.create_subscription(
            PolicyStatus, topics.POLICY_STATUS, statuses.append, qos.STATE
        )
        started = time.monotonic()
        with pytest.raises(EvalFailed) as failure:
            session.evaluate(
                EvalRequest(n_episodes=2, output_dir=tmp_path / "eval", n_videos=0),
                show_progress=False,
            )
        elapsed = time.monotonic() - started
    message = str(failure.value)
    assert "observation.images.wrist (/camera/wrist/image_raw): nothing publishes it" in message
    assert "observation.images.front" not in message
    assert elapsed < 5.0, f"the error came {elapsed:.1f} s after the goal"
    assert any(s.state == "no_input" and "/camera/wrist/image_raw" in s.reason for s in statuses), [
        (s.state, s.reason) for s in statuses[-3:]
    ]
    assert "/camera/wrist/image_raw" in (tmp_path / "logs" / "policy_node.log").read_text()
