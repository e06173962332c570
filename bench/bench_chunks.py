"""Chunk execution under inference latency, measured in one run (not a test).

The shipped policy drives the MuJoCo pick-cube env through the same ActionChunkQueue
policy_node uses in asynchronous mode, with each chunk arriving ``--latency-ticks`` control
ticks after its observation (default 5: the two-camera image ACT's measured 167 ms chunk
inference at 30 Hz). Simulated time, so the figures depend on the queue's rules only, not on
this machine's load. For each rule it reports

  1. ticks on time: the share of ticks after the first chunk that had an action (a tick
     without one holds the last command, as policy_node does), asking for chunks by
     ``refill_below`` alone (5, the old rule) vs also by the lead the inference time needs
     (the default);
  2. joint jerk at chunk seams (a chunk's arrival, and the end of the queued actions it
     blended with: the largest third difference of the commanded arm joints within the
     next 4 ticks, rad/s^3) for each aggregation against plain replacement (latest_only),
     asking at half a chunk so that chunks overlap; and away from seams for reference;
  3. success over the seeds, so smoothing that costs the task shows.

    .venv/bin/python bench/bench_chunks.py [--seeds 10] [--json bench/results/chunks.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench_report import machine, write_result  # noqa: E402

from lerobot_ros.policy.action_queue import (  # noqa: E402
    AGGREGATIONS,
    DEFAULT_AGGREGATION,
    ActionChunkQueue,
)
from lerobot_ros.policy.inference import (  # noqa: E402
    gym_style_observation,
    predict_action_chunk,
    seed_episode,
)
from lerobot_ros.policy.loading import LoadedPolicy, load_policy, shipped_policy_dir  # noqa: E402
from lerobot_ros.policy.runner import lead_ticks  # noqa: E402
from lerobot_ros.sim.gym_env import FrankaPickCubeEnv  # noqa: E402

FPS = 30
REFILL_BELOW = 5  # config/policy_node.yaml's default


@dataclass
class Rollout:
    success: bool = False
    ticks: int = 0  # after the first chunk arrived (before it the arm holds, by design)
    ticks_without_action: int = 0
    boundary_jerk: list[float] = field(default_factory=list)
    inner_jerk: list[float] = field(default_factory=list)


def jerk(commands: list[np.ndarray], tick: int) -> float:
    """Largest |third difference| of the arm joints (not the gripper) at ``tick``, rad/s^3."""
    a = [commands[tick - k][:-1] for k in range(4)]
    return float(np.abs(a[0] - 3 * a[1] + 3 * a[2] - a[3]).max() * FPS**3)


def rollout(
    loaded: LoadedPolicy,
    seed: int,
    aggregation: str,
    refill_below: int,
    latency: int,
    use_lead: bool,
    steps: int,
) -> Rollout:
    env = FrankaPickCubeEnv(render_mode=None, cameras=())
    queue = ActionChunkQueue(refill_below, aggregation)
    lead = lead_ticks([latency / FPS], 1 / FPS) if use_lead else 0
    loaded.policy.reset()
    seed_episode(seed)
    observation, _ = env.reset(seed=seed)
    in_flight: tuple[int, int, np.ndarray] | None = None  # (arrives at, observed at, chunk)
    commands: list[np.ndarray] = []
    # Where one plan gives way to another: a chunk's arrival, and for blending rules the end
    # of the queued actions it blended with.
    seams: list[int] = []
    started = None
    result = Rollout()
    try:
        for tick in range(steps):
            if in_flight is not None and in_flight[0] <= tick:
                overlapped = queue.depth_at(tick)
                queue.add_chunk(in_flight[2], in_flight[1], tick)
                if started is None:
                    started = tick
                else:
                    blends = overlapped and aggregation != DEFAULT_AGGREGATION
                    seams += [tick, tick + overlapped] if blends else [tick]
                in_flight = None
            if in_flight is None and queue.needs_refill(tick, lead):
                batch = gym_style_observation(
                    observation["agent_pos"], observation["environment_state"]
                )
                in_flight = (tick + latency, tick, predict_action_chunk(loaded, batch))
            action = queue.pop(tick)
            if action is None:
                action = commands[-1] if commands else observation["agent_pos"].astype(float)
                if started is not None:
                    result.ticks_without_action += 1  # holds the last command
            commands.append(action)
            if started is not None:
                result.ticks += 1
            observation, _, success, truncated, _ = env.step(action)
            if success or truncated:
                result.success = bool(success)
                break
    finally:
        env.close()
    # A step at tick s shows in the third difference at ticks s..s+3.
    windows = {s: range(s, min(s + 4, len(commands))) for s in seams}
    near_seam = {t for window in windows.values() for t in window}
    for window in windows.values():
        if len(window):
            result.boundary_jerk.append(max(jerk(commands, t) for t in window))
    if started is not None:
        first = started + 3
        result.inner_jerk += [
            jerk(commands, t) for t in range(first, len(commands)) if t not in near_seam
        ]
    return result


def summary(rollouts: list[Rollout]) -> dict:
    boundary = np.concatenate([r.boundary_jerk for r in rollouts])
    inner = np.concatenate([r.inner_jerk for r in rollouts])
    ticks = sum(r.ticks for r in rollouts)
    return {
        "success_rate": float(np.mean([r.success for r in rollouts])),
        "ticks": ticks,
        "ticks_on_time": 1.0 - sum(r.ticks_without_action for r in rollouts) / ticks,
        "seams": int(boundary.size),
        "seam_jerk_p50": float(np.percentile(boundary, 50)),
        "seam_jerk_p95": float(np.percentile(boundary, 95)),
        "inner_jerk_p50": float(np.percentile(inner, 50)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--latency-ticks", type=int, default=5)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--json", type=Path, default=Path("bench/results/chunks.json"))
    args = parser.parse_args()
    loaded = load_policy(shipped_policy_dir())
    seeds = range(args.seeds)

    def run(aggregation: str, refill_below: int, use_lead: bool) -> dict:
        return summary(
            [
                rollout(
                    loaded,
                    seed,
                    aggregation,
                    refill_below,
                    args.latency_ticks,
                    use_lead,
                    args.steps,
                )
                for seed in seeds
            ]
        )

    # Overlap to blend: ask while half a chunk is queued (LeRobot async inference's default
    # chunk_size_threshold, 0.5).
    half_chunk = max(1, loaded.policy.config.chunk_size // 2)
    result = {
        "machine": machine(),
        "latency_ticks": args.latency_ticks,
        "seeds": args.seeds,
        "refill": {
            "refill_below_only": run("latest_only", REFILL_BELOW, use_lead=False),
            "with_lead": run("latest_only", REFILL_BELOW, use_lead=True),
        },
        "refill_below_for_aggregations": half_chunk,
        "aggregations": {name: run(name, half_chunk, use_lead=True) for name in AGGREGATIONS},
    }
    write_result(result, args.json)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
