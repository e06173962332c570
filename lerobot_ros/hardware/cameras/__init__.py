"""Real cameras as plain Python sources (OpenCV devices and video files, Intel RealSense),
and the capture loop that paces and reconnects them; ``camera_node`` puts one on the topic
contract. No ROS in this package.
"""

from lerobot_ros.hardware.cameras.frames import Frame, Intrinsics, output_size, resize_frame
from lerobot_ros.hardware.cameras.settings import CameraSettings, make_source
from lerobot_ros.hardware.cameras.source import CameraError, CameraSource, EndOfStream
from lerobot_ros.hardware.cameras.streaming import Backoff, CameraStream, FramePacer

__all__ = [
    "Backoff",
    "CameraError",
    "CameraSettings",
    "CameraSource",
    "CameraStream",
    "EndOfStream",
    "Frame",
    "FramePacer",
    "Intrinsics",
    "make_source",
    "output_size",
    "resize_frame",
]
