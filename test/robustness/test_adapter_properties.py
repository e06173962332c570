"""Bad messages into every adapter of lerobot_ros/features/adapters.py and image_to_rgb.

Inputs are real rclpy message objects. The property of each adapter: it returns a finite
vector (or image) of the mapped shape holding exactly the message's values, or raises
InputError whose message starts with the topic; it rejects exactly the inputs that break
its rules (wrong lengths, missing names, NaN/inf, unsupported encodings and buffers) and
never raises anything else.
"""

from __future__ import annotations

import math
from array import array

import numpy as np
import pytest
from bad_input_support import (
    HUGE_LENGTHS,
    TALLY,
    any_float,
    examples,
    finite_float,
    float_arrays,
    joint_name_lists,
    lengths_near,
    texts,
)
from hypothesis import given
from hypothesis import strategies as st
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint
from visualization_msgs.msg import Marker, MarkerArray

from lerobot_ros.features.adapters import (
    InputError,
    action_message,
    command_vector,
    image_array,
    pose_vector,
    state_vector,
    trajectory_target,
)
from lerobot_ros.features.mapping import (
    JOINT_FIELDS,
    POSE_FIELDS,
    ActionOutput,
    ImageInput,
    PoseInput,
    StateInput,
)
from lerobot_ros.robots import panda
from lerobot_ros.ros import topics
from lerobot_ros.ros.conversions import image_to_rgb, time_to_seconds

pytestmark = pytest.mark.bad_input

mapped_names = st.one_of(
    st.just(panda.JOINT_NAMES),
    st.lists(texts.filter(bool), min_size=1, max_size=6, unique=True).map(tuple),
)


def finite(values) -> bool:  # noqa: ANN001
    return all(math.isfinite(v) for v in values)


def assert_names_topic(error: InputError, topic: str) -> None:
    assert str(error).startswith(f"{topic}: "), str(error)


# --- JointState -> observation.state -----------------------------------------------------


@st.composite
def joint_state_cases(draw: st.DrawFn) -> tuple[StateInput, JointState]:
    spec = StateInput(topics.JOINT_STATES, draw(mapped_names), draw(st.sampled_from(JOINT_FIELDS)))
    msg = JointState(name=draw(joint_name_lists(spec.names)))
    for field in JOINT_FIELDS:
        setattr(msg, field, draw(float_arrays(draw(lengths_near(len(msg.name))))))
    return spec, msg


@examples(300)
@given(joint_state_cases())
def test_state_vector(case):
    spec, msg = case
    values = getattr(msg, spec.field)
    last = {name: i for i, name in enumerate(msg.name)}
    should_reject = (
        len(values) != len(msg.name)
        or any(name not in last for name in spec.names)
        or not finite(values[last[name]] for name in spec.names)
    )
    with TALLY.attempt("adapters.state_vector") as attempt:
        try:
            vector = state_vector(msg, spec)
        except InputError as error:
            attempt.rejected(error)
            assert should_reject, f"rejected a valid message: {error}"
            assert_names_topic(error, spec.topic)
            return
        assert not should_reject, "accepted a message its rules reject"
        assert vector.shape == (len(spec.names),) and vector.dtype == np.float64
        assert np.all(np.isfinite(vector))
        assert vector.tolist() == [values[last[name]] for name in spec.names]
        repeated = len(set(msg.name)) != len(msg.name)
        attempt.accepted("repeated joint names: the last one is used" if repeated else "valid")


# --- MarkerArray -> observation.environment_state ------------------------------------------


def _pose_values(marker: Marker) -> dict[str, float]:
    p, o = marker.pose.position, marker.pose.orientation
    return {"x": p.x, "y": p.y, "z": p.z, "qw": o.w, "qx": o.x, "qy": o.y, "qz": o.z}


@st.composite
def marker_cases(draw: st.DrawFn) -> tuple[PoseInput, MarkerArray]:
    spec = PoseInput(
        topics.SCENE_MARKERS,
        draw(st.one_of(st.just("cube"), texts.filter(bool))),
        tuple(draw(st.lists(st.sampled_from(POSE_FIELDS), min_size=1, max_size=8))),
    )
    markers = [Marker(text=f"other_{i}") for i in range(draw(st.sampled_from([0, 0, 0, 1000])))]
    for _ in range(draw(st.integers(0, 4))):
        marker = Marker(text=draw(st.one_of(st.just(spec.marker), texts)))
        numbers = draw(
            st.lists(finite_float if draw(st.booleans()) else any_float, min_size=7, max_size=7)
        )
        p, o = marker.pose.position, marker.pose.orientation
        p.x, p.y, p.z, o.w, o.x, o.y, o.z = numbers
        markers.append(marker)
    return spec, MarkerArray(markers=markers)


@examples(200)
@given(marker_cases())
def test_pose_vector(case):
    spec, msg = case
    found = next((m for m in msg.markers if m.text == spec.marker), None)
    expected = None if found is None else [_pose_values(found)[f] for f in spec.fields]
    with TALLY.attempt("adapters.pose_vector") as attempt:
        try:
            vector = pose_vector(msg, spec)
        except InputError as error:
            attempt.rejected(error)
            assert expected is None or not finite(expected), f"rejected a valid pose: {error}"
            assert_names_topic(error, spec.topic)
            return
        assert expected is not None and finite(expected)
        assert vector.shape == (len(spec.fields),) and vector.tolist() == expected
        attempt.accepted()


# --- Image -> observation.images.* -----------------------------------------------------------

ENCODINGS = ("rgb8", "bgr8", "mono8", "rgba8", "bgra8", "16UC1", "32FC1", "yuv422", "RGB8", "")
SIZES = st.one_of(st.integers(0, 40), st.sampled_from([10**6, 2**31, 2**32 - 1]))
UINT32 = 2**32


@st.composite
def images(draw: st.DrawFn) -> Image:
    """A well-formed rgb8/bgr8 image one time in two, else any header and buffer."""
    if draw(st.booleans()):
        encoding = draw(st.sampled_from(["rgb8", "bgr8"]))
        height, width = draw(st.integers(1, 40)), draw(st.integers(1, 40))
        step = width * 3
        length = height * step
    else:
        encoding = draw(st.one_of(st.sampled_from(ENCODINGS), texts))
        height, width = draw(SIZES), draw(SIZES)
        right_step = width * 3
        step = draw(
            st.one_of(
                st.just(right_step % UINT32),
                st.just(width % UINT32),
                st.integers(0, UINT32 - 1),
            )
        )
        size = height * step
        if size <= 200_000:
            length = draw(st.sampled_from([size, size, max(size - 1, 0), size + 1, 0]))
        else:  # a header announcing gigabytes, with a small buffer
            length = draw(st.integers(0, 2048))
    if length <= 4096:
        data = draw(st.binary(min_size=length, max_size=length))
    else:
        data = bytes([draw(st.integers(0, 255))]) * length
    return Image(
        height=height,
        width=width,
        step=step,
        encoding=encoding,
        is_bigendian=draw(st.integers(0, 1)),
        data=array("B", data),
    )


def _image_rules(msg: Image) -> str | None:
    """Why image_to_rgb must refuse ``msg`` (None: it is a well-formed rgb8/bgr8 image),
    in the order it checks."""
    if msg.encoding not in ("rgb8", "bgr8"):
        return "encoding"
    if msg.height == 0 or msg.width == 0:
        return "empty"
    if msg.step != msg.width * 3 or len(msg.data) != msg.height * msg.step:
        return "buffer"
    return None


# What image_array takes beyond rgb8/bgr8: encoding -> bytes per pixel.
ARRAY_ENCODINGS = {"rgb8": 3, "bgr8": 3, "mono8": 1, "16UC1": 2, "mono16": 2, "32FC1": 4}


def _image_array_rules(msg: Image) -> str | None:
    """Why image_array must refuse ``msg`` (None: well formed), in the order it checks."""
    if msg.encoding not in ARRAY_ENCODINGS:
        return "encoding"
    if msg.height == 0 or msg.width == 0:
        return "empty"
    step = msg.width * ARRAY_ENCODINGS[msg.encoding]
    if msg.step != step or len(msg.data) != msg.height * msg.step:
        return "buffer"
    return None


# The word each refusal's message must hold.
REFUSAL_WORDS = {"encoding": "encoding", "empty": "empty", "buffer": "bytes"}


def _rgb(msg: Image) -> np.ndarray:
    pixels = np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.width, 3)
    return pixels[..., ::-1] if msg.encoding == "bgr8" else pixels


@examples(300)
@given(images(), st.data())
def test_image_array(msg, data):
    if data.draw(st.booleans()) and 0 < msg.height <= 48 and 0 < msg.width <= 48:
        height, width = msg.height, msg.width  # the mapped size: no resize
    else:
        height, width = data.draw(st.integers(1, 48)), data.draw(st.integers(1, 48))
    spec = ImageInput("front", topics.camera_image("front"), height, width)
    refusal = _image_array_rules(msg)
    with TALLY.attempt("adapters.image_array") as attempt:
        try:
            pixels = image_array(msg, spec)
        except InputError as error:
            attempt.rejected(error)
            assert refusal is not None, f"rejected a valid image: {error}"
            assert_names_topic(error, spec.topic)
            assert REFUSAL_WORDS[refusal] in str(error), (refusal, str(error))
            return
        assert refusal is None, f"accepted an image with a bad {refusal}"
        assert pixels.shape == (height, width, 3) and pixels.dtype == np.uint8
        assert pixels.flags["C_CONTIGUOUS"]
        if msg.encoding not in ("rgb8", "bgr8"):
            attempt.accepted(f"{msg.encoding} as rgb")  # mono8 / depth: their own tests
        elif (msg.height, msg.width) == (height, width):
            np.testing.assert_array_equal(pixels, _rgb(msg))
            attempt.accepted("same size")
        else:
            attempt.accepted("resized")


@examples(200)
@given(images())
def test_image_to_rgb(msg):
    refusal = _image_rules(msg)
    with TALLY.attempt("conversions.image_to_rgb") as attempt:
        try:
            pixels = image_to_rgb(msg)
        except ValueError as error:
            attempt.rejected(error)
            assert refusal is not None, f"rejected a valid image: {error}"
            assert REFUSAL_WORDS[refusal] in str(error), (refusal, str(error))
            return
        assert refusal is None, f"accepted an image with a bad {refusal}"
        assert pixels.shape == (msg.height, msg.width, 3) and pixels.dtype == np.uint8
        np.testing.assert_array_equal(pixels, _rgb(msg))
        attempt.accepted()


@pytest.mark.parametrize("height, width", [(5, 0), (0, 4), (0, 0)])
def test_an_empty_image_is_an_input_error(height, width):
    """Not a cv2.error from resizing it: policy_node and recorder_node catch InputError."""
    msg = Image(height=height, width=width, step=width * 3, encoding="rgb8", data=array("B"))
    spec = ImageInput("front", topics.camera_image("front"), 4, 4)
    with pytest.raises(InputError, match="^/camera/front/image_raw: empty image"):
        image_array(msg, spec)


# --- commands: Float64MultiArray, JointTrajectory, and back ----------------------------------


@examples(200)
@given(mapped_names, st.data())
def test_command_vector(names, data):
    values = Float64MultiArray(
        data=data.draw(float_arrays(data.draw(lengths_near(len(names)))))
    ).data
    with TALLY.attempt("adapters.command_vector") as attempt:
        try:
            vector = command_vector(values, names, topics.POSITION_COMMANDS)
        except InputError as error:
            attempt.rejected(error)
            assert len(values) != len(names) or not finite(values), str(error)
            assert_names_topic(error, topics.POSITION_COMMANDS)
            return
        assert len(values) == len(names) and finite(values)
        assert vector.shape == (len(names),) and vector.tolist() == list(values)
        attempt.accepted()


@st.composite
def trajectory_cases(draw: st.DrawFn) -> tuple[ActionOutput, JointTrajectory]:
    spec = ActionOutput(topics.JOINT_TRAJECTORY, draw(mapped_names), "joint_trajectory")
    msg = JointTrajectory(joint_names=draw(joint_name_lists(spec.names)))
    for _ in range(draw(st.integers(0, 3))):
        positions = draw(float_arrays(draw(lengths_near(len(msg.joint_names)))))
        msg.points.append(JointTrajectoryPoint(positions=positions))
    return spec, msg


@examples(250)
@given(trajectory_cases())
def test_trajectory_target(case):
    spec, msg = case
    last = {name: i for i, name in enumerate(msg.joint_names)}
    target = msg.points[-1].positions if msg.points else None
    should_reject = (
        target is None
        or any(name not in last for name in spec.names)
        or len(target) != len(msg.joint_names)
        or not finite(target[last[name]] for name in spec.names)
    )
    with TALLY.attempt("adapters.trajectory_target") as attempt:
        try:
            vector = trajectory_target(msg, spec)
        except InputError as error:
            attempt.rejected(error)
            assert should_reject, f"rejected a valid trajectory: {error}"
            assert_names_topic(error, spec.topic)
            return
        assert not should_reject
        assert vector.tolist() == [target[last[name]] for name in spec.names]
        attempt.accepted()


@st.composite
def actions(draw: st.DrawFn, n: int) -> np.ndarray:
    shapes = [(n,), (n,), (n - 1,), (n + 1,), (0,), (), (1, n), (n, 1), (HUGE_LENGTHS[1],)]
    if n % 2 == 0:
        shapes.append((2, n // 2))
    shape = draw(st.sampled_from(shapes))
    size = int(np.prod(shape))
    return np.frombuffer(draw(float_arrays(size)), dtype=np.float64).reshape(shape)


@examples(250)
@given(mapped_names, st.sampled_from(["position_command", "joint_trajectory"]), st.data())
def test_action_message(names, kind, data):
    spec = ActionOutput(topics.POSITION_COMMANDS, names, kind)
    action = data.draw(actions(len(names)))
    # Stamps come from ROS times (int32 seconds); periods from a mapping's fps.
    stamp = data.draw(st.integers(-(2**31), 2**31 - 1)) + data.draw(st.integers(0, 10**9 - 1)) / 1e9
    period = 1.0 / data.draw(st.floats(0.01, 1000.0))
    with TALLY.attempt("adapters.action_message") as attempt:
        try:
            msg = action_message(action, spec, stamp, period)
        except InputError as error:
            attempt.rejected(error)
            assert action.size != len(names) or not np.all(np.isfinite(action)), str(error)
            assert "action" in str(error)
            return
        assert action.size == len(names) and np.all(np.isfinite(action))
        flat = action.reshape(-1).tolist()
        if kind == "position_command":
            assert isinstance(msg, Float64MultiArray) and list(msg.data) == flat
        else:
            assert isinstance(msg, JointTrajectory) and list(msg.joint_names) == list(names)
            assert len(msg.points) == 1 and list(msg.points[0].positions) == flat
            assert time_to_seconds(msg.points[0].time_from_start) == pytest.approx(period, abs=1e-9)
            assert time_to_seconds(msg.header.stamp) == pytest.approx(stamp, abs=1e-6)
            assert 0 <= msg.header.stamp.nanosec < 10**9
        attempt.accepted("valid" if action.ndim == 1 else f"{action.ndim}-D action flattened")
