"""Any ROS robot as a LeRobot Robot (``--robot.type=lerobot_ros``): the plugin in this
process against sim_node in its own, through LeRobot's Robot API."""

from __future__ import annotations

import time

import numpy as np
import pytest
import yaml
from lerobot.robots import make_robot_from_config
from sensor_msgs.msg import JointState

from lerobot_ros.plugins.ros_device import position_keys
from lerobot_ros.plugins.ros_robot import ROBOT_TYPE, RosRobotConfig
from lerobot_ros.robots import panda
from lerobot_ros.ros import qos, topics

pytestmark = pytest.mark.ros

JOINTS = list(panda.JOINT_NAMES)
JOINT_KEYS = position_keys(JOINTS)  # LeRobot's "<joint>.pos"
CUBE = ["cube.x", "cube.y", "cube.z", "cube.qw", "cube.qx", "cube.qy", "cube.qz"]


def write_mapping(path, **images) -> str:
    """The Panda's joints and cube pose, and any ``name={topic, height, width}`` cameras."""
    document = {
        "robot": "panda",
        "fps": 30,
        "max_age": 0.2,
        "observation": {
            "state": {"topic": topics.JOINT_STATES},
            "environment_state": {"topic": topics.SCENE_MARKERS, "marker": "cube"},
            "images": images,
        },
        "action": {"topic": topics.POSITION_COMMANDS},
    }
    path.write_text(yaml.safe_dump(document))
    return str(path)


def plugin_robot(tmp_path, mapping: str, **fields):
    config = RosRobotConfig(id="sim", calibration_dir=tmp_path / "calib", mapping=mapping, **fields)
    assert config.type == ROBOT_TYPE
    return make_robot_from_config(config)  # LeRobot's own factory finds the plugin


def sim_with_wrist_camera(start_node, tmp_path) -> str:
    """sim_node rendering a small wrist camera; returns a mapping reading it at 32x24."""
    start_node(
        "lerobot_ros.nodes.sim_node", {"cameras": ["wrist"], "image_width": 64, "image_height": 48}
    )
    return write_mapping(
        tmp_path / "panda.yaml",
        wrist={"topic": topics.camera_image("wrist"), "height": 24, "width": 32},
    )


def test_plugin_reads_and_drives_the_sim_through_lerobots_robot_api(tmp_path, start_node, probe):
    mapping = sim_with_wrist_camera(start_node, tmp_path)
    robot = plugin_robot(tmp_path, mapping, max_relative_target=0.05, connect_timeout_s=60)
    # Known before connecting: LeRobot's record builds the dataset from them.
    assert robot.observation_features == {
        **dict.fromkeys(JOINT_KEYS + CUBE, float),
        "wrist": (24, 32, 3),
    }
    assert robot.action_features == dict.fromkeys(JOINT_KEYS, float)
    states = probe.collect(JointState, topics.JOINT_STATES, qos.STATE)
    robot.connect()
    try:
        assert robot.is_connected
        observation = robot.get_observation()
        assert observation["wrist"].shape == (24, 32, 3)
        assert 0.3 < observation["cube.x"] < 0.7 and observation["cube.z"] > 0
        assert probe.spin_until(lambda: bool(states), 30)
        np.testing.assert_allclose(
            [observation[k] for k in JOINT_KEYS], states[-1].position, atol=0.05
        )

        # An action 0.5 rad away on joint 1 is sent at most 0.05 rad from where the arm is,
        # and the sim's arm goes there, step by step, as the actions keep coming.
        start = np.array([observation[k] for k in JOINT_KEYS])
        target = dict(zip(JOINT_KEYS, start + np.eye(len(JOINTS))[0] * 0.5, strict=True))
        sent = robot.send_action(target)
        assert abs(sent[JOINT_KEYS[0]] - start[0]) <= 0.05 + 1e-9
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            observation = robot.get_observation()
            if abs(observation[JOINT_KEYS[0]] - (start[0] + 0.5)) < 0.02:
                break
            robot.send_action(target)
            time.sleep(1 / 30)
        assert abs(observation[JOINT_KEYS[0]] - (start[0] + 0.5)) < 0.02, observation[JOINT_KEYS[0]]
        with pytest.raises(ValueError, match="lacks"):
            robot.send_action({JOINT_KEYS[0]: 0.0})
    finally:
        robot.disconnect()
    assert not robot.is_connected


def test_plugin_connect_names_a_missing_topic_and_a_wrong_type(tmp_path, start_node):
    start_node("lerobot_ros.nodes.sim_node", {"cameras": []})
    missing = write_mapping(
        tmp_path / "top.yaml", top={"topic": "/camera/top/image_raw", "height": 8, "width": 8}
    )
    robot = plugin_robot(tmp_path, missing, connect_timeout_s=15)
    with pytest.raises(ConnectionError, match="/camera/top/image_raw .*nothing publishes it"):
        robot.connect()
    assert not robot.is_connected

    # /clock carries rosgraph_msgs/Clock: the mapping reads it as a camera.
    wrong = write_mapping(
        tmp_path / "clock.yaml", top={"topic": topics.CLOCK, "height": 8, "width": 8}
    )
    robot = plugin_robot(tmp_path, wrong, connect_timeout_s=15)
    with pytest.raises(ConnectionError, match="published as rosgraph_msgs/msg/Clock"):
        robot.connect()
    assert not robot.is_connected
