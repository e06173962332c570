"""Image transport benchmark, measured in one run (not a test).

A publisher process sends rgb8 images (224x224 and 640x480) as fast as a 30 Hz and a 200 Hz
timer ask, through the project's localhost profile (shared memory + loopback UDP); this process
receives them and measures latency (receive time - header stamp, same host clock) and the
received rate. Baseline in the same run: serializing and deserializing the same message in
one process (what the transport adds on top of the unavoidable copies).

    .venv/bin/python bench/bench_image_transport.py [--seconds 5] [--json bench/results/image_transport.json]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import rclpy
from bench_report import machine, write_result  # noqa: E402
from rclpy.executors import SingleThreadedExecutor
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import Image

from lerobot_ros.ros import conversions, qos
from lerobot_ros.ros.network import apply_network_defaults

TOPIC = "/bench/image"
PUBLISHER = """
import sys, time
import numpy as np
import rclpy
from sensor_msgs.msg import Image
from lerobot_ros.ros import conversions, qos
width, height, rate = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
rclpy.init()
node = rclpy.create_node("bench_image_publisher")
publisher = node.create_publisher(Image, "/bench/image", qos.IMAGE)
pixels = np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8)
def tick():
    publisher.publish(conversions.rgb_image(pixels, node.get_clock().now().to_msg(), "camera"))
node.create_timer(1.0 / rate, tick)
try:
    rclpy.spin(node)
except KeyboardInterrupt:
    pass
"""


def serialization_baseline(width: int, height: int, repeats: int = 200) -> float:
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    msg = conversions.rgb_image(pixels, conversions.seconds_to_time(0.0), "camera")
    start = time.perf_counter()
    for _ in range(repeats):
        deserialize_message(serialize_message(msg), Image)
    return 1000 * (time.perf_counter() - start) / repeats


def measure(width: int, height: int, rate: float, seconds: float) -> dict:
    publisher = subprocess.Popen(
        [sys.executable, "-c", PUBLISHER, str(width), str(height), str(rate)],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("bench_image_subscriber", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    latencies: list[float] = []
    arrivals: list[float] = []

    def on_image(msg: Image) -> None:
        now = time.time()
        latencies.append(1000 * (now - conversions.time_to_seconds(msg.header.stamp)))
        arrivals.append(time.monotonic())

    node.create_subscription(Image, TOPIC, on_image, qos.IMAGE)
    try:
        deadline = time.monotonic() + 30
        while not latencies and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
        latencies.clear()
        arrivals.clear()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=0.05)
    finally:
        publisher.terminate()
        publisher.wait(10)
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=context)
    received_rate = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0
    baseline = serialization_baseline(width, height)
    p50 = float(np.percentile(latencies, 50)) if latencies else float("nan")
    return {
        "size": f"{width}x{height}",
        "requested_hz": rate,
        "received_hz": received_rate,
        "rate_ratio": received_rate / rate,
        "latency_ms_p50": p50,
        "latency_ms_p99": float(np.percentile(latencies, 99)) if latencies else float("nan"),
        "serialize_roundtrip_ms": baseline,
        "latency_vs_serialization": p50 / baseline,
        "messages": len(latencies),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--json", type=Path, default=Path("bench/results/image_transport.json"))
    args = parser.parse_args()
    apply_network_defaults()
    cases = [
        measure(w, h, rate, args.seconds)
        for (w, h) in ((224, 224), (640, 480))
        for rate in (30.0, 200.0)
    ]
    result = {
        "machine": machine(),
        "cases": cases,
    }
    write_result(result, args.json)
    for case in cases:
        print(
            f"{case['size']} at {case['requested_hz']:g} Hz: received {case['received_hz']:.1f} Hz "
            f"({case['rate_ratio']:.2f}x), latency p50 {case['latency_ms_p50']:.2f} ms "
            f"p99 {case['latency_ms_p99']:.2f} ms = {case['latency_vs_serialization']:.1f}x "
            f"an in-process serialize+deserialize ({case['serialize_roundtrip_ms']:.3f} ms)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
