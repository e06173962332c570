"""In-process evaluation of the shipped policy through LeRobot's own rollout (no ROS)."""

import math

import pytest

from lerobot_ros.evaluation.in_process import (
    EpisodeOutcome,
    evaluate_in_process,
    parse_seeds,
    summarize,
)
from lerobot_ros.policy.loading import load_policy, shipped_policy_dir

SEEDS = [0, 1]


@pytest.fixture(scope="module")
def policy():
    return load_policy(shipped_policy_dir())


def test_outcomes_are_well_formed_and_deterministic(policy):
    first = evaluate_in_process(policy, SEEDS, max_episode_steps=300)
    second = evaluate_in_process(shipped_policy_dir(), SEEDS, max_episode_steps=300)
    assert [outcome.seed for outcome in first] == SEEDS
    for outcome in first:
        assert isinstance(outcome, EpisodeOutcome)
        assert isinstance(outcome.success, bool)
        assert 1 <= outcome.steps <= 300
        assert 0.0 <= outcome.max_reward <= 1.0
        assert 0.0 <= outcome.sum_reward <= outcome.steps + 1
        assert outcome.sum_reward >= outcome.max_reward
        assert outcome.wall_s > 0 and math.isfinite(outcome.wall_s)
        # Success ends the episode with reward exactly 1; a failure runs to the step limit.
        if outcome.success:
            assert outcome.max_reward == 1.0
        else:
            assert outcome.steps == 300
    strip = [(o.seed, o.success, o.sum_reward, o.max_reward, o.steps) for o in first]
    assert strip == [(o.seed, o.success, o.sum_reward, o.max_reward, o.steps) for o in second]


def test_step_limit_is_respected(policy):
    (outcome,) = evaluate_in_process(policy, [0], max_episode_steps=5)
    assert outcome.steps == 5 and not outcome.success


def test_parse_seeds_and_summary():
    assert parse_seeds("0-3,7") == [0, 1, 2, 3, 7]
    with pytest.raises(ValueError):
        parse_seeds("5-1")
    outcomes = [
        EpisodeOutcome(
            seed=0, success=True, sum_reward=50.0, max_reward=1.0, steps=100, wall_s=1.0
        ),
        EpisodeOutcome(
            seed=1, success=False, sum_reward=30.0, max_reward=0.5, steps=300, wall_s=3.0
        ),
    ]
    summary = summarize(outcomes)
    assert summary["pc_success"] == 50.0
    assert summary["avg_sum_reward"] == 40.0
    assert summary["steps_max"] == 300
