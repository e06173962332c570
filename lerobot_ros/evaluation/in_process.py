"""Evaluate a policy in-process with LeRobot's own rollout, one seeded episode at a time.

This is the reference the ROS evaluation is checked against: the same checkpoint, the same
seeds and the same simulation, but LeRobot's ``lerobot_eval.rollout`` stepping the Gymnasium
env directly. Each episode runs in its own one-env ``SyncVectorEnv`` reset with its seed, so
an episode's outcome depends on its seed only (not on which episodes ran before it).

    python -m lerobot_ros.evaluation.in_process --policy models/act_panda_pick_cube --seeds 0-49
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lerobot_ros.policy.inference import seed_episode
from lerobot_ros.policy.loading import (
    LoadedPolicy,
    checkpoint_cameras,
    common_image_size,
    load_policy,
    shipped_policy_dir,
)
from lerobot_ros.sim.pick_cube import MAX_EPISODE_STEPS


@dataclass(frozen=True)
class EpisodeOutcome:
    seed: int
    success: bool
    sum_reward: float
    max_reward: float
    steps: int  # env steps until the episode was done (success, truncation or the step cap)
    wall_s: float


def identity_env_processors() -> tuple[Any, Any]:
    """The env pre/post processors LeRobot's ``make_env_pre_post_processors`` builds for an env
    that is neither LIBERO nor Isaac Lab: empty (identity) pipelines."""
    from lerobot.processor import PolicyProcessorPipeline

    return PolicyProcessorPipeline(steps=[]), PolicyProcessorPipeline(steps=[])


def make_vector_env(
    max_episode_steps: int, cameras: Sequence[str] = (), image_size: tuple[int, int] | None = None
) -> Any:
    """One env in a vector env, as ``lerobot-eval --env.type=lerobot_ros_pick_cube`` makes
    them (:class:`~lerobot_ros.plugins.pick_cube_env.PandaPickCubeEnv`)."""
    from lerobot_ros.plugins.pick_cube_env import PandaPickCubeEnv

    size = (
        {} if image_size is None else {"image_height": image_size[0], "image_width": image_size[1]}
    )
    config = PandaPickCubeEnv(episode_length=max_episode_steps, cameras=list(cameras), **size)
    return config.create_envs(n_envs=1)[config.type][0]


def run_episode(
    loaded: LoadedPolicy,
    seed: int,
    max_episode_steps: int = MAX_EPISODE_STEPS,
    cameras: Sequence[str] = (),
    env_processors: tuple[Any, Any] | None = None,
    image_size: tuple[int, int] | None = None,
) -> EpisodeOutcome:
    """One episode through ``lerobot_eval.rollout``; metrics computed as ``eval_policy`` does."""
    import einops
    import torch
    from lerobot.scripts.lerobot_eval import rollout

    env_preprocessor, env_postprocessor = env_processors or identity_env_processors()
    env = make_vector_env(max_episode_steps, cameras, image_size)
    seed_episode(seed)  # as policy_node does on /policy/reset with the episode's seed
    try:
        start = time.perf_counter()
        data = rollout(
            env=env,
            policy=loaded.policy,
            env_preprocessor=env_preprocessor,
            env_postprocessor=env_postprocessor,
            preprocessor=loaded.preprocessor,
            postprocessor=loaded.postprocessor,
            seeds=[int(seed)],
        )
        wall_s = time.perf_counter() - start
    finally:
        env.close()
    # Same masking as eval_policy: keep everything up to and including the first done step.
    n_steps = data["done"].shape[1]
    done_indices = torch.argmax(data["done"].to(int), dim=1)
    mask = (torch.arange(n_steps) <= einops.repeat(done_indices + 1, "b -> b s", s=n_steps)).int()
    sum_reward = einops.reduce(data["reward"] * mask, "b n -> b", "sum")
    max_reward = einops.reduce(data["reward"] * mask, "b n -> b", "max")
    success = einops.reduce(data["success"] * mask, "b n -> b", "any")
    return EpisodeOutcome(
        seed=int(seed),
        success=bool(success[0]),
        sum_reward=float(sum_reward[0]),
        max_reward=float(max_reward[0]),
        steps=int(done_indices[0]) + 1,
        wall_s=wall_s,
    )


def evaluate_in_process(
    policy: LoadedPolicy | str | os.PathLike,
    seeds: Sequence[int],
    max_episode_steps: int = MAX_EPISODE_STEPS,
    cameras: Sequence[str] | None = None,
) -> list[EpisodeOutcome]:
    """Run one episode per seed, in order; ``policy`` is a loaded policy or a checkpoint dir.

    ``cameras`` None renders those the policy takes, at its image size (as the ROS eval
    graph does); ``()`` renders none.
    """
    loaded = policy if isinstance(policy, LoadedPolicy) else load_policy(policy)
    image_size = None
    if cameras is None:
        taken = checkpoint_cameras(loaded.path)
        cameras, image_size = [camera.name for camera in taken], common_image_size(taken)
    env_processors = identity_env_processors()
    return [
        run_episode(loaded, seed, max_episode_steps, cameras, env_processors, image_size)
        for seed in seeds
    ]


def parse_seeds(text: str) -> list[int]:
    """``"0-49"``, ``"3,7,9"`` or a mix (``"0-4,10"``); ranges include both ends."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        first, dash, last = part.partition("-")
        if dash:
            if int(last) < int(first):
                raise ValueError(f"empty seed range {part!r}")
            seeds.extend(range(int(first), int(last) + 1))
        else:
            seeds.append(int(part))
    if not seeds:
        raise ValueError(f"no seeds in {text!r}")
    return seeds


def summarize(outcomes: Sequence[EpisodeOutcome]) -> dict[str, float]:
    """Aggregates named as LeRobot's eval_policy names them, plus step statistics."""
    n = len(outcomes)
    steps = sorted(outcome.steps for outcome in outcomes)
    return {
        "n_episodes": n,
        "pc_success": 100.0 * sum(outcome.success for outcome in outcomes) / n,
        "avg_sum_reward": sum(outcome.sum_reward for outcome in outcomes) / n,
        "avg_max_reward": sum(outcome.max_reward for outcome in outcomes) / n,
        "steps_mean": sum(steps) / n,
        "steps_median": steps[n // 2],
        "steps_max": steps[-1],
        "eval_s_per_episode": sum(outcome.wall_s for outcome in outcomes) / n,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--policy", default=str(shipped_policy_dir()), help="checkpoint dir")
    parser.add_argument("--seeds", default="0-49", help='e.g. "0-49" or "1,5,7"')
    parser.add_argument("--max-episode-steps", type=int, default=MAX_EPISODE_STEPS)
    parser.add_argument(
        "--cameras",
        default=None,
        help='comma-separated, e.g. "front,wrist" (default: the policy\'s)',
    )
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args(argv)
    os.environ.setdefault("TQDM_MININTERVAL", "30")  # quiet LeRobot's per-step progress bar

    import torch

    torch.set_num_threads(args.threads)
    cameras = None if args.cameras is None else tuple(n for n in args.cameras.split(",") if n)
    outcomes = []
    loaded = load_policy(args.policy)
    for seed in parse_seeds(args.seeds):
        (outcome,) = evaluate_in_process(loaded, [seed], args.max_episode_steps, cameras)
        outcomes.append(outcome)
        print(
            f"seed {outcome.seed:4d}  success {int(outcome.success)}  steps {outcome.steps:3d}  "
            f"sum_reward {outcome.sum_reward:7.3f}  max_reward {outcome.max_reward:.3f}  "
            f"wall {outcome.wall_s:.2f} s",
            flush=True,
        )
    summary = summarize(outcomes)
    print(
        " ".join(
            f"{key}={value:.3f}" if isinstance(value, float) else f"{key}={value}"
            for key, value in summary.items()
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
