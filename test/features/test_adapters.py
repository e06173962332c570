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
        (
            image(6, 4, "yuv422"),
            r"unsupported image encoding 'yuv422' \(expected rgb8, bgr8, mono8",
        ),
        (image(6, 4, "mono8"), "mono8 buffer of 72 bytes does not match 6x4, step 18"),
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


def _mono(encoding: str, values: np.ndarray) -> Image:
    height, width = values.shape
    return Image(
        height=height,
        width=width,
        encoding=encoding,
        step=width * values.dtype.itemsize,
        data=values.tobytes(),
    )


def test_mono8_becomes_gray_rgb():
    values = np.arange(24, dtype=np.uint8).reshape(4, 6)
    pixels = adapters.image_array(_mono("mono8", values), IMAGE)
    assert pixels.shape == (4, 6, 3)
    np.testing.assert_array_equal(pixels[..., 0], values)
    np.testing.assert_array_equal(pixels[..., 2], values)


def test_depth_is_shaded_up_to_depth_max_and_unknown_is_black():
    depth = ImageInput("depth", "/camera/depth/image_raw", 1, 4, depth_max=2.0)
    millimeters = np.array([[0, 1000, 2000, 5000]], dtype=np.uint16)  # 0: no reading
    shaded = adapters.image_array(_mono("16UC1", millimeters), depth)
    np.testing.assert_array_equal(shaded[0, :, 0], [0, 128, 255, 255])
    meters = np.array([[np.nan, 0.5, 1.0, 2.0]], dtype=np.float32)
    shaded = adapters.image_array(_mono("32FC1", meters), depth)
    np.testing.assert_array_equal(shaded[0, :, 1], [0, 64, 128, 255])
    short = Image(height=1, width=4, encoding="16UC1", step=8, data=bytes(6))
    with pytest.raises(adapters.InputError, match="16UC1 buffer of 6 bytes does not match"):
        adapters.image_array(short, depth)


@pytest.mark.parametrize("extension", [".png", ".jpg"])
def test_compressed_images_are_decoded_to_rgb(extension):
    import cv2
    from sensor_msgs.msg import CompressedImage

    rgb = np.zeros((4, 6, 3), dtype=np.uint8)
    rgb[..., 0] = 200  # red: a channel swap shows
    _, encoded = cv2.imencode(extension, rgb[..., ::-1])
    spec = ImageInput("front", "/camera/front/image_raw/compressed", 4, 6, "compressed_image")
    msg = CompressedImage(format=extension[1:], data=encoded.tobytes())
    pixels = adapters.image_array(msg, spec)
    assert pixels.shape == (4, 6, 3)
    assert abs(int(pixels[..., 0].mean()) - 200) <= 2 and pixels[..., 2].max() <= 2
    with pytest.raises(adapters.InputError, match="cannot decode the jpeg image"):
        adapters.image_array(CompressedImage(format="jpeg", data=b"not an image"), spec)


def test_field_vectors_of_numeric_messages():
    from geometry_msgs.msg import Twist, WrenchStamped
    from sensor_msgs.msg import Imu

    from lerobot_ros.features.mapping import FieldInput

    wrench = WrenchStamped()
    wrench.wrench.force.z, wrench.wrench.torque.y = -9.81, 0.5
    spec = FieldInput("ft", "/ft", "wrench_stamped", ("torque.y", "force.z"))
    np.testing.assert_allclose(adapters.field_vector(wrench, spec), [0.5, -9.81])
    # The unstamped Wrench (a ROS driver's bare sensor topic): same fields, no header.
    spec = FieldInput("ft", "/ft", "wrench", ("torque.y", "force.z"))
    np.testing.assert_allclose(adapters.field_vector(wrench.wrench, spec), [0.5, -9.81])
    assert adapters.input_header(wrench.wrench, None) is None  # dated by its arrival
    twist = Twist()
    twist.angular.z = 0.7
    spec = FieldInput("base", "/cmd", "twist", ("angular.z",))
    np.testing.assert_allclose(adapters.field_vector(twist, spec), [0.7])
    imu = Imu()
    imu.orientation.w, imu.angular_velocity.z = 1.0, 0.2
    spec = FieldInput("imu", "/imu", "imu", ("orientation.w", "angular_velocity.z"))
    np.testing.assert_allclose(adapters.field_vector(imu, spec), [1.0, 0.2])
    spec = FieldInput("grip", "/grip", "float64_multi_array", ("1",))
    np.testing.assert_allclose(
        adapters.field_vector(Float64MultiArray(data=[3.0, 4.0]), spec), [4.0]
    )
    with pytest.raises(adapters.InputError, match="1 values, the mapping reads index 1"):
        adapters.field_vector(Float64MultiArray(data=[3.0]), spec)
    with pytest.raises(adapters.InputError, match="NaN or inf"):
        adapters.field_vector(Float64MultiArray(data=[3.0, math.inf]), spec)


def test_input_header_dates_each_kind_of_input():
    state = JointState()
    state.header.stamp.sec = 3
    assert adapters.input_header(state, POSE).stamp.sec == 3
    markers = MarkerArray(markers=[Marker(text="table"), Marker(text="cube")])
    markers.markers[1].header.stamp.sec = 7
    assert adapters.input_header(markers, POSE).stamp.sec == 7  # the mapped marker's
    assert adapters.input_header(MarkerArray(markers=[Marker(text="table")]), POSE) is None
    assert adapters.input_header(Float64MultiArray(data=[1.0]), POSE) is None  # headerless
