"""A client for the two-host test and benchmark, run on one of TwoHosts' namespaces: waits
for the policy to be ready, resets the sim (wherever it runs; a lockstep sim then waits for
the policy's first action), then for ``--seconds`` takes the
sim's task statuses, both camera images and the position commands as they arrive on this
host. Prints one JSON line: steps per second, the period between steps (p50/p99; in lockstep
one step is one observation -> action -> step round trip), images per second per camera and
image bytes per second, commands per second.

    python test/ros_plumbing/multihost_probe.py [--seconds 10] [--seed 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from sensor_msgs.msg import Image
from std_msgs.msg import Float64MultiArray

from lerobot_ros.interfaces import PolicyStatus, TaskStatus
from lerobot_ros.ros import qos, topics
from lerobot_ros.ros.network import apply_network_defaults
from lerobot_ros.ros.sim_client import SimClient, spin_until
from lerobot_ros.sim.robot import CAMERA_NAMES

POLICY_WAIT_S = 180.0  # the policy process imports torch and loads its checkpoint


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    apply_network_defaults()
    rclpy.init()
    node = rclpy.create_node("multihost_probe")
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    steps: list[tuple[float, int]] = []
    images = {camera: [] for camera in CAMERA_NAMES}
    commands: list[float] = []
    policy_states: list[str] = []

    def on_status(msg: TaskStatus) -> None:
        steps.append((time.perf_counter(), msg.step))

    def on_image(camera: str, msg: Image) -> None:
        images[camera].append(len(msg.data))

    node.create_subscription(TaskStatus, topics.TASK_STATUS, on_status, qos.TASK_STATUS)
    for camera in CAMERA_NAMES:
        node.create_subscription(
            Image, topics.camera_image(camera), lambda m, c=camera: on_image(c, m), qos.IMAGE
        )
    node.create_subscription(
        PolicyStatus, topics.POLICY_STATUS, lambda m: policy_states.append(m.state), qos.STATE
    )
    node.create_subscription(
        Float64MultiArray,
        topics.POSITION_COMMANDS,
        lambda _: commands.append(time.perf_counter()),
        qos.COMMAND,
    )
    try:
        if not spin_until(executor, lambda: policy_states[-1:] == ["waiting"], POLICY_WAIT_S):
            print(f"the policy is not waiting for input: {policy_states[-3:]}", file=sys.stderr)
            return 1
        SimClient(node, executor, timeout=60.0).reset(args.seed)
        if not spin_until(executor, lambda: any(step > 1 for _, step in steps), 60.0):
            print(f"no step after the reset: policy {policy_states[-3:]}", file=sys.stderr)
            return 1
        steps.clear()
        commands.clear()
        for received in images.values():
            received.clear()
        spin_until(executor, lambda: False, args.seconds)
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    # One status per step; a repeated step (a heartbeat) is not a new one.
    pairs = zip(steps[1:], steps[:-1], strict=True)
    arrivals = [t for (t, step), (_, before) in pairs if step != before]
    periods = np.diff(arrivals) * 1000 if len(arrivals) > 1 else np.array([np.nan])
    result = {
        "seconds": args.seconds,
        "steps": len(arrivals),
        "steps_per_s": len(arrivals) / args.seconds,
        "step_period_ms_p50": float(np.percentile(periods, 50)),
        "step_period_ms_p99": float(np.percentile(periods, 99)),
        "images_per_s": {c: len(sizes) / args.seconds for c, sizes in images.items()},
        "image_megabytes_per_s": sum(sum(s) for s in images.values()) / args.seconds / 1e6,
        "commands_per_s": len(commands) / args.seconds,
    }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
