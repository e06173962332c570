"""Simulation benchmark, measured in one run on this machine (not a test: no pass/fail).

Reports
  * raw MuJoCo control-step rate of the scene (no rendering) and render rate per camera;
  * sim_node at 30 Hz with both 224x224 cameras, pinned to one core, with a subscriber taking
    every image: real-time factor (sim seconds per wall second) and its CPU time per control
    tick (all its threads, from /proc) as a ratio to the CPU time of the same tick's raw work
    (step + task state + both renders) in-process, pinned to the same core, in this run.

Goal (issue #2): real-time factor >= 1.0 and cost ratio <= 1.3.

    .venv/bin/python bench/bench_sim.py [--seconds 20] [--json bench/results/sim.json]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import rclpy  # noqa: E402
from bench_report import machine, write_result  # noqa: E402
from bench_sim_core import measure_core  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rosgraph_msgs.msg import Clock  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

from lerobot_ros.orchestration.processes import NodeProcess  # noqa: E402
from lerobot_ros.robots import panda  # noqa: E402
from lerobot_ros.ros import conversions, qos, topics  # noqa: E402
from lerobot_ros.ros.network import apply_network_defaults  # noqa: E402

BENCH_CORE = 0


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def measure_sim_node(seconds: float, control_hz: float = 30.0) -> dict:
    """Run sim_node on one core; watch /clock and both image streams from another core."""
    apply_network_defaults()
    os.sched_setaffinity(0, {1 - BENCH_CORE} if os.cpu_count() > 1 else {0})
    node_process = NodeProcess(
        "lerobot_ros.nodes.sim_node",
        {"control_hz": control_hz},
        wrapper=("taskset", "-c", str(BENCH_CORE)),
        log_path=Path("build/bench/sim_node.log"),
    ).start()
    rclpy.init()
    node = rclpy.create_node("bench_sim_probe")
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    clocks: list[tuple[float, float]] = []
    images = {camera: 0 for camera in panda.CAMERA_NAMES}
    node.create_subscription(
        Clock,
        topics.CLOCK,
        lambda m: clocks.append((time.monotonic(), conversions.time_to_seconds(m.clock))),
        qos.STATE,
    )
    for camera in panda.CAMERA_NAMES:
        node.create_subscription(
            Image,
            topics.camera_image(camera),
            lambda m, c=camera: images.__setitem__(c, images[c] + 1),
            qos.IMAGE,
        )
    try:
        deadline = time.monotonic() + 60
        while len(clocks) < 30:  # started and warmed up
            if time.monotonic() > deadline:
                raise RuntimeError(f"sim_node did not start: {node_process.log_text()[-2000:]}")
            executor.spin_once(timeout_sec=0.05)
        pid = node_process.process.pid
        clocks.clear()
        images.update({c: 0 for c in images})
        cpu_start, wall_start = process_cpu_seconds(pid), time.monotonic()
        while time.monotonic() - wall_start < seconds:
            executor.spin_once(timeout_sec=0.05)
        cpu = process_cpu_seconds(pid) - cpu_start
        wall = time.monotonic() - wall_start
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
        node_process.stop()
    (w0, s0), (w1, s1) = clocks[0], clocks[-1]
    steps = round((s1 - s0) * control_hz)
    return {
        "real_time_factor": (s1 - s0) / (w1 - w0),
        "control_steps": steps,
        "node_cpu_ms_per_step": 1000 * cpu / max(1, steps),
        "node_cpu_share_of_core": cpu / wall,
        "images_received_per_s": {c: n / wall for c, n in images.items()},
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--json", type=Path, default=Path("bench/results/sim.json"))
    args = parser.parse_args()

    os.sched_setaffinity(0, {BENCH_CORE})
    core = measure_core(seconds=min(args.seconds, 10.0))
    node = measure_sim_node(args.seconds)
    raw_tick_ms = core["tick_cpu_ms"]
    result = {
        "machine": machine(),
        "core": core,
        "sim_node": node,
        "raw_tick_ms": raw_tick_ms,
        "cost_ratio_node_vs_raw": node["node_cpu_ms_per_step"] / raw_tick_ms,
    }
    write_result(result, args.json)
    print(f"machine: {result['machine']}")
    print(
        f"raw control step (no render): {core['control_step_ms']:.3f} ms = {core['control_steps_per_s']:.0f} steps/s"
    )
    for camera, ms in core["render_ms"].items():
        print(f"render {camera} 224x224: {ms:.2f} ms = {1000 / ms:.0f} frames/s")
    print(f"raw tick in-process (step + task state + both renders), CPU: {raw_tick_ms:.2f} ms")
    print(
        f"sim_node real-time factor at 30 Hz, 2 cameras, 1 core: {node['real_time_factor']:.3f}x (goal >= 1.0)"
    )
    print(
        f"sim_node CPU per control tick: {node['node_cpu_ms_per_step']:.2f} ms = "
        f"{result['cost_ratio_node_vs_raw']:.2f}x raw (goal <= 1.3)"
    )
    print(f"images received per s: {node['images_received_per_s']}")
    print(f"written: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
