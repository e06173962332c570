"""LeRobot's own command lines with the project's plugins: ``lerobot-record`` with
``--robot.type=lerobot_ros`` on sim_node through ROS, teleoperated by
``--teleop.type=lerobot_ros_leader`` (a leader's joint states published by the test), and
``lerobot-rollout`` running a policy on sim_node through the robot plugin."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from lerobot.datasets.lerobot_dataset import LeRobotDataset
from sensor_msgs.msg import JointState
from test_ros_robot_plugin import (
    CUBE,
    JOINT_KEYS,
    JOINTS,
    sim_with_wrist_camera,
    write_mapping,
)
from tiny_training import untrained_act

from lerobot_ros.robots import panda
from lerobot_ros.ros import qos, topics

pytestmark = pytest.mark.ros

LEADER_TOPIC = "/leader/joint_states"
REPO_ID = "test/plugin_record"


def lerobot_record(mapping: str, root: Path, episodes: int, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(Path(sys.executable).with_name("lerobot-record")),
            "--robot.discover_packages_path=lerobot_ros.plugins",
            "--robot.type=lerobot_ros",
            "--robot.id=sim",
            f"--robot.mapping={mapping}",
            "--robot.connect_timeout_s=30",
            "--teleop.discover_packages_path=lerobot_ros.plugins",
            "--teleop.type=lerobot_ros_leader",
            "--teleop.id=leader",
            f"--teleop.topic={LEADER_TOPIC}",
            f"--teleop.mapping={mapping}",
            f"--dataset.repo_id={REPO_ID}",
            f"--dataset.root={root}",
            f"--dataset.num_episodes={episodes}",
            "--dataset.episode_time_s=2",
            "--dataset.reset_time_s=1",
            "--dataset.single_task=follow the leader",
            "--dataset.push_to_hub=false",
            "--dataset.video=false",
            "--play_sounds=false",
        ],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def wait_while_spinning(process: subprocess.Popen, probe, log: Path, timeout: float = 300) -> str:  # noqa: ANN001
    """Spin the probe (the leader publishes from it) until lerobot-record ends; its output."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        probe.spin_for(0.1)
    if process.poll() is None:
        process.kill()
    process.wait()
    return log.read_text()


def test_lerobot_record_with_the_plugins_records_the_sim_through_ros(tmp_path, start_node, probe):
    mapping = sim_with_wrist_camera(start_node, tmp_path)
    # The leader: the Panda's home pose with joint 1 sweeping, 30 times a second.
    leader = probe.node.create_publisher(JointState, LEADER_TOPIC, qos.STATE)
    sweep = {"tick": 0}

    def publish_leader() -> None:
        sweep["tick"] += 1
        position = np.array(panda.HOME_POSITION, dtype=float)
        position[0] = 0.4 * np.sin(sweep["tick"] / 20)
        leader.publish(JointState(name=JOINTS, position=position.tolist()))

    probe.node.create_timer(1 / 30, publish_leader)
    root = tmp_path / "dataset"
    log = tmp_path / "record.log"
    process = lerobot_record(mapping, root, 2, log)
    output = wait_while_spinning(process, probe, log)
    assert process.returncode == 0 and "Traceback" not in output, output[-4000:]

    dataset = LeRobotDataset(REPO_ID, root=root)
    assert dataset.num_episodes == 2
    # LeRobot's Robot API has floats and images only: the cube pose follows the joints.
    assert dataset.features["observation.state"]["names"] == JOINT_KEYS + CUBE
    assert dataset.features["action"]["names"] == JOINT_KEYS
    assert tuple(dataset.features["observation.images.wrist"]["shape"]) == (24, 32, 3)
    joint1 = np.array(
        [float(dataset[i]["observation.state"][0]) for i in range(dataset.num_frames)]
    )
    assert np.ptp(joint1) > 0.1, "the sim's arm did not follow the leader"


def test_lerobot_record_refuses_a_missing_topic_at_connect_and_records_nothing(
    tmp_path, start_node, probe
):
    start_node("lerobot_ros.nodes.sim_node", {"cameras": []})
    mapping = write_mapping(
        tmp_path / "top.yaml", top={"topic": "/camera/top/image_raw", "height": 8, "width": 8}
    )
    leader = probe.node.create_publisher(JointState, LEADER_TOPIC, qos.STATE)
    probe.node.create_timer(
        1 / 30, lambda: leader.publish(JointState(name=JOINTS, position=[0.0] * len(JOINTS)))
    )
    root = tmp_path / "dataset"
    log = tmp_path / "record.log"
    process = lerobot_record(mapping, root, 1, log)
    output = wait_while_spinning(process, probe, log)
    assert process.returncode != 0
    assert "/camera/top/image_raw (observation.images.top): nothing publishes it" in output, output[
        -3000:
    ]
    assert not list(root.glob("data/**/*.parquet")), "an episode was recorded"


def test_lerobot_rollout_runs_a_policy_on_the_sim_through_the_plugin(tmp_path, start_node, probe):
    mapping = sim_with_wrist_camera(start_node, tmp_path)
    # A policy that heads for home with joint 1 turned 0.3 rad (its actions' std is tiny).
    target = np.array(panda.HOME_POSITION, dtype=float)
    target[0] += 0.3
    checkpoint = untrained_act(
        tmp_path / "policy",
        cameras=("wrist",),
        image_size=(24, 32),
        chunk_size=10,
        action_mean=target.tolist(),
        action_std=1e-3,
    )
    states = probe.collect(JointState, topics.JOINT_STATES, qos.STATE)
    log = tmp_path / "rollout.log"
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("lerobot-rollout")),
            "--strategy.type=base",
            f"--policy.path={checkpoint}",
            "--robot.discover_packages_path=lerobot_ros.plugins",
            "--robot.type=lerobot_ros",
            "--robot.id=sim",
            f"--robot.mapping={mapping}",
            "--robot.max_relative_target=0.05",
            "--robot.connect_timeout_s=30",
            "--duration=6",
            "--return_to_initial_position=false",
            "--task=turn joint 1",
            "--play_sounds=false",
        ],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    output = wait_while_spinning(process, probe, log)
    assert process.returncode == 0 and "Traceback" not in output, output[-4000:]
    # lerobot-rollout keeps a robot's "<joint>.pos" floats: the policy saw the joints and its
    # actions reached the sim, 0.05 rad a step at most.
    assert probe.spin_until(lambda: bool(states), 10)
    np.testing.assert_allclose(states[-1].position[:8], target, atol=0.05)
