"""A deliberately slow camera consumer, run as its own node process by test_slow_consumer.py.

It subscribes to every camera image topic with the QoS it is given (``sensor``: the
best-effort profile subscribers may ask for, ``image``: the reliable contract profile) and
sleeps ``work_s`` in each image callback, far slower than the cameras publish. /clock is
followed on another thread, so each processed image's age (graph clock minus its stamp) shows
whether a backlog builds up. After ``duration_s`` it writes a JSON summary to ``output``:
per-topic counts and first/last stamps, ages in processing order, and its own RSS over time.

Run as ``python -m slow_image_consumer --ros-args -p cameras:=[front,wrist] -p output:=...``
with this directory on PYTHONPATH (NodeProcess applies the localhost network settings).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import rclpy
from fault_tools import rss_mb
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
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
        self.clock_now: float | None = None
        self.counts = {topics.camera_image(c): 0 for c in cameras}
        self.stamps: dict[str, list[float]] = {topic: [] for topic in self.counts}  # first, last
        self.ages: list[float] = []  # graph-clock age of each processed image, in order
        self.rss: list[tuple[float, float]] = []
        self.started = time.monotonic()
        self.done = threading.Event()
        for camera in cameras:
            topic = topics.camera_image(camera)
            self.create_subscription(
                Image,
                topic,
                lambda msg, topic=topic: self.on_image(topic, msg),
                QOS_PROFILES[profile],
                # One group per camera: a busy camera must not starve the other one.
                callback_group=MutuallyExclusiveCallbackGroup(),
            )
        self.create_subscription(
            Clock,
            topics.CLOCK,
            self.on_clock,
            qos.STATE,
            callback_group=MutuallyExclusiveCallbackGroup(),
        )
        self.create_timer(1.0, self.on_second, callback_group=MutuallyExclusiveCallbackGroup())

    def on_clock(self, msg: Clock) -> None:
        self.clock_now = conversions.time_to_seconds(msg.clock)

    def on_image(self, topic: str, msg: Image) -> None:
        stamp = conversions.time_to_seconds(msg.header.stamp)
        if self.clock_now is not None:
            self.ages.append(self.clock_now - stamp)
        self.counts[topic] += 1
        first_last = self.stamps[topic]
        if not first_last:
            first_last.append(stamp)
        first_last[1:] = [stamp]
        time.sleep(self.work_s)  # the slow part: a consumer that cannot keep up

    def on_second(self) -> None:
        elapsed = time.monotonic() - self.started
        self.rss.append((elapsed, rss_mb(os.getpid())))
        if elapsed >= self.duration_s and not self.done.is_set():
            summary = {
                "counts": self.counts,
                "stamps": self.stamps,
                "ages": self.ages,
                "rss_mb": self.rss,
            }
            self.output.write_text(json.dumps(summary))
            self.done.set()


def main() -> int:
    apply_network_defaults()  # a no-op under LEROBOT_ROS_NETWORK=system (the lossy profile)
    rclpy.init(args=sys.argv)
    node = SlowImageConsumer()
    executor = MultiThreadedExecutor(num_threads=len(node.counts) + 2)
    executor.add_node(node)
    try:
        while rclpy.ok() and not node.done.is_set():
            executor.spin_once(timeout_sec=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
