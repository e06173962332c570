"""A robot that is not the Panda, with inputs of every kind a real ROS robot publishes: joint
states (one joint in degrees on the feature side), a force-torque sensor (WrenchStamped), a
headerless Float64MultiArray and a jpeg CompressedImage camera. Recorded through ROS, trained with LeRobot's loop, then served by
policy_node with the mapping the dataset carries."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import yaml
from geometry_msgs.msg import WrenchStamped
from lerobot.datasets.lerobot_dataset import LeRobotDataset
from sensor_msgs.msg import CompressedImage, JointState
from std_msgs.msg import Float64MultiArray
from test_policy_node import SMALL_ARM_JOINTS, SMALL_ARM_URDF, policy_parameters
from tiny_training import train_tiny_act

from lerobot_ros.ros import qos
from lerobot_ros.ros.recorder_client import RecorderClient

pytestmark = pytest.mark.ros

REPO_ID = "test/any_inputs"
TOPICS = {
    "state": "/small_arm/joint_states",
    "wrench": "/small_arm/wrist_ft",
    "width": "/small_arm/gripper_width",
    "camera": "/small_arm/camera/image_raw/compressed",
    "commands": "/small_arm/commands",
}
MAPPING = {
    "fps": 30,
    "max_age": 0.2,
    "degrees": ["base_yaw"],  # as LeRobot's own arm datasets: the features in degrees
    "observation": {
        "state": {"topic": TOPICS["state"], "names": SMALL_ARM_JOINTS},
        "state_extra": [
            {
                "name": "wrist_ft",
                "topic": TOPICS["wrench"],
                "type": "wrench_stamped",
                "fields": ["force.z", "torque.x"],
                "reliability": "best_effort",
            },
            {
                "name": "gripper",
                "topic": TOPICS["width"],
                "type": "float64_multi_array",
                "fields": ["1"],
            },
        ],
        "images": {
            "wrist": {
                "topic": TOPICS["camera"],
                "type": "compressed_image",
                "height": 24,
                "width": 32,
                "reliability": "best_effort",
            }
        },
    },
    "action": {"topic": TOPICS["commands"], "names": SMALL_ARM_JOINTS},
}


class SmallArm:
    """The robot's side, published from the test at 30 Hz: everything a real arm would."""

    def __init__(self, probe) -> None:  # noqa: ANN001
        node = probe.node
        self.node = node
        self.state = node.create_publisher(JointState, TOPICS["state"], qos.STATE)
        self.wrench = node.create_publisher(
            WrenchStamped, TOPICS["wrench"], qos.SENSOR_SUBSCRIPTION
        )
        self.width = node.create_publisher(Float64MultiArray, TOPICS["width"], qos.STATE)
        self.camera = node.create_publisher(
            CompressedImage, TOPICS["camera"], qos.SENSOR_SUBSCRIPTION
        )
        self.commands = node.create_publisher(Float64MultiArray, TOPICS["commands"], qos.COMMAND)
        _, self.jpeg = cv2.imencode(".jpg", np.full((48, 64, 3), 120, dtype=np.uint8))
        self.tick = 0
        self.teleoperated = True  # the test commands the arm while it records
        node.create_timer(1 / 30, self.publish)

    def publish(self) -> None:
        stamp = self.node.get_clock().now().to_msg()
        self.tick += 1
        phase = 0.01 * (self.tick % 10)
        state = JointState(name=SMALL_ARM_JOINTS, position=[phase, 0.25, 0.005])
        state.header.stamp = stamp
        self.state.publish(state)
        wrench = WrenchStamped()
        wrench.header.stamp = stamp
        wrench.wrench.force.z, wrench.wrench.torque.x = -9.5, 0.25
        self.wrench.publish(wrench)
        self.width.publish(Float64MultiArray(data=[99.0, 0.03]))
        image = CompressedImage(format="jpeg", data=self.jpeg.tobytes())
        image.header.stamp = stamp
        self.camera.publish(image)
        if self.teleoperated:
            self.commands.publish(Float64MultiArray(data=[phase, 0.25, 0.005]))


def test_record_train_and_serve_a_robot_with_any_inputs(start_node, probe, tmp_path):
    mapping = tmp_path / "small_arm.yaml"
    mapping.write_text(yaml.safe_dump(MAPPING))
    root = tmp_path / "dataset"
    start_node(
        "lerobot_ros.nodes.recorder_node",
        {
            "root": str(root),
            "repo_id": REPO_ID,
            "mapping": str(mapping),
            "use_videos": False,
            "min_free_mb": 1.0,
        },
    )
    arm = SmallArm(probe)
    recorder = RecorderClient(probe.node, probe.executor)
    for _ in range(2):
        assert recorder.start("reach").success
        probe.spin_for(2.0)
        assert recorder.stop().success
    assert recorder.wait_saved(2)

    dataset = LeRobotDataset(REPO_ID, root=root)
    names = dataset.features["observation.state"]["names"]
    assert names == [*SMALL_ARM_JOINTS, "wrist_ft.force.z", "wrist_ft.torque.x", "gripper.1"]
    assert dataset.num_episodes == 2 and dataset.num_frames >= 60
    frame = dataset[5]
    np.testing.assert_allclose(frame["observation.state"][3:].numpy(), [-9.5, 0.25, 0.03])
    # base_yaw was published as 0.00..0.09 rad: the dataset holds it in degrees.
    yaw = np.concatenate([dataset[i]["observation.state"][:1].numpy() for i in range(20)])
    steps = np.radians(yaw) / 0.01
    assert yaw.max() > 1.0 and np.allclose(steps, np.round(steps), atol=1e-3), yaw
    assert tuple(frame["observation.images.wrist"].shape) == (3, 24, 32)

    checkpoint = train_tiny_act(root, REPO_ID, tmp_path / "train", steps=2)
    urdf = tmp_path / "small_arm.urdf"
    urdf.write_text(SMALL_ARM_URDF)
    # No mapping given: policy_node finds the one the dataset carries (train_config.json).
    start_node(
        "lerobot_ros.nodes.policy_node",
        policy_parameters(policy_path=str(checkpoint), robot_description=str(urdf)),
    )
    arm.teleoperated = False  # from now on every command is the policy's
    commands = probe.collect(Float64MultiArray, TOPICS["commands"], qos.COMMAND)
    assert probe.spin_until(lambda: len(commands) >= 10, 120), "the policy never acted"
    lower, upper = np.array([-0.05, 0.2, 0.0]), np.array([0.05, 0.3, 0.01])
    for command in commands:
        assert np.all(lower - 1e-12 <= command.data) and np.all(command.data <= upper + 1e-12)
