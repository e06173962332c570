"""camera_node: a video file through a node in its own process, a software RealSense through a
node in this process, both checked from a separate rclpy node over localhost DDS."""

from __future__ import annotations

import os
import threading

import cv2
import numpy as np
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from sensor_msgs.msg import CameraInfo, Image

from lerobot_ros.emulators.software_realsense import SoftwareRealSense
from lerobot_ros.hardware.cameras import Intrinsics
from lerobot_ros.nodes.camera_node import CameraNode
from lerobot_ros.robots import panda
from lerobot_ros.ros import conversions, qos, topics

pytestmark = pytest.mark.ros

NODE = "lerobot_ros.nodes.camera_node"
VIDEO_FRAMES = 12


def write_video(path, size=(96, 64)) -> None:
    """Frame i is uniform RGB (10 + 20 i, 0, 200); written elsewhere and moved into place,
    so a watcher never sees half a file."""
    partial = path.with_name("partial-" + path.name)
    writer = cv2.VideoWriter(str(partial), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, size)
    for index in range(VIDEO_FRAMES):
        writer.write(np.full((size[1], size[0], 3), (200, 0, 10 + 20 * index), np.uint8))
    writer.release()
    os.replace(partial, path)


def frame_index(msg: Image) -> int:
    rgb = conversions.image_to_rgb(msg)
    red, green, blue = rgb[msg.height // 2, msg.width // 2].astype(int)
    assert green < 20 and blue > 180, f"not RGB order of a test frame: {(red, green, blue)}"
    return round((red - 10) / 20)


class Received:
    """Messages of a topic with the probe's clock time at arrival."""

    def __init__(self, probe, msg_type, topic: str) -> None:
        self.messages: list = []
        self.arrivals: list[float] = []
        self._clock = probe.node.get_clock()
        self.subscription = probe.node.create_subscription(
            msg_type, topic, self._on_message, qos.IMAGE
        )

    def _on_message(self, msg) -> None:
        self.messages.append(msg)
        self.arrivals.append(self._clock.now().nanoseconds / 1e9)

    def __len__(self) -> int:
        return len(self.messages)

    def clear(self) -> None:
        self.messages.clear()
        self.arrivals.clear()


def stamps(messages) -> list[float]:
    return [conversions.time_to_seconds(m.header.stamp) for m in messages]


def test_video_file_at_the_requested_rate_size_and_frame(start_node, probe, tmp_path):
    video = tmp_path / "counter.avi"
    write_video(video)
    start_node(
        NODE,
        {
            "camera_name": "front",
            "device": str(video),
            "fps": 10.0,
            "width": 48,
            "height": 32,
            "horizontal_fov_deg": 90.0,
        },
    )
    images = Received(probe, Image, topics.camera_image("front"))
    infos = Received(probe, CameraInfo, topics.camera_info("front"))
    assert probe.spin_until(lambda: len(images) > 0 and len(infos) > 0, 30.0), "no images"
    images.clear()
    infos.clear()
    probe.spin_for(3.0)

    rate = len(images) / 3.0
    assert 6.0 <= rate <= 12.0, rate  # paced at 10 Hz, not the file's 30 Hz
    image = images.messages[-1]
    assert (image.width, image.height, image.encoding) == (48, 32, "rgb8")
    assert image.header.frame_id == panda.camera_frame_id("front")
    image_stamps = stamps(images.messages)
    assert all(b > a for a, b in zip(image_stamps, image_stamps[1:], strict=False)), (
        "stamps must increase"
    )
    assert max(abs(a - s) for a, s in zip(images.arrivals, image_stamps, strict=False)) < 0.5
    # The file loops: consecutive frames, wrapping from 11 to 0.
    indices = [frame_index(m) for m in images.messages]
    steps = {(b - a) % VIDEO_FRAMES for a, b in zip(indices, indices[1:], strict=False)}
    assert steps == {1}, indices
    assert len(indices) > VIDEO_FRAMES

    info_by_stamp = {conversions.time_to_seconds(i.header.stamp): i for i in infos.messages}
    matched = [info_by_stamp[s] for s in image_stamps if s in info_by_stamp]
    assert len(matched) >= len(image_stamps) - 2  # each image has its info, same stamp
    info = matched[-1]
    assert (info.width, info.height, info.header.frame_id) == (48, 32, image.header.frame_id)
    fx, fy, cx, cy = Intrinsics.from_horizontal_fov(48, 32, 90.0).pinhole
    assert list(info.k) == pytest.approx([fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0])


def test_missing_file_is_retried_until_it_appears_then_played_once(start_node, probe, tmp_path):
    video = tmp_path / "later.avi"
    node = start_node(
        NODE,
        {
            "camera_name": "wrist",
            "device": str(video),
            "fps": 20.0,
            "loop": False,
            "reconnect_min_s": 0.2,
            "reconnect_max_s": 0.5,
        },
    )
    images = Received(probe, Image, topics.camera_image("wrist"))
    assert probe.spin_until(lambda: node.log_text().count("not found") >= 3, 30.0), node.log_text()[
        -2000:
    ]
    log = node.log_text()
    assert f"video file {video} not found; retrying in" in log
    assert node.running and len(images) == 0
    # Matched before the file appears, so no frame of the single play goes unseen.
    assert probe.spin_until(lambda: images.subscription.get_publisher_count() > 0, 30.0)

    write_video(video)
    assert probe.spin_until(lambda: len(images) >= VIDEO_FRAMES, 15.0), (
        [frame_index(m) for m in images.messages],
        node.log_text()[-2000:],
    )
    probe.spin_for(1.0)  # played once: nothing after the last frame
    indices = [frame_index(m) for m in images.messages]
    assert indices == list(range(VIDEO_FRAMES)), indices
    assert images.messages[0].header.frame_id == panda.camera_frame_id("wrist")
    assert "stopped publishing (loop is off)" in node.log_text()
    assert node.running  # the node outlives its stream


@pytest.mark.parametrize(
    "parameters, message",
    [
        ({"fps": 0.0}, "fps must be positive"),
        ({"source": "kinect"}, "unknown source 'kinect'"),
        ({"width": -5}, "width must not be negative"),
    ],
)
def test_bad_parameters_refuse_to_start(start_node, parameters, message):
    process = start_node(NODE, parameters)
    assert process.process.wait(timeout=60) == 2
    process.stop()
    assert message in process.log_text(), process.log_text()[-2000:]


# --- RealSense -------------------------------------------------------------------------------
class InProcessNode:
    """A camera_node in this process (a software device only exists in the process that
    made it), in its own rclpy context and executor thread, like a separate process."""

    def __init__(self, camera: SoftwareRealSense, parameters: dict) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = CameraNode(
            find_realsense_device=lambda: camera.device,
            context=self.context,
            parameter_overrides=[Parameter(k, value=v) for k, v in parameters.items()],
        )
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        while self.context.ok():
            try:
                self.executor.spin_once(timeout_sec=0.05)
            except Exception:  # noqa: BLE001 - the context is being shut down
                return

    def close(self) -> None:
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)
        self._thread.join(5.0)
        self.executor.shutdown()


@pytest.fixture
def software_camera():
    camera = SoftwareRealSense(color_size=(80, 60), depth_size=(64, 48), fps=30).start()
    yield camera
    camera.stop()


def test_realsense_color_and_aligned_depth(probe, software_camera):
    camera_node = InProcessNode(
        software_camera,
        {
            "camera_name": "wrist",
            "source": "realsense",
            "depth": True,
            "fps": 15.0,
            "timeout_s": 0.5,
            "reconnect_min_s": 0.2,
        },
    )
    try:
        images = Received(probe, Image, topics.camera_image("wrist"))
        infos = Received(probe, CameraInfo, topics.camera_info("wrist"))
        depths = Received(probe, Image, topics.camera_depth("wrist"))
        depth_infos = Received(probe, CameraInfo, topics.camera_depth_info("wrist"))
        assert probe.spin_until(lambda: len(images) > 0 and len(depths) > 0, 30.0)
        images.clear()
        depths.clear()
        probe.spin_for(2.0)

        rate = len(images) / 2.0
        assert 9.0 <= rate <= 17.0, rate  # a 30 Hz camera paced to 15 Hz
        image, depth = images.messages[-1], depths.messages[-1]
        assert (image.width, image.height, image.encoding) == (80, 60, "rgb8")
        assert (depth.width, depth.height, depth.encoding) == (80, 60, "16UC1")  # aligned
        assert image.header.frame_id == depth.header.frame_id == panda.camera_frame_id("wrist")
        pixels = np.frombuffer(depth.data, np.uint16).reshape(60, 80)
        assert pixels[30, 40] == 1000  # 1 m in millimetres
        assert tuple(conversions.image_to_rgb(image)[30, 40])[1:] == (7, 200)
        image_stamps = stamps(images.messages)
        assert all(b > a for a, b in zip(image_stamps, image_stamps[1:], strict=False))
        assert set(stamps(depths.messages)) & set(image_stamps)  # depth shares the color stamps
        # The camera stamps frames 50 ms before they arrive: the stamp is that capture time.
        latencies = [a - s for a, s in zip(images.arrivals, image_stamps, strict=False)]
        assert 0.03 < min(latencies) and max(latencies) < 0.5, latencies
        info, depth_info = infos.messages[-1], depth_infos.messages[-1]
        assert (info.width, info.height) == (80, 60)
        assert list(depth_info.k) == list(info.k)
        assert info.k[2] == pytest.approx(39.5) and info.k[5] == pytest.approx(29.5)

        # Unplugged: the node keeps running and reconnects when frames come back.
        software_camera.pause()
        probe.spin_for(1.0)
        images.clear()
        probe.spin_for(0.5)
        assert len(images) == 0
        software_camera.resume()
        assert probe.spin_until(lambda: len(images) >= 5, 15.0)
        assert camera_node.node.stream.connections >= 2
    finally:
        camera_node.close()
