"""Messages of the topic contract -> NumPy feature vectors, and actions -> command messages.

Every adapter validates what it reads and raises ``InputError`` with the reason, so a
malformed message is reported and skipped, never fed to a policy or written to a dataset.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint
from visualization_msgs.msg import MarkerArray

from lerobot_ros.features.mapping import ActionOutput, ImageInput, PoseInput, StateInput
from lerobot_ros.ros.conversions import image_to_rgb, seconds_to_time


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


def image_array(msg: Image, spec: ImageInput) -> np.ndarray:
    """(H, W, 3) uint8 RGB at the mapped size (resized with area interpolation if needed)."""
    try:
        pixels = image_to_rgb(msg)
    except ValueError as error:
        raise InputError(f"{spec.topic}: {error}") from None
    if pixels.shape[:2] != (spec.height, spec.width):
        pixels = cv2.resize(pixels, (spec.width, spec.height), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(pixels)


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
