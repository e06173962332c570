"""Messages of the topic contract -> NumPy feature vectors, and actions -> command messages.

Every adapter validates what it reads and raises ``InputError`` with the reason, so a
malformed message is reported and skipped, never fed to a policy or written to a dataset.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
from sensor_msgs.msg import CompressedImage, Image, JointState
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint
from visualization_msgs.msg import MarkerArray

from lerobot_ros.features.mapping import (
    ARRAY_KINDS,
    FIELD_INPUT_KINDS,
    OBS_ENVIRONMENT_STATE,
    OBS_STATE,
    ActionOutput,
    FeatureMapping,
    FieldInput,
    ImageInput,
    PoseInput,
    StateInput,
)
from lerobot_ros.ros.conversions import image_pixels, image_to_rgb, seconds_to_time


class InputError(ValueError):
    """A message that cannot become a feature; the message says why."""


def state_vector(msg: JointState, spec: StateInput) -> np.ndarray:
    """The mapped joints' field (position by default) in the mapping's order."""
    values = getattr(msg, spec.field)
    if len(values) != len(msg.name):
        raise InputError(
            f"{spec.topic}: {len(msg.name)} names but {len(values)} {spec.field} values"
        )
    index = {name: i for i, name in enumerate(msg.name)}
    missing = [name for name in spec.names if name not in index]
    if missing:
        raise InputError(
            f"{spec.topic}: joints {missing} are missing (message has {list(msg.name)})"
        )
    vector = np.array([values[index[name]] for name in spec.names], dtype=np.float64)
    if not np.all(np.isfinite(vector)):
        raise InputError(f"{spec.topic}: NaN or inf in {spec.field}")
    return vector


def field_vector(msg: object, spec: FieldInput) -> np.ndarray:
    """The mapped numeric fields of a state_extra message (Wrench/Twist/PoseStamped, Imu, or
    Float64MultiArray indexes), in the mapping's order."""
    if spec.type in ARRAY_KINDS:
        data = msg.data
        too_far = [f for f in spec.fields if int(f) >= len(data)]
        if too_far:
            raise InputError(
                f"{spec.topic}: {len(data)} values, the mapping reads index {too_far[0]}"
            )
        values = [data[int(f)] for f in spec.fields]
    else:
        payload_name = FIELD_INPUT_KINDS[spec.type][1]
        payload = getattr(msg, payload_name) if payload_name else msg
        values = []
        for field in spec.fields:
            group, axis = field.split(".")
            values.append(getattr(getattr(payload, group), axis))
    vector = np.array(values, dtype=np.float64)
    if not np.all(np.isfinite(vector)):
        raise InputError(f"{spec.topic}: NaN or inf in {list(spec.fields)}")
    return vector


def pose_vector(msg: MarkerArray, spec: PoseInput) -> np.ndarray:
    """The pose fields of the marker named ``spec.marker`` (its ``text``)."""
    for marker in msg.markers:
        if marker.text == spec.marker:
            p, o = marker.pose.position, marker.pose.orientation
            pose = {"x": p.x, "y": p.y, "z": p.z, "qw": o.w, "qx": o.x, "qy": o.y, "qz": o.z}
            vector = np.array([pose[field] for field in spec.fields], dtype=np.float64)
            if not np.all(np.isfinite(vector)):
                raise InputError(f"{spec.topic}: marker {spec.marker!r} has a NaN or inf pose")
            return vector
    raise InputError(f"{spec.topic}: no marker named {spec.marker!r}")


def marker_header(msg: MarkerArray, spec: PoseInput) -> object | None:
    """Header of the marker named ``spec.marker`` (a MarkerArray has none of its own)."""
    return next((m.header for m in msg.markers if m.text == spec.marker), None)


def input_converters(mapping: FeatureMapping) -> dict[str, Callable[[Any], np.ndarray]]:
    """Each mapped input's message -> its feature vector or image (ROS units), by key."""
    converters: dict[str, Callable[[Any], np.ndarray]] = {
        OBS_STATE: lambda msg: state_vector(msg, mapping.state)
    }
    if mapping.environment_state is not None:
        pose = mapping.environment_state
        converters[OBS_ENVIRONMENT_STATE] = lambda msg: pose_vector(msg, pose)
    for image in mapping.images:
        converters[image.key] = lambda msg, spec=image: image_array(msg, spec)
    for extra in mapping.state_extra:
        converters[extra.key] = lambda msg, spec=extra: field_vector(msg, spec)
    return converters


def input_header(msg: object, environment_state: PoseInput | None) -> object | None:
    """The header whose stamp dates an input sample: the message's own, the mapped marker's
    for a MarkerArray; None for a headerless message (Float64MultiArray), which the time it
    was received dates."""
    if isinstance(msg, MarkerArray):
        return None if environment_state is None else marker_header(msg, environment_state)
    return getattr(msg, "header", None)


def command_vector(values: object, names: tuple[str, ...], topic: str) -> np.ndarray:
    """A command's values as a finite vector of the mapped joints' length."""
    vector = np.asarray(values, dtype=np.float64).reshape(-1)
    if vector.shape[0] != len(names):
        raise InputError(f"{topic}: {vector.shape[0]} command values, the mapping has {len(names)}")
    if not np.all(np.isfinite(vector)):
        raise InputError(f"{topic}: NaN or inf in the command")
    return vector


def trajectory_target(msg: JointTrajectory, spec: ActionOutput) -> np.ndarray:
    """Where a trajectory ends, for the mapped joints (the action it stands for)."""
    if not msg.points:
        raise InputError(f"{spec.topic}: trajectory without points")
    index = {name: i for i, name in enumerate(msg.joint_names)}
    missing = [name for name in spec.names if name not in index]
    if missing:
        raise InputError(f"{spec.topic}: trajectory lacks joints {missing}")
    target = msg.points[-1].positions
    if len(target) != len(msg.joint_names):
        raise InputError(f"{spec.topic}: {len(msg.joint_names)} joints, {len(target)} positions")
    return command_vector([target[index[n]] for n in spec.names], spec.names, spec.topic)


# Depth encodings and the unit (m) of one of their values.
DEPTH_ENCODINGS = {"16UC1": 0.001, "mono16": 0.001, "32FC1": 1.0}
IMAGE_ENCODINGS = ("rgb8", "bgr8", "mono8", *DEPTH_ENCODINGS)


def image_array(msg: Image | CompressedImage, spec: ImageInput) -> np.ndarray:
    """(H, W, 3) uint8 RGB at the mapped size (resized with area interpolation if needed),
    from any image the mapping allows: rgb8/bgr8/mono8, depth (shaded 0..depth_max m, white
    beyond, black where unknown), or a jpeg/png CompressedImage."""
    try:
        if spec.type == "compressed_image":
            pixels = _decode_compressed(msg)
        elif msg.encoding not in IMAGE_ENCODINGS:
            raise ValueError(
                f"unsupported image encoding {msg.encoding!r} (expected "
                f"{', '.join(IMAGE_ENCODINGS)}, or a compressed_image input)"
            )
        elif msg.encoding == "mono8":
            pixels = np.repeat(image_pixels(msg), 3, axis=2)
        elif msg.encoding in DEPTH_ENCODINGS:
            pixels = _shade_depth(msg, spec.depth_max)
        else:
            pixels = image_to_rgb(msg)
    except ValueError as error:
        raise InputError(f"{spec.topic}: {error}") from None
    if pixels.shape[:2] != (spec.height, spec.width):
        pixels = cv2.resize(pixels, (spec.width, spec.height), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(pixels)


def _shade_depth(msg: Image, depth_max: float) -> np.ndarray:
    unit = DEPTH_ENCODINGS[msg.encoding]
    raw = image_pixels(msg, np.float32 if msg.encoding == "32FC1" else np.uint16)[..., 0]
    meters = raw.astype(np.float64) * unit
    known = np.isfinite(meters) & (meters > 0)  # 0 and NaN: no depth measured there
    shade = np.where(known, np.clip(meters / depth_max, 0.0, 1.0) * 255.0, 0.0)
    return np.repeat(np.round(shade).astype(np.uint8)[..., None], 3, axis=2)


def _decode_compressed(msg: CompressedImage) -> np.ndarray:
    buffer = np.frombuffer(bytes(msg.data), dtype=np.uint8)
    bgr = cv2.imdecode(buffer, cv2.IMREAD_COLOR) if buffer.size else None
    if bgr is None:
        raise ValueError(f"cannot decode the {msg.format or 'unnamed'} image ({buffer.size} bytes)")
    return bgr[..., ::-1]


def action_message(
    action: np.ndarray, spec: ActionOutput, stamp_seconds: float, period: float
) -> Float64MultiArray | JointTrajectory:
    """A command message for one action vector (trajectory: reach it in one period)."""
    values = np.asarray(action, dtype=np.float64).reshape(-1)
    if values.shape[0] != len(spec.names):
        raise InputError(
            f"action has {values.shape[0]} values, the mapping expects {len(spec.names)}"
        )
    if not np.all(np.isfinite(values)):
        raise InputError("action contains NaN or inf")
    if spec.type == "position_command":
        return Float64MultiArray(data=values.tolist())
    trajectory = JointTrajectory(joint_names=list(spec.names))
    trajectory.header.stamp = seconds_to_time(stamp_seconds)
    point = JointTrajectoryPoint(positions=values.tolist())
    point.time_from_start.sec = int(math.floor(period))
    point.time_from_start.nanosec = int(round((period - math.floor(period)) * 1e9))
    trajectory.points.append(point)
    return trajectory
