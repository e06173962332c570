import math

import numpy as np
import pytest
from geometry_msgs.msg import Pose
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory
from visualization_msgs.msg import Marker, MarkerArray

from lerobot_ros.features import adapters
from lerobot_ros.features.mapping import ActionOutput, ImageInput, PoseInput, StateInput

STATE = StateInput("/joint_states", ("b", "a"))
POSE = PoseInput("/scene/markers", "cube")
IMAGE = ImageInput("front", "/camera/front/image_raw", 4, 6)


def test_state_vector_reorders_by_name():
    msg = JointState(name=["a", "b", "c"], position=[1.0, 2.0, 3.0])
    np.testing.assert_allclose(adapters.state_vector(msg, STATE), [2.0, 1.0])


@pytest.mark.parametrize(
    "msg, message",
    [
        (JointState(name=["a"], position=[1.0]), "missing"),
        (JointState(name=["a", "b"], position=[1.0]), "2 names but 1"),
        (JointState(name=["a", "b"], position=[1.0, math.nan]), "NaN"),
    ],
)
def test_malformed_joint_states(msg, message):
    with pytest.raises(adapters.InputError, match=message):
        adapters.state_vector(msg, STATE)


def test_pose_vector_finds_the_named_marker():
    pose = Pose()
    pose.position.x, pose.orientation.w = 0.5, 1.0
    msg = MarkerArray(markers=[Marker(text="table"), Marker(text="cube", pose=pose)])
    np.testing.assert_allclose(adapters.pose_vector(msg, POSE), [0.5, 0, 0, 1, 0, 0, 0])
    with pytest.raises(adapters.InputError, match="no marker named 'cube'"):
        adapters.pose_vector(MarkerArray(markers=[Marker(text="table")]), POSE)


def image(width, height, encoding="rgb8", data=None):
    step = width * 3
    data = bytes(range(256)) * (height * step // 256 + 1) if data is None else data
    return Image(
        width=width, height=height, encoding=encoding, step=step, data=data[: height * step]
    )


def test_images_are_converted_and_resized():
    pixels = adapters.image_array(image(12, 8), IMAGE)
    assert pixels.shape == (4, 6, 3) and pixels.dtype == np.uint8
    same = adapters.image_array(image(6, 4), IMAGE)
    assert same.shape == (4, 6, 3)
    bgr = adapters.image_array(image(6, 4, "bgr8"), IMAGE)
    np.testing.assert_array_equal(bgr, same[..., ::-1])


@pytest.mark.parametrize(
    "msg, message",
    [
        (image(6, 4, "mono8"), "unsupported image encoding"),
        (image(6, 4, data=b"\x00" * 10), "does not match"),
    ],
)
def test_malformed_images(msg, message):
    with pytest.raises(adapters.InputError, match=message):
        adapters.image_array(msg, IMAGE)


def test_action_messages():
    position = adapters.action_message(
        np.array([1.0, 2.0]), ActionOutput("/cmd", ("a", "b")), 3.0, 1 / 30
    )
    assert isinstance(position, Float64MultiArray) and list(position.data) == [1.0, 2.0]
    spec = ActionOutput("/traj", ("a", "b"), "joint_trajectory")
    trajectory = adapters.action_message(np.array([1.0, 2.0]), spec, 3.5, 1 / 30)
    assert isinstance(trajectory, JointTrajectory) and trajectory.joint_names == ["a", "b"]
    assert (
        trajectory.header.stamp.sec == 3
        and trajectory.points[0].time_from_start.nanosec == 33333333
    )
    with pytest.raises(adapters.InputError):
        adapters.action_message(np.array([np.nan, 0.0]), spec, 0.0, 0.1)
    with pytest.raises(adapters.InputError, match="expects 2"):
        adapters.action_message(np.zeros(3), spec, 0.0, 0.1)
