"""NumPy <-> ROS message conversions used by the nodes (no node state here)."""

from __future__ import annotations

import array
from collections.abc import Iterable, Sequence

import numpy as np
from builtin_interfaces.msg import Duration, Time
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Header
from trajectory_msgs.msg import JointTrajectory
from visualization_msgs.msg import Marker, MarkerArray

from lerobot_ros.control.joint_commands import TrajectoryPoint

_NANOSECONDS = 1_000_000_000


def seconds_to_time(seconds: float) -> Time:
    nanoseconds = int(round(seconds * _NANOSECONDS))
    return Time(sec=nanoseconds // _NANOSECONDS, nanosec=nanoseconds % _NANOSECONDS)


def time_to_seconds(stamp: Time | Duration) -> float:
    return stamp.sec + stamp.nanosec / _NANOSECONDS


def joint_state(
    stamp: Time,
    names: Sequence[str],
    position: np.ndarray,
    velocity: np.ndarray,
    effort: np.ndarray,
) -> JointState:
    msg = JointState()
    msg.header.stamp = stamp
    msg.name = list(names)
    msg.position = np.asarray(position, dtype=float).tolist()
    msg.velocity = np.asarray(velocity, dtype=float).tolist()
    msg.effort = np.asarray(effort, dtype=float).tolist()
    return msg


def rgb_image(pixels: np.ndarray, stamp: Time, frame_id: str) -> Image:
    """An rgb8 Image from an (H, W, 3) uint8 array."""
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {pixels.shape} {pixels.dtype}")
    height, width, _ = pixels.shape
    msg = Image(header=Header(stamp=stamp, frame_id=frame_id))
    msg.height, msg.width, msg.encoding, msg.is_bigendian, msg.step = (
        height,
        width,
        "rgb8",
        0,
        width * 3,
    )
    # array('B', bytes) is a single memcpy; assigning the ndarray would copy element by element.
    msg.data = array.array("B", np.ascontiguousarray(pixels).tobytes())
    return msg


def image_pixels(msg: Image, dtype: type = np.uint8, channels: int = 1) -> np.ndarray:
    """(H, W, channels) view of an Image's buffer, checked against its size and step
    (ValueError says which); multi-byte values in the message's byte order."""
    if msg.height == 0 or msg.width == 0:
        raise ValueError(f"empty image ({msg.width}x{msg.height})")
    item = np.dtype(dtype).newbyteorder(">" if msg.is_bigendian else "<")
    if msg.step != msg.width * channels * item.itemsize or len(msg.data) != msg.height * msg.step:
        raise ValueError(
            f"{msg.encoding} buffer of {len(msg.data)} bytes does not match "
            f"{msg.width}x{msg.height}, step {msg.step}"
        )
    return np.frombuffer(msg.data, dtype=item).reshape(msg.height, msg.width, channels)


def image_to_rgb(msg: Image) -> np.ndarray:
    """(H, W, 3) uint8 view of an rgb8/bgr8 Image; ValueError on anything else."""
    if msg.encoding not in ("rgb8", "bgr8"):
        raise ValueError(f"unsupported image encoding {msg.encoding!r} (expected rgb8 or bgr8)")
    pixels = image_pixels(msg, np.uint8, 3)
    return pixels[..., ::-1] if msg.encoding == "bgr8" else pixels


def camera_info(
    stamp: Time,
    frame_id: str,
    width: int,
    height: int,
    intrinsics: tuple[float, float, float, float],
) -> CameraInfo:
    """Pinhole CameraInfo without distortion (a rendered camera has none)."""
    fx, fy, cx, cy = intrinsics
    msg = CameraInfo(header=Header(stamp=stamp, frame_id=frame_id))
    msg.width, msg.height = width, height
    msg.distortion_model = "plumb_bob"
    msg.d = [0.0] * 5
    msg.k = [fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0]
    msg.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    msg.p = [fx, 0.0, cx, 0.0, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    return msg


def trajectory_points(msg: JointTrajectory) -> list[TrajectoryPoint]:
    return [
        TrajectoryPoint(
            time_from_start=time_to_seconds(p.time_from_start), positions=list(p.positions)
        )
        for p in msg.points
    ]


def box_markers(
    objects: Iterable, stamp: Time, frame_id: str, namespace: str = "scene"
) -> MarkerArray:
    """CUBE markers for scene objects with ``name, size, position, quaternion (wxyz), rgba``."""
    markers = MarkerArray()
    for marker_id, obj in enumerate(objects):
        marker = Marker(header=Header(frame_id=frame_id))
        marker.ns, marker.id, marker.type, marker.action = (
            namespace,
            marker_id,
            Marker.CUBE,
            Marker.ADD,
        )
        marker.text = obj.name  # not drawn for CUBE; lets consumers find "cube" and "table"
        marker.scale.x, marker.scale.y, marker.scale.z = map(float, obj.size)
        marker.color.r, marker.color.g, marker.color.b, marker.color.a = map(float, obj.rgba)
        markers.markers.append(marker)
    return update_box_markers(markers, objects, stamp)


def update_box_markers(markers: MarkerArray, objects: Iterable, stamp: Time) -> MarkerArray:
    """Refresh stamps and poses of ``box_markers`` output in place (objects in the same order)."""
    for marker, obj in zip(markers.markers, objects, strict=True):
        marker.header.stamp = stamp
        marker.pose.position.x, marker.pose.position.y, marker.pose.position.z = map(
            float, obj.position
        )
        w, x, y, z = map(float, obj.quaternion)
        marker.pose.orientation.w, marker.pose.orientation.x = w, x
        marker.pose.orientation.y, marker.pose.orientation.z = y, z
    return markers
