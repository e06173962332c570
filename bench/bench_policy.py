"""Policy benchmark, measured in one run (not a test).

Reports
  1. eval throughput: env steps/s of the shipped policy evaluated through the ROS graph
     (sim_node + policy_node in lockstep, separate processes, no camera rendered) vs
     LeRobot's in-process rollout of the same policy over the same seeds, no rendering;
  2. policy_node latency beyond the model: observation complete -> action published, minus
     the policy call itself (processors + forward), with an image policy taking both
     224x224 cameras over shared memory (an untrained ACT with a ResNet18, built here);
  3. control rate in real time while chunks are computed: the image policy in asynchronous
     mode against the free-running sim at 30 Hz; intervals between published commands,
     with chunks asked for by the lead of the measured inference time (the default) and by
     refill_below alone.

Goals (issue #3): ROS >= 0.8x in-process; latency beyond the model p50 <= 2 ms, p99 <= 5 ms;
commands at 30 Hz while a chunk is being computed.

    .venv/bin/python bench/bench_policy.py [--episodes 10] [--json bench/results/policy.json]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench_report import machine, write_result  # noqa: E402
from std_msgs.msg import Float64MultiArray  # noqa: E402

from lerobot_ros.evaluation.in_process import evaluate_in_process  # noqa: E402
from lerobot_ros.interfaces import PolicyStatus  # noqa: E402
from lerobot_ros.orchestration.graphs import policy_node, sim_node  # noqa: E402
from lerobot_ros.orchestration.ros_eval import EvalRequest, run_eval  # noqa: E402
from lerobot_ros.orchestration.runner import GraphSession  # noqa: E402
from lerobot_ros.policy.loading import shipped_policy_dir  # noqa: E402
from lerobot_ros.ros import qos, topics  # noqa: E402
from lerobot_ros.ros.sim_client import SimClient, spin_until  # noqa: E402

WORK = Path("build/bench")


def eval_throughput(episodes: int) -> dict:
    seeds = list(range(episodes))
    with contextlib.redirect_stderr(io.StringIO()):  # LeRobot's rollout progress bars
        outcomes = evaluate_in_process(shipped_policy_dir(), seeds)
    in_process_s = sum(o.wall_s for o in outcomes)  # rollouts only, as eval_s (no loading)
    in_process_steps = sum(o.steps for o in outcomes)
    info = run_eval(
        EvalRequest(n_episodes=episodes, seed=0, output_dir=WORK / "eval", n_videos=0, cameras=())
    )
    # Lockstep ROS episodes take exactly the in-process steps when they end alike (checked).
    ros_steps = in_process_steps
    successes_equal = [e["success"] for e in info["per_episode"]] == [o.success for o in outcomes]
    ros_s = info["aggregated"]["eval_s"]
    return {
        "episodes": episodes,
        "in_process_steps_per_s": in_process_steps / in_process_s,
        "ros_steps_per_s": ros_steps / ros_s,
        "ratio_ros_vs_in_process": (ros_steps / ros_s) / (in_process_steps / in_process_s),
        "same_success_per_seed": successes_equal,
        "in_process_pc_success": 100.0 * np.mean([o.success for o in outcomes]),
        "ros_pc_success": info["aggregated"]["pc_success"],
    }


def image_policy_checkpoint() -> Path:
    """An untrained ACT taking state + both cameras (ResNet18 from scratch): latency only."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test" / "ros"))
    from tiny_training import untrained_act

    return untrained_act(WORK / "act_two_cameras")


def watch(graph: list, seconds: float, lockstep: bool) -> tuple[list, list]:
    """Start the graph, reset once, collect policy statuses and command wall times."""
    session = GraphSession(
        graph, WORK / ("lockstep" if lockstep else "realtime"), "bench_policy_probe"
    )
    node, executor = session.node, session.executor
    statuses: list = []
    command_times: list[float] = []
    node.create_subscription(PolicyStatus, topics.POLICY_STATUS, statuses.append, qos.STATE)
    node.create_subscription(
        Float64MultiArray,
        topics.POSITION_COMMANDS,
        lambda _: command_times.append(time.perf_counter()),
        qos.COMMAND,
    )
    try:
        if not spin_until(executor, lambda: any(s.state == "waiting" for s in statuses), 180):
            raise RuntimeError("policy_node did not become active")
        SimClient(node, executor).reset(3)
        statuses.clear()
        command_times.clear()
        spin_until(executor, lambda: False, seconds)
    finally:
        session.close()
    return statuses, command_times


def two_camera_graph(lockstep: bool, **policy_parameters: object) -> list:
    """The sim rendering both cameras and the two-camera ACT acting on them."""
    checkpoint = str(image_policy_checkpoint())
    return [
        sim_node(lockstep=lockstep, cameras=["front", "wrist"], max_episode_steps=100000),
        policy_node(policy_path=checkpoint, lockstep=lockstep, **policy_parameters),
    ]


def latency_with_images(seconds: float) -> dict:
    statuses, _ = watch(two_camera_graph(lockstep=True), seconds, lockstep=True)
    # One status per action (the 1 Hz heartbeat repeats the last one: dropped).
    acting = list({s.actions_published: s for s in statuses if s.state == "acting"}.values())
    beyond = np.array([s.observation_to_action_s - s.inference_s for s in acting]) * 1000
    inference = np.array([s.inference_s for s in acting]) * 1000
    return {
        "actions": len(acting),
        "beyond_model_ms_p50": float(np.percentile(beyond, 50)),
        "beyond_model_ms_p99": float(np.percentile(beyond, 99)),
        "policy_call_ms_p50": float(np.percentile(inference, 50)),
        "policy_call_ms_p99": float(np.percentile(inference, 99)),
    }


def realtime_rate_with_chunks(seconds: float, lead: bool = True) -> dict:
    """``lead`` False: chunks asked for by refill_below alone (the rule before the lead)."""
    graph = two_camera_graph(lockstep=False, refill_from_inference_time=lead)
    statuses, command_times = watch(graph, seconds, lockstep=False)
    intervals = np.diff(command_times) * 1000
    chunk_ms = [s.inference_s * 1000 for s in statuses if s.state == "acting"]
    return {
        "commands_per_s": len(command_times) / seconds,
        "interval_ms_p50": float(np.percentile(intervals, 50)),
        "interval_ms_p99": float(np.percentile(intervals, 99)),
        "interval_ms_max": float(intervals.max()),
        # A tick is late when its command comes over half a period after the one before.
        "ticks_on_time": float(np.mean(intervals <= 1.5 * 1000 / 30)),
        "chunk_inference_ms_p50": float(np.percentile(chunk_ms, 50)) if chunk_ms else None,
        "ticks_waiting_for_a_chunk": sum(1 for s in statuses if s.state == "waiting"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--json", type=Path, default=Path("bench/results/policy.json"))
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    result = {
        "machine": machine(),
        "eval_throughput": eval_throughput(args.episodes),
        "latency_two_cameras_lockstep": latency_with_images(args.seconds),
        "realtime_two_cameras": realtime_rate_with_chunks(args.seconds),
        "realtime_two_cameras_refill_below_only": realtime_rate_with_chunks(
            args.seconds, lead=False
        ),
    }
    write_result(result, args.json)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
