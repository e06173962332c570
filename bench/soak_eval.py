"""Soak: the eval graph runs ``--minutes`` of sim time (default 30) with memory and latency
sampled; not a test, a measurement with stated bounds.

The lockstep eval graph (sim_node + policy_node with the shipped ACT + eval_node, separate
processes) evaluates batches of episodes through the /evaluate action until the sim has run
the requested time (30 control steps a second). After each batch: the resident memory of every
node process and the wall time per env step. Growth compares the median of the last three batches with that
of batches 2-4 (the first one warms up).

Bounds: memory growth < 50 MB per process, time per step within 1.25x of the warm start.

    .venv/bin/python bench/soak_eval.py [--minutes 30] [--json bench/results/soak.json]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench_report import machine, write_result  # noqa: E402

from lerobot_ros.interfaces import TaskStatus  # noqa: E402
from lerobot_ros.orchestration.graphs import eval_sim_graph  # noqa: E402
from lerobot_ros.orchestration.ros_eval import EvalGraph, EvalRequest  # noqa: E402
from lerobot_ros.ros import qos, topics  # noqa: E402
from lerobot_ros.ros.network import apply_network_defaults  # noqa: E402

WORK = Path("build/bench/soak")
CONTROL_HZ = 30
MEMORY_BOUND_MB = 50.0
LATENCY_BOUND = 1.25


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=30.0, help="sim time to run")
    parser.add_argument("--batch", type=int, default=25, help="episodes per /evaluate goal")
    parser.add_argument("--json", type=Path, default=Path("bench/results/soak.json"))
    args = parser.parse_args()
    apply_network_defaults()
    target_steps = int(args.minutes * 60 * CONTROL_HZ)
    batches = []
    started = time.monotonic()
    with EvalGraph(eval_sim_graph(cameras=()), WORK / "logs") as session:
        steps = [0]
        session.node.create_subscription(
            TaskStatus,
            topics.TASK_STATUS,
            lambda m: steps.__setitem__(0, steps[0] + (m.step > 0)),
            qos.TASK_STATUS,
        )
        seed = 0
        while steps[0] < target_steps:
            before, wall = steps[0], time.monotonic()
            request = EvalRequest(
                n_episodes=args.batch, seed=seed, n_videos=0, output_dir=WORK / "eval"
            )
            info = session.evaluate(request, show_progress=False)
            done = steps[0] - before
            batches.append(
                {
                    "seed": seed,
                    "steps": done,
                    "sim_minutes_total": steps[0] / CONTROL_HZ / 60,
                    "ms_per_step": 1000 * (time.monotonic() - wall) / max(done, 1),
                    "pc_success": info["aggregated"]["pc_success"],
                    "rss_mb": {
                        p.module.rsplit(".", 1)[-1]: rss_mb(p.process.pid)
                        for p in session.processes
                    },
                }
            )
            seed += args.batch
            last = batches[-1]
            print(
                f"{last['sim_minutes_total']:.1f} sim min: {last['ms_per_step']:.2f} ms/step, "
                f"success {last['pc_success']:.0f}%, RSS {last['rss_mb']}",
                flush=True,
            )
    # Warm start: batches 2-4 (the first loads and warms everything up); end: the last three.
    # Medians: the machine is shared, single batches are noisy.
    warm, final = batches[1:4] or batches, batches[-3:]
    growth = {
        name: statistics.median(b["rss_mb"][name] for b in final)
        - statistics.median(b["rss_mb"][name] for b in warm)
        for name in batches[-1]["rss_mb"]
    }
    latency_ratio = statistics.median(b["ms_per_step"] for b in final) / statistics.median(
        b["ms_per_step"] for b in warm
    )
    result = {
        "machine": machine(),
        "sim_minutes": batches[-1]["sim_minutes_total"],
        "wall_minutes": (time.monotonic() - started) / 60,
        "episodes": seed,
        "memory_growth_mb": growth,
        "memory_bound_mb": MEMORY_BOUND_MB,
        "latency_ratio_last_vs_warm": latency_ratio,
        "latency_bound": LATENCY_BOUND,
        "within_bounds": max(growth.values()) < MEMORY_BOUND_MB and latency_ratio < LATENCY_BOUND,
        "batches": batches,
    }
    write_result(result, args.json)
    print(
        f"soak: {result['sim_minutes']:.1f} min of sim time in {result['wall_minutes']:.1f} min, "
        f"{seed} episodes; RSS growth { ({k: round(v, 1) for k, v in growth.items()}) } MB "
        f"(bound {MEMORY_BOUND_MB:g}); time per step {latency_ratio:.2f}x the warm start "
        f"(bound {LATENCY_BOUND}); within bounds: {result['within_bounds']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
