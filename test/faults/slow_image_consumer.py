"""A deliberately slow camera consumer, run as its own node process by test_slow_consumer.py.

It subscribes to every camera image topic with the QoS it is given (``sensor``: the
best-effort profile subscribers may ask for, ``image``: the reliable contract profile) and
sleeps ``work_s`` in each image callback, far slower than the cameras publish. Each processed
image's age (graph clock, from its offset to the wall clock, minus its stamp) shows whether a backlog builds up. After ``duration_s`` it writes a JSON summary
to ``output``: per-topic counts and first/last stamps, ages in processing order, and its own
RSS over time.

One single-threaded executor, and the duration kept by the spin loop: an earlier version with
a MultiThreadedExecutor (a callback group per camera) busy-looped at a full core once every
worker slept in a callback, and its timer stopped firing, so it never finished.

Run as ``python -m slow_image_consumer --ros-args -p cameras:=[front,wrist] -p output:=...``
with this directory on PYTHONPATH (NodeProcess applies the localhost network settings).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import rclpy
from fault_tools import rss_mb
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Image

from lerobot_ros.ros import conversions, qos, topics
from lerobot_ros.ros.network import apply_network_defaults

QOS_PROFILES = {"sensor": qos.SENSOR_SUBSCRIPTION, "image": qos.IMAGE}


class SlowImageConsumer(Node):
    def __init__(self) -> None:
        super().__init__("slow_image_consumer")
        cameras = self.declare_parameter("cameras", ["front", "wrist"]).value
        profile = self.declare_parameter("qos", "sensor").value
        self.work_s = float(self.declare_parameter("work_s", 0.1).value)
        self.duration_s = float(self.declare_parameter("duration_s", 30.0).value)
        self.output = Path(self.declare_parameter("output", "").value)
        if profile not in QOS_PROFILES:
            raise ValueError(f"qos must be one of {list(QOS_PROFILES)}, got {profile!r}")
        self.clock_offset: float | None = None  # graph clock minus wall monotonic clock
        self.counts = {topics.camera_image(c): 0 for c in cameras}
        self.stamps: dict[str, list[float]] = {topic: [] for topic in self.counts}  # first, last
        self.ages: list[float] = []  # graph-clock age of each processed image, in order
        self.rss: list[tuple[float, float]] = []
        for camera in cameras:
            topic = topics.camera_image(camera)
            self.create_subscription(
                Image,
                topic,
                lambda msg, topic=topic: self.on_image(topic, msg),
                QOS_PROFILES[profile],
            )
        # Depth 1: the clock callback waits behind the image callbacks, and with a deeper
        # queue it would be handed ever older messages.
        latest_clock = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
        self.create_subscription(Clock, topics.CLOCK, self.on_clock, latest_clock)

    def on_clock(self, msg: Clock) -> None:
        # The sim runs in real time, so graph clock minus wall clock is a constant; a clock
        # message handled late (behind slow image callbacks) only makes it look smaller, so
        # the largest seen is the best estimate.
        offset = conversions.time_to_seconds(msg.clock) - time.monotonic()
        self.clock_offset = offset if self.clock_offset is None else max(self.clock_offset, offset)

    def graph_now(self) -> float | None:
        return None if self.clock_offset is None else time.monotonic() + self.clock_offset

    def on_image(self, topic: str, msg: Image) -> None:
        stamp = conversions.time_to_seconds(msg.header.stamp)
        now = self.graph_now()
        if now is not None:
            self.ages.append(now - stamp)
        self.counts[topic] += 1
        first_last = self.stamps[topic]
        if not first_last:
            first_last.append(stamp)
        first_last[1:] = [stamp]
        time.sleep(self.work_s)  # the slow part: a consumer that cannot keep up

    def write_summary(self) -> None:
        summary = {
            "counts": self.counts,
            "stamps": self.stamps,
            "ages": self.ages,
            "rss_mb": self.rss,
        }
        self.output.write_text(json.dumps(summary))


def main() -> int:
    apply_network_defaults()  # a no-op under LEROBOT_ROS_NETWORK=system (the lossy profile)
    rclpy.init(args=sys.argv)
    node = SlowImageConsumer()
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    started = next_sample = time.monotonic()
    try:
        while rclpy.ok() and (elapsed := time.monotonic() - started) < node.duration_s:
            if time.monotonic() >= next_sample:
                node.rss.append((elapsed, rss_mb(os.getpid())))
                next_sample += 1.0
            executor.spin_once(timeout_sec=0.1)
        node.write_summary()
    except KeyboardInterrupt:
        pass
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
