"""policy_node in its own process, fed and watched from a separate rclpy node."""

from __future__ import annotations

import time

import numpy as np
import pytest
import yaml
from geometry_msgs.msg import Pose
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray, String
from std_srvs.srv import SetBool
from tiny_training import attach_mapping, untrained_act
from visualization_msgs.msg import Marker, MarkerArray

from lerobot_ros.interfaces import PolicyStatus
from lerobot_ros.policy.loading import shipped_policy_dir
from lerobot_ros.robots import panda
from lerobot_ros.ros import qos, topics

pytestmark = pytest.mark.ros

MAX_RELATIVE_TARGET = 0.002


class FakeRobot:
    """Publishes joint states and the cube marker at 30 Hz, stamped with the wall clock."""

    def __init__(self, probe) -> None:
        self.probe = probe
        self.state_pub = probe.node.create_publisher(JointState, topics.JOINT_STATES, qos.STATE)
        self.marker_pub = probe.node.create_publisher(MarkerArray, topics.SCENE_MARKERS, qos.STATE)
        self.send_state, self.send_marker, self.malformed = False, False, False
        probe.node.create_timer(1 / 30, self.publish)

    def publish(self) -> None:
        stamp = self.probe.node.get_clock().now().to_msg()
        if self.send_state:
            names = list(panda.JOINT_NAMES[:-1] if self.malformed else panda.JOINT_NAMES)
            state = JointState(name=names, position=list(panda.HOME_POSITION[: len(names)]))
            state.header.stamp = stamp
            self.state_pub.publish(state)
        if self.send_marker:
            pose = Pose()
            pose.position.x, pose.position.y, pose.position.z, pose.orientation.w = (
                0.5,
                0.05,
                0.025,
                1.0,
            )
            marker = Marker(text="cube", pose=pose)
            marker.header.stamp = stamp
            self.marker_pub.publish(MarkerArray(markers=[marker]))


def policy_parameters(**overrides):
    return {"policy_path": str(shipped_policy_dir()), "use_sim_time": False, **overrides}


def wait_for_status(probe, statuses, predicate, timeout=60.0):
    ok = probe.spin_until(lambda: bool(statuses) and predicate(statuses[-1]), timeout)
    assert ok, f"status never matched; last: {statuses[-1] if statuses else None}"
    return statuses[-1]


@pytest.fixture
def acting_policy(start_node, probe):
    """policy_node acting on a fake robot at home; yields (statuses, commands) lists."""
    start_node("lerobot_ros.nodes.policy_node", policy_parameters())
    statuses = probe.collect(PolicyStatus, topics.POLICY_STATUS, qos.STATE)
    commands = probe.collect(Float64MultiArray, topics.POSITION_COMMANDS, qos.COMMAND)
    robot = FakeRobot(probe)
    robot.send_state = robot.send_marker = True
    wait_for_status(probe, statuses, lambda s: s.state == "acting")
    return statuses, commands


def test_policy_pauses_on_missing_stale_and_malformed_inputs_and_clamps(start_node, probe):
    start_node(
        "lerobot_ros.nodes.policy_node", policy_parameters(max_relative_target=MAX_RELATIVE_TARGET)
    )
    statuses = probe.collect(PolicyStatus, topics.POLICY_STATUS, qos.STATE)
    commands = probe.collect(Float64MultiArray, topics.POSITION_COMMANDS, qos.COMMAND)
    robot = FakeRobot(probe)

    status = wait_for_status(probe, statuses, lambda s: s.state == "paused")
    assert "observation.state: no message yet" in status.reason
    assert "observation.environment_state: no message yet" in status.reason
    assert not commands

    robot.send_state = robot.send_marker = True
    wait_for_status(probe, statuses, lambda s: s.state == "acting")
    assert probe.spin_until(lambda: len(commands) >= 10, 30)
    for command in commands:  # the safety layer bounds every step from the measured pose
        assert (
            np.abs(np.array(command.data) - panda.HOME_POSITION).max() <= MAX_RELATIVE_TARGET + 1e-9
        )
    assert any(s.clamped for s in statuses)
    assert statuses[-1].inference_s > 0

    robot.send_marker = False
    status = wait_for_status(probe, statuses, lambda s: s.state == "paused")
    assert "observation.environment_state: stale" in status.reason
    count = len(commands)
    probe.spin_for(0.5)
    assert len(commands) == count, "the policy kept acting on stale inputs"

    robot.send_marker, robot.malformed = True, True
    status = wait_for_status(
        probe, statuses, lambda s: s.state == "paused" and "malformed" in s.reason
    )
    assert "joints ['panda_finger_joint1'] are missing" in status.reason

    robot.malformed = False
    wait_for_status(probe, statuses, lambda s: s.state == "acting")


def test_estop_holds_and_stops_commands_until_released(acting_policy, probe):
    statuses, commands = acting_policy
    estop = probe.node.create_client(SetBool, topics.POLICY_ESTOP)
    assert estop.wait_for_service(timeout_sec=10)

    future = estop.call_async(SetBool.Request(data=True))
    assert probe.spin_until(future.done, 10) and future.result().success
    before = len(commands)
    probe.spin_for(0.3)
    hold = commands[before - 1] if len(commands) == before else commands[before]
    np.testing.assert_allclose(hold.data, panda.HOME_POSITION, atol=1e-9)  # hold where measured
    count = len(commands)
    probe.spin_for(1.0)
    assert len(commands) == count, "commands kept coming during e-stop"
    assert statuses[-1].state == "estopped"

    future = estop.call_async(SetBool.Request(data=False))
    assert probe.spin_until(future.done, 10)
    assert probe.spin_until(lambda: len(commands) > count + 5, 30), "no commands after release"


@pytest.mark.parametrize(
    "parameters, message",
    [
        ({"policy_path": "/nonexistent/checkpoint"}, "policy checkpoint directory not found"),
        ({"policy_path": "someone/not-cached-policy"}, "not in the local Hugging Face cache"),
        ({"mapping": "/nonexistent/mapping.yaml"}, "feature mapping file not found"),
        ({"chunk_aggregation": "mean"}, "chunk_aggregation='mean' must be one of ['latest_only'"),
    ],
)
def test_bad_configuration_fails_configure_with_a_clear_error(start_node, parameters, message):
    process = start_node("lerobot_ros.nodes.policy_node", policy_parameters(**parameters))
    assert process.process.wait(timeout=120) != 0
    process.stop()
    log = process.log_text()
    assert "configure failed" in log and message in log, log[-2000:]


@pytest.mark.parametrize("aggregation", ["weighted_average", "temporal_ensemble"])
def test_blended_chunks_drive_the_robot_at_the_control_rate(start_node, probe, aggregation):
    node = start_node(
        "lerobot_ros.nodes.policy_node",
        policy_parameters(chunk_aggregation=aggregation, refill_below=10),
    )
    statuses = probe.collect(PolicyStatus, topics.POLICY_STATUS, qos.STATE)
    commands = probe.collect(Float64MultiArray, topics.POSITION_COMMANDS, qos.COMMAND)
    robot = FakeRobot(probe)
    robot.send_state = robot.send_marker = True
    wait_for_status(probe, statuses, lambda s: s.state == "acting")
    count, started = len(commands), time.monotonic()
    probe.spin_for(3.0)
    rate = (len(commands) - count) / (time.monotonic() - started)
    assert rate > 15, f"{rate:.1f} commands/s at 30 Hz"  # loose: a shared 2-core machine
    positions = np.array([c.data for c in commands[count:]])
    assert np.isfinite(positions).all() and positions.shape[1] == len(panda.JOINT_NAMES)
    assert f"chunks merged by {aggregation}" in node.log_text()


def test_killing_the_policy_mid_episode_leaves_the_arm_holding(start_node, probe):
    timeout = 0.5
    start_node(
        "lerobot_ros.nodes.sim_node", {"cameras": ["front"], "command_timeout": timeout, "seed": 5}
    )
    policy = start_node("lerobot_ros.nodes.policy_node", policy_parameters(use_sim_time=True))
    states = probe.collect(JointState, topics.JOINT_STATES, qos.STATE)
    statuses = probe.collect(PolicyStatus, topics.POLICY_STATUS, qos.STATE)
    wait_for_status(probe, statuses, lambda s: s.state in ("waiting", "acting"))
    probe.sim.reset(5)

    def moved():
        return states and np.abs(np.array(states[-1].position) - panda.HOME_POSITION).max() > 0.05  # noqa: E731

    assert probe.spin_until(moved, 60), "the policy never moved the arm"
    policy.kill()  # SIGKILL mid-motion: no hold command is ever sent
    killed_at = time.monotonic()
    probe.spin_for(timeout + 1.5)
    assert time.monotonic() - killed_at >= timeout
    states.clear()
    probe.spin_for(1.0)
    positions = np.array([s.position for s in states])
    assert len(positions) > 10
    assert np.abs(positions[-1] - positions[0]).max() < 0.005, (
        "the arm kept moving after the policy died"
    )
    assert np.abs(np.array(states[-1].velocity)).max() < 0.02


def test_lifecycle_deactivate_holds_and_activate_resumes(acting_policy, probe):
    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState

    statuses, commands = acting_policy
    change_state = probe.node.create_client(ChangeState, "/policy_node/change_state")
    assert change_state.wait_for_service(timeout_sec=10)

    def transition(transition_id: int) -> bool:
        future = change_state.call_async(
            ChangeState.Request(transition=Transition(id=transition_id))
        )
        assert probe.spin_until(future.done, 20)
        return future.result().success

    before = len(commands)
    assert transition(Transition.TRANSITION_DEACTIVATE)
    wait_for_status(probe, statuses, lambda s: s.state == "inactive")
    probe.spin_for(0.3)
    np.testing.assert_allclose(commands[-1].data, panda.HOME_POSITION, atol=1e-9)  # the hold
    assert len(commands) > before
    count = len(commands)
    probe.spin_for(1.0)
    assert len(commands) == count, "an inactive policy kept commanding"

    assert transition(Transition.TRANSITION_ACTIVATE)
    assert probe.spin_until(lambda: len(commands) > count + 5, 30)


# A three-joint arm that is not the Panda: its names and limits exist only in this URDF.
SMALL_ARM_URDF = """<robot name="small_arm">
  <link name="l0"/><link name="l1"/><link name="l2"/><link name="l3"/>
  <joint name="base_yaw" type="revolute"><parent link="l0"/><child link="l1"/>
    <limit lower="-0.05" upper="0.05" velocity="1" effort="5"/></joint>
  <joint name="elbow" type="revolute"><parent link="l1"/><child link="l2"/>
    <limit lower="0.2" upper="0.3" velocity="1" effort="5"/></joint>
  <joint name="gripper" type="prismatic"><parent link="l2"/><child link="l3"/>
    <limit lower="0" upper="0.01" velocity="0.1" effort="5"/></joint>
</robot>
"""
SMALL_ARM_JOINTS = ["base_yaw", "elbow", "gripper"]


def small_arm_files(tmp_path, names=SMALL_ARM_JOINTS, file="small_arm.yaml"):  # noqa: ANN001, ANN201
    urdf = tmp_path / "small_arm.urdf"
    urdf.write_text(SMALL_ARM_URDF)
    mapping = tmp_path / file
    mapping.write_text(
        yaml.safe_dump(
            {
                "fps": 30,
                "observation": {
                    "state": {"topic": "/small_arm/joint_states", "names": names},
                    "environment_state": {"topic": topics.SCENE_MARKERS, "marker": "cube"},
                },
                "action": {"topic": "/small_arm/commands", "names": names},
            }
        )
    )
    policy = untrained_act(
        tmp_path / "act_small_arm", (), chunk_size=5, n_joints=3, environment_state=True
    )
    return urdf, mapping, policy


def test_a_robot_that_is_not_the_panda_takes_names_and_limits_from_its_urdf(
    start_node, probe, tmp_path
):
    """...read from /robot_description, as its driver publishes it; and the mapping the
    checkpoint carries (lerobot-ros attach-mapping) is the default."""
    _, mapping, policy = small_arm_files(tmp_path)
    attach_mapping(policy, "--mapping", str(mapping))
    description = probe.node.create_publisher(String, topics.ROBOT_DESCRIPTION, qos.LATCHED)
    description.publish(String(data=SMALL_ARM_URDF))
    start_node("lerobot_ros.nodes.policy_node", policy_parameters(policy_path=str(policy)))
    statuses = probe.collect(PolicyStatus, topics.POLICY_STATUS, qos.STATE)
    commands = probe.collect(Float64MultiArray, "/small_arm/commands", qos.COMMAND)
    state_pub = probe.node.create_publisher(JointState, "/small_arm/joint_states", qos.STATE)
    marker_pub = probe.node.create_publisher(MarkerArray, topics.SCENE_MARKERS, qos.STATE)

    def publish() -> None:
        stamp = probe.node.get_clock().now().to_msg()
        state = JointState(name=SMALL_ARM_JOINTS, position=[0.0, 0.25, 0.005])
        state.header.stamp = stamp
        state_pub.publish(state)
        marker = Marker(text="cube")
        marker.header.stamp = stamp
        marker.pose.orientation.w = 1.0
        marker_pub.publish(MarkerArray(markers=[marker]))

    probe.node.create_timer(1 / 30, publish)
    assert probe.spin_until(lambda: len(commands) >= 10, 90), statuses[-1:] or "no status"
    lower, upper = np.array([-0.05, 0.2, 0.0]), np.array([0.05, 0.3, 0.01])
    for command in commands:  # every action inside the URDF's limits
        assert np.all(lower - 1e-12 <= command.data) and np.all(command.data <= upper + 1e-12)
    assert any(s.clamped for s in statuses), "an untrained policy's actions never hit the limits?"


def test_a_joint_the_urdf_lacks_fails_configure_naming_it(start_node, tmp_path):
    urdf, mapping, policy = small_arm_files(tmp_path, ["base_yaw", "elbow", "wrist"])
    process = start_node(
        "lerobot_ros.nodes.policy_node",
        policy_parameters(
            policy_path=str(policy), mapping=str(mapping), robot_description=str(urdf)
        ),
    )
    assert process.process.wait(timeout=120) != 0
    log = process.log_text()
    assert "configure failed" in log and "robot 'small_arm' has no movable joint 'wrist'" in log, (
        log[-2000:]
    )


def test_a_mapping_contradicting_the_trained_one_is_refused_naming_the_difference(
    start_node, tmp_path
):
    urdf, trained, policy = small_arm_files(tmp_path)
    attach_mapping(policy, "--mapping", str(trained))
    swapped = ["elbow", "base_yaw", "gripper"]  # same joints, another order: silent skew
    _, given, _ = small_arm_files(tmp_path, swapped, file="swapped.yaml")
    process = start_node(
        "lerobot_ros.nodes.policy_node",
        policy_parameters(policy_path=str(policy), mapping=str(given), robot_description=str(urdf)),
    )
    assert process.process.wait(timeout=120) != 0
    log = process.log_text()
    assert "contradicts the mapping the policy was trained with" in log, log[-2000:]
    assert (
        "observation.state names: trained ['base_yaw', 'elbow', 'gripper'], given "
        "['elbow', 'base_yaw', 'gripper']" in log
    ), log[-2000:]


def test_a_compressed_camera_feeds_the_policy(start_node, probe, tmp_path):
    """A camera on sensor_msgs/CompressedImage (jpeg, best effort, as image_transport's
    compressed topics are), mapped with type compressed_image."""
    import cv2
    from sensor_msgs.msg import CompressedImage

    mapping = tmp_path / "compressed.yaml"
    camera = {
        "topic": "/camera/front/image_raw/compressed",
        "type": "compressed_image",
        "height": 32,
        "width": 32,
        "reliability": "best_effort",
    }
    mapping.write_text(
        yaml.safe_dump(
            {
                "robot": "panda",
                "fps": 30,
                "observation": {
                    "state": {"topic": topics.JOINT_STATES},
                    "images": {"front": camera},
                },
                "action": {"topic": topics.POSITION_COMMANDS},
            }
        )
    )
    policy = untrained_act(tmp_path / "act_front", ("front",), (32, 32), chunk_size=5)
    start_node(
        "lerobot_ros.nodes.policy_node",
        policy_parameters(policy_path=str(policy), mapping=str(mapping)),
    )
    statuses = probe.collect(PolicyStatus, topics.POLICY_STATUS, qos.STATE)
    commands = probe.collect(Float64MultiArray, topics.POSITION_COMMANDS, qos.COMMAND)
    robot = FakeRobot(probe)
    robot.send_state = True
    images = probe.node.create_publisher(CompressedImage, camera["topic"], qos.SENSOR_SUBSCRIPTION)
    _, jpeg = cv2.imencode(".jpg", np.full((48, 64, 3), 90, dtype=np.uint8))

    def publish_image() -> None:
        msg = CompressedImage(format="jpeg", data=jpeg.tobytes())
        msg.header.stamp = probe.node.get_clock().now().to_msg()
        images.publish(msg)

    probe.node.create_timer(1 / 30, publish_image)
    assert probe.spin_until(lambda: len(commands) >= 5, 90), statuses[-1:] or "no status"
    assert statuses[-1].state in ("acting", "waiting")
