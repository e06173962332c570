"""``camera_node``: one real camera (OpenCV device or video file, Intel RealSense) on the
topic contract, as the sim publishes its cameras.

Publishes ``/camera/<name>/image_raw`` (rgb8) and ``/camera/<name>/camera_info`` and, for a
RealSense with ``depth:=true``, depth aligned to color on
``/camera/<name>/aligned_depth_to_color/{image_raw,camera_info}``: 16UC1 in millimetres,
0 = no measurement, as realsense2_camera and OpenNI drivers publish it (REP 118's other
encoding; depth_image_proc and RViz take both), lossless for the camera's z16 and half
the size of 32FC1 metres. frame_id defaults to the camera's optical frame by the contract's
name (``<name>_camera_optical_frame``, z forward), as the sim's and the Panda's URDF name them.

Stamps are the capture time on the node's ROS clock: ``now - age`` where the age comes from
the camera (RealSense host-clock timestamps) or is taken when the frame was grabbed (OpenCV).
Capture, decoding, resizing and publishing run in a capture thread (see
``lerobot_ros.hardware.cameras.streaming``), so the executor never waits on the camera; a
camera that fails is logged and retried with backoff, and the node keeps running.
"""

from __future__ import annotations

import array
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from builtin_interfaces.msg import Time as TimeMsg
from rclpy.experimental import EventsExecutor
from rclpy.node import Node
from rclpy.time import Time
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from lerobot_ros.hardware.cameras import Backoff, CameraSettings, CameraStream, Frame, make_source
from lerobot_ros.ros import conversions, qos, topics
from lerobot_ros.ros.node_main import run_node
from lerobot_ros.ros.parameters import Rule, declare_node_parameters, parameter_docs

NODE_NAME = "camera_node"


def depth_image(depth_mm: np.ndarray, stamp: TimeMsg, frame_id: str) -> Image:
    """A 16UC1 Image (millimetres) from an (H, W) uint16 array."""
    if depth_mm.dtype != np.uint16 or depth_mm.ndim != 2:
        raise ValueError(
            f"expected an (H, W) uint16 depth image, got {depth_mm.shape} {depth_mm.dtype}"
        )
    height, width = depth_mm.shape
    msg = Image(header=Header(stamp=stamp, frame_id=frame_id))
    msg.height, msg.width, msg.encoding, msg.is_bigendian, msg.step = (
        height,
        width,
        "16UC1",
        0,
        width * 2,
    )
    msg.data = array.array("B", np.ascontiguousarray(depth_mm, dtype="<u2").tobytes())
    return msg


class CameraNode(Node):
    def __init__(
        self, find_realsense_device: Callable[[], Any] | None = None, **node_kwargs: Any
    ) -> None:
        """``find_realsense_device`` replaces the lookup of a connected RealSense (tests pass
        a ``pyrealsense2.software_device``)."""
        super().__init__(NODE_NAME, **node_kwargs)
        # Dynamic typing: `-p fps:=15` or `-p serial_number:=8123` must not fail on the YAML
        # type; CameraSettings checks every value and names the parameter when one is wrong.
        # All are read once by the capture thread's source: read-only.
        fixed = Rule(dynamic_typing=True)
        values = declare_node_parameters(
            self, NODE_NAME, dict.fromkeys(parameter_docs(NODE_NAME), fixed)
        )
        settings = CameraSettings.from_parameters(values)
        self.settings = settings
        self.frame_id = str(values["frame_id"] or "").strip() or topics.camera_optical_frame(
            settings.camera_name
        )
        name = settings.camera_name
        self.image_pub = self.create_publisher(Image, topics.camera_image(name), qos.IMAGE)
        self.info_pub = self.create_publisher(CameraInfo, topics.camera_info(name), qos.IMAGE)
        if settings.depth:
            self.depth_pub = self.create_publisher(Image, topics.camera_depth(name), qos.IMAGE)
            self.depth_info_pub = self.create_publisher(
                CameraInfo, topics.camera_depth_info(name), qos.IMAGE
            )
        self.stream = CameraStream(
            lambda: make_source(settings, find_realsense_device),
            settings.fps,
            self.publish_frame,
            self.get_logger(),
            width=settings.width,
            height=settings.height,
            backoff=Backoff(settings.reconnect_min_s, settings.reconnect_max_s),
            name=name,
        )
        self.get_logger().info(
            f"camera {name}: {settings.source} "
            f"{settings.device if settings.source == 'opencv' else settings.serial_number or '(first found)'}"
            f" at {settings.fps:g} Hz on {topics.camera_image(name)}, frame {self.frame_id}"
        )
        self.stream.start()

    def capture_stamp(self, capture_time: float) -> TimeMsg:
        """The ROS-clock time of a capture at ``capture_time`` on the monotonic clock."""
        now = self.get_clock().now()
        age_ns = int(max(0.0, time.monotonic() - capture_time) * 1e9)
        return Time(nanoseconds=now.nanoseconds - age_ns, clock_type=now.clock_type).to_msg()

    def publish_frame(self, frame: Frame) -> None:
        """Runs in the capture thread (rclpy publishers are thread-safe)."""
        if not self.context.ok():  # shutting down (Ctrl-C): the stream is about to stop
            return
        stamp = self.capture_stamp(frame.capture_time)
        info = conversions.camera_info(
            stamp, self.frame_id, frame.width, frame.height, frame.intrinsics.pinhole
        )
        self.image_pub.publish(conversions.rgb_image(frame.color, stamp, self.frame_id))
        self.info_pub.publish(info)
        if self.settings.depth and frame.depth_mm is not None:
            self.depth_pub.publish(depth_image(frame.depth_mm, stamp, self.frame_id))
            self.depth_info_pub.publish(info)

    def destroy_node(self) -> None:
        self.stream.stop()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    return run_node(NODE_NAME, CameraNode, EventsExecutor, args)


if __name__ == "__main__":
    sys.exit(main())
