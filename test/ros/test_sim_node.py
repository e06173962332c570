"""sim_node in its own process, checked from a separate rclpy node over localhost DDS."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import mujoco
import numpy as np
import pytest
from rcl_interfaces.msg import Log
from rclpy.qos import DurabilityPolicy, QoSProfile
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Float64MultiArray, String
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint
from visualization_msgs.msg import MarkerArray

from lerobot_ros.interfaces import TaskStatus
from lerobot_ros.robots import panda
from lerobot_ros.ros import conversions, qos, topics
from lerobot_ros.sim.scene import mujoco_urdf

pytestmark = pytest.mark.ros

WIDTH, HEIGHT = 160, 120  # not the default: proves the parameters reach the cameras
COMMAND_TIMEOUT = 0.3


@pytest.fixture(scope="module")
def sim(start_module_node):
    return start_module_node(
        "lerobot_ros.nodes.sim_node",
        {
            "image_width": WIDTH,
            "image_height": HEIGHT,
            "command_timeout": COMMAND_TIMEOUT,
            "seed": 3,
        },
    )


def latest_positions(messages: list[JointState]) -> np.ndarray:
    return np.array(messages[-1].position)


def wait_for_messages(probe, messages: list, count: int = 1, timeout: float = 30.0) -> None:
    assert probe.spin_until(lambda: len(messages) >= count, timeout), "no messages arrived in time"


def command_until(
    probe, target: np.ndarray, joint_states: list, tolerance: float, timeout: float
) -> bool:
    """Stream a position command at ~30 Hz (as a commander would) until the arm gets there."""
    publisher = probe.node.create_publisher(
        Float64MultiArray, topics.POSITION_COMMANDS, qos.COMMAND
    )
    timer = probe.node.create_timer(
        1 / 30, lambda: publisher.publish(Float64MultiArray(data=target.tolist()))
    )
    try:
        return probe.spin_until(
            lambda: (
                bool(joint_states)
                and np.max(np.abs(latest_positions(joint_states) - target)) < tolerance
            ),
            timeout,
        )
    finally:  # stop streaming: after the command timeout the arm holds where it is
        probe.node.destroy_timer(timer)
        probe.node.destroy_publisher(publisher)


def test_joint_states_names_rate_and_sim_time_stamps(sim, probe):
    states = probe.collect(JointState, topics.JOINT_STATES, qos.STATE)
    clocks = probe.collect(Clock, topics.CLOCK, qos.STATE)
    wait_for_messages(probe, states)
    states.clear()
    clocks.clear()
    probe.spin_for(3.0)
    assert len(states) >= 20, f"only {len(states)} joint states in 3 s (expected ~90 at 30 Hz)"
    assert all(tuple(m.name) == panda.JOINT_NAMES for m in states)
    assert all(len(m.position) == len(m.velocity) == len(m.effort) == 8 for m in states)
    stamps = [conversions.time_to_seconds(m.header.stamp) for m in states]
    assert all(b > a for a, b in zip(stamps, stamps[1:], strict=False)), "stamps must increase"
    # Sim time: consecutive states are one control period apart, and /clock advances alike.
    np.testing.assert_allclose(np.diff(stamps), 1 / 30, atol=1e-6)
    clock_times = [conversions.time_to_seconds(m.clock) for m in clocks]
    assert clock_times[-1] > clock_times[0]
    assert stamps[-1] < 1e6, "stamps are sim time, not wall time"
    # Rate over wall time: loose (shared 2-core machine); real-time factor belongs to bench.
    sim_span = stamps[-1] - stamps[0]
    assert sim_span > 0.5


@pytest.mark.parametrize("camera", panda.CAMERA_NAMES)
def test_camera_images_and_info(sim, probe, camera):
    images = probe.collect(Image, topics.camera_image(camera), qos.IMAGE)
    infos = probe.collect(CameraInfo, topics.camera_info(camera), qos.IMAGE)
    assert probe.spin_until(lambda: images and infos, 30.0)
    image, info = images[-1], infos[-1]
    assert (image.width, image.height, image.encoding) == (WIDTH, HEIGHT, "rgb8")
    assert image.step == WIDTH * 3 and len(image.data) == WIDTH * HEIGHT * 3
    assert image.header.frame_id == info.header.frame_id == panda.camera_frame_id(camera)
    assert (info.width, info.height) == (WIDTH, HEIGHT)
    fx, cx, fy, cy = info.k[0], info.k[2], info.k[4], info.k[5]
    assert fx > 0 and fy > 0 and 0 < cx < WIDTH and 0 < cy < HEIGHT
    pixels = conversions.image_to_rgb(image)
    assert pixels.std() > 5, "the rendered image is blank"


def test_robot_description_is_latched_and_compiles(sim, probe):
    descriptions = probe.collect(String, topics.ROBOT_DESCRIPTION, qos.LATCHED)
    wait_for_messages(probe, descriptions)
    urdf = descriptions[0].data
    robot = ET.fromstring(urdf)
    joints = {j.get("name") for j in robot.iter("joint")}
    assert set(panda.JOINT_NAMES) <= joints
    links = {link.get("name") for link in robot.iter("link")}
    assert {"world", "panda_link0"} | {
        panda.camera_frame_id(c) for c in panda.CAMERA_NAMES
    } <= links
    model = mujoco.MjModel.from_xml_string(mujoco_urdf(urdf))
    assert model.njnt >= 8


def test_position_command_reaches_target(sim, probe):
    states = probe.collect(JointState, topics.JOINT_STATES, qos.STATE)
    wait_for_messages(probe, states)
    target = np.array(panda.HOME_POSITION) + np.array([0.3, 0.2, -0.2, 0.3, 0.2, -0.2, 0.3, -0.02])
    assert command_until(probe, target, states, tolerance=0.01, timeout=30.0), (
        f"arm did not reach {target}: at {latest_positions(states)}"
    )


def test_out_of_limit_command_is_clamped(sim, probe):
    states = probe.collect(JointState, topics.JOINT_STATES, qos.STATE)
    wait_for_messages(probe, states)
    lower, upper = panda.joint_limits()
    target = np.array(panda.HOME_POSITION)
    target[0] = upper[0] + 1.0  # beyond the limit: the arm must stop at it
    clamped = target.copy()
    clamped[0] = upper[0]
    assert command_until(probe, clamped, states, tolerance=0.02, timeout=30.0)
    assert latest_positions(states)[0] <= upper[0] + 0.01


def test_trajectory_is_followed_in_time(sim, probe):
    states = probe.collect(JointState, topics.JOINT_STATES, qos.STATE)
    wait_for_messages(probe, states)
    home = np.array(panda.HOME_POSITION)
    assert command_until(probe, home, states, tolerance=0.01, timeout=30.0)
    via = home + np.array([0.4, 0.0, 0.0, 0.3, 0.0, 0.0, 0.0, 0.0])
    goal = home + np.array([0.8, 0.0, 0.0, 0.3, 0.0, 0.0, -0.4, 0.0])
    trajectory = JointTrajectory(joint_names=list(panda.JOINT_NAMES))
    for seconds, q in ((1.0, via), (2.0, goal)):
        point = JointTrajectoryPoint(positions=q.tolist())
        point.time_from_start.sec = int(seconds)
        trajectory.points.append(point)
    states.clear()
    probe.node.create_publisher(JointTrajectory, topics.JOINT_TRAJECTORY, qos.COMMAND).publish(
        trajectory
    )
    assert probe.spin_until(
        lambda: states and np.abs(latest_positions(states) - goal).max() < 0.01, 30.0
    )
    # Along the way the arm followed the interpolation (tracking lag of a few control steps).
    start = conversions.time_to_seconds(states[0].header.stamp)
    errors = []
    for msg in states:
        t = conversions.time_to_seconds(msg.header.stamp) - start
        if 0.3 < t < 1.8:
            expected = np.array(
                [
                    np.interp(t, [0, 1, 2], [a, b, c])
                    for a, b, c in zip(home, via, goal, strict=True)
                ]
            )
            errors.append(np.abs(np.array(msg.position) - expected).max())
    assert len(errors) > 10
    assert max(errors) < 0.15, f"tracking error up to {max(errors):.3f} rad"


def test_bad_commands_are_rejected_with_an_error_and_the_node_survives(sim, probe):
    states = probe.collect(JointState, topics.JOINT_STATES, qos.STATE)
    rosout_qos = QoSProfile(depth=100, durability=DurabilityPolicy.TRANSIENT_LOCAL)
    logs = probe.collect(Log, "/rosout", rosout_qos)
    wait_for_messages(probe, states)
    probe.spin_for(1.0)  # let any earlier motion settle: the arm holds
    before = latest_positions(states)
    position_pub = probe.node.create_publisher(
        Float64MultiArray, topics.POSITION_COMMANDS, qos.COMMAND
    )
    trajectory_pub = probe.node.create_publisher(
        JointTrajectory, topics.JOINT_TRAJECTORY, qos.COMMAND
    )
    probe.spin_for(0.5)  # discovery
    position_pub.publish(Float64MultiArray(data=[0.0] * 3))
    position_pub.publish(Float64MultiArray(data=[math.nan] * 8))
    bad_joint = JointTrajectory(joint_names=["panda_joint1", "elbow_of_another_robot"])
    point = JointTrajectoryPoint(positions=[0.1, 0.2])
    point.time_from_start.sec = 1
    bad_joint.points.append(point)
    trajectory_pub.publish(bad_joint)

    def rejected(reason: str) -> bool:
        return any(m.level >= Log.ERROR and "rejected" in m.msg and reason in m.msg for m in logs)

    assert probe.spin_until(
        lambda: rejected("expected 8") and rejected("NaN") and rejected("unknown joints"), 15.0
    ), [m.msg for m in logs]
    states.clear()
    probe.spin_for(1.0)
    assert states, "sim_node stopped publishing after bad commands"
    assert sim.running
    np.testing.assert_allclose(latest_positions(states), before, atol=0.01)


def test_stale_command_makes_the_arm_hold(sim, probe):
    states = probe.collect(JointState, topics.JOINT_STATES, qos.STATE)
    wait_for_messages(probe, states)
    home = np.array(panda.HOME_POSITION)
    assert command_until(probe, home, states, tolerance=0.01, timeout=30.0)
    far = home.copy()
    far[0] = 2.5  # ~2.5 rad away: more than the arm can travel within the command timeout
    publisher = probe.node.create_publisher(
        Float64MultiArray, topics.POSITION_COMMANDS, qos.COMMAND
    )
    probe.spin_for(0.3)
    publisher.publish(Float64MultiArray(data=far.tolist()))  # one command, then silence
    probe.spin_for(3.0)
    final = latest_positions(states)
    velocity = np.abs(np.array(states[-1].velocity)).max()
    assert abs(final[0] - home[0]) > 0.05, "the command was not executed at all"
    assert abs(final[0] - far[0]) > 0.3, "the arm kept chasing a stale command"
    assert velocity < 0.05, f"the arm is not holding still (|v| = {velocity:.3f})"


def cube_pose_after_reset(probe, seed: int, markers: list) -> np.ndarray:
    probe.sim.reset(seed)
    probe.spin_for(0.5)  # the reset's marker message arrives after any older ones
    cube = next(m for m in markers[-1].markers if m.text == "cube")
    p, o = cube.pose.position, cube.pose.orientation
    return np.array([p.x, p.y, p.z, o.w, o.x, o.y, o.z])


def test_reset_with_same_seed_gives_same_cube_pose(sim, probe):
    markers = probe.collect(MarkerArray, topics.SCENE_MARKERS, qos.STATE)
    statuses = probe.collect(TaskStatus, topics.TASK_STATUS, qos.STATE)
    wait_for_messages(probe, markers)
    probe.sim.pause(True)
    try:
        first = cube_pose_after_reset(probe, 11, markers)
        other = cube_pose_after_reset(probe, 12, markers)
        again = cube_pose_after_reset(probe, 11, markers)
    finally:
        probe.sim.pause(False)
    np.testing.assert_allclose(first, again, atol=1e-9)
    assert np.abs(first[:2] - other[:2]).max() > 1e-3, "different seeds gave the same cube position"
    assert statuses[-1].seed == 11 and statuses[-1].step == 0


def test_pause_and_step_advance_exactly(sim, probe):
    clocks = probe.collect(Clock, topics.CLOCK, qos.STATE)
    wait_for_messages(probe, clocks)
    probe.sim.pause(True)
    try:
        probe.spin_for(0.5)
        paused_at = conversions.time_to_seconds(clocks[-1].clock)
        probe.spin_for(0.5)
        assert conversions.time_to_seconds(clocks[-1].clock) == paused_at
        response = probe.sim.step(6)
        assert conversions.time_to_seconds(response.sim_time) == pytest.approx(
            paused_at + 6 / 30, abs=1e-6
        )
    finally:
        probe.sim.pause(False)
    with pytest.raises(RuntimeError, match="pause it first"):
        probe.sim.step(1)


@pytest.mark.parametrize(
    "parameters, message",
    [
        ({"cameras": ["front", "thermal"]}, "unknown cameras ['thermal']"),
        ({"image_width": 0}, "image_width out of range"),
        ({"control_hz": "fast"}, "control_hz"),
    ],
)
def test_bad_parameters_fail_with_a_clear_message(start_node, parameters, message):
    process = start_node("lerobot_ros.nodes.sim_node", parameters)
    assert process.process.wait(timeout=60) != 0
    process.stop()
    assert message in process.log_text()
