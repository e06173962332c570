"""LeRobot's arm workflow through ROS, on emulated servo buses: a leader arm teleoperates the
follower while ``lerobot-ros record --real`` records (the follower's joints, an OpenCV camera
node playing a video file), LeRobot trains a small policy on that dataset, and
``eval_real_graph`` runs it on the follower through the safety layer (max_relative_target)
while the rollout is recorded.
The SO-101 (LeRobot's so101_follower/leader on Feetech STS3215 servos) and the Koch
(koch_follower/leader on DYNAMIXEL servos) take the same steps."""

from __future__ import annotations

import contextlib
import math
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from lerobot.datasets.lerobot_dataset import LeRobotDataset
from std_msgs.msg import Float64MultiArray
from test_lerobot_nodes import FOLLOWER_MODELS, LEADER_MODELS, patient_serial_timeouts
from test_so101_feetech import IDS, MIDS, SO101_MOTORS, STEPS_PER_RAD, write_calibration
from tiny_training import train_tiny_act

from lerobot_ros.emulators.dynamixel_emulator import DynamixelEmulator
from lerobot_ros.emulators.feetech_emulator import FeetechEmulator
from lerobot_ros.orchestration.graphs import eval_real_graph
from lerobot_ros.orchestration.ros_record import episode_lengths
from lerobot_ros.orchestration.runner import first_dead, start_processes
from lerobot_ros.ros import qos, topics
from lerobot_ros.ros.recorder_client import RecorderClient

pytestmark = [pytest.mark.ros, pytest.mark.arms]

__all__ = ["patient_serial_timeouts"]  # autouse: the DYNAMIXEL SDK's wider answer time
MOTORS = SO101_MOTORS  # the Koch's motors have the same names
REPO_ID = "test/arm"
SIZE = (64, 48)  # camera width, height
START = {1: 2100, 2: 1900, 3: 2200, 4: 2000, 5: 1500}


@dataclass(frozen=True)
class ArmKind:
    robot_type: str
    teleop_type: str
    follower: Callable[[], object]
    leader: Callable[[], object]


ARMS = {
    "so101-feetech": ArmKind(
        "so101_follower",
        "so101_leader",
        lambda: FeetechEmulator(IDS, positions=START),
        lambda: FeetechEmulator(IDS),
    ),
    "koch-dynamixel": ArmKind(
        "koch_follower",
        "koch_leader",
        lambda: DynamixelEmulator(IDS, models=FOLLOWER_MODELS, positions=START),
        lambda: DynamixelEmulator(IDS, models=LEADER_MODELS),
    ),
}


@contextlib.contextmanager
def graph_running(graph, log_dir: Path):
    """The graph's nodes in their own processes; their logs' ends are printed on failure."""
    processes = start_processes(graph, log_dir=log_dir)
    try:
        yield processes
    except BaseException:
        for process in processes:
            print(f"--- {process.module} ---\n{process.log_text()[-3000:]}")
        raise
    finally:
        for process in processes:
            process.stop()


def camera_video(path: Path) -> str:
    """A video file standing in for the front camera (a bright square moving across)."""
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, SIZE)
    for i in range(60):
        frame = np.full((SIZE[1], SIZE[0], 3), 40, dtype=np.uint8)
        frame[10:30, i % 40 : i % 40 + 20] = 220
        out.write(frame)
    out.release()
    return str(path)


@pytest.mark.parametrize("kind", ARMS, ids=list(ARMS))
def test_teleoperate_record_train_and_evaluate_on_the_arm(kind, tmp_path, probe):
    arm_kind = ARMS[kind]
    with contextlib.ExitStack() as stack:
        follower = stack.enter_context(arm_kind.follower())
        leader = stack.enter_context(arm_kind.leader())
        _workflow(arm_kind, follower, leader, tmp_path, probe)


def _workflow(kind: ArmKind, follower, leader, tmp_path: Path, probe) -> None:  # noqa: ANN001
    follower_config = str(write_calibration(tmp_path / "follower", "follower", follower.port))
    leader_config = str(write_calibration(tmp_path / "leader", "leader", leader.port))
    mapping = tmp_path / "arm.yaml"
    mapping.write_text(
        yaml.safe_dump(
            {
                "fps": 30,
                "max_age": 0.25,
                "observation": {
                    "state": {"topic": topics.JOINT_STATES, "names": MOTORS},
                    "images": {
                        "front": {
                            "topic": topics.camera_image("front"),
                            "width": SIZE[0],
                            "height": SIZE[1],
                        }
                    },
                },
                "action": {"topic": topics.POSITION_COMMANDS, "names": MOTORS},
            }
        )
    )
    arm = {
        "sim": False,
        "arm": "lerobot",
        "robot_type": kind.robot_type,
        "robot_config": follower_config,
        "cameras": ("front",),
        "camera_devices": (camera_video(tmp_path / "front.avi"),),
    }
    dataset_root = tmp_path / "dataset"
    video = arm["camera_devices"][0]
    record = subprocess.Popen(
        [
            sys.executable, "-m", "lerobot_ros.orchestration.cli", "record", "--real",
            "--arm", "lerobot", "--robot-type", kind.robot_type, "--robot-config", follower_config,
            "--teleop", kind.teleop_type, "--teleop-config", leader_config,
            "--camera-devices", f"{video},{video}",  # front and wrist; the mapping takes front
            "--mapping", str(mapping), "--root", str(dataset_root), "--repo-id", REPO_ID,
            "--num-episodes", "2", "--episode-time-s", "2", "--reset-time-s", "1",
            "--task", "follow the leader",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    # A person moves the leader all along (a slow sweep of the shoulder).
    deadline, tick = time.monotonic() + 300, 0
    while record.poll() is None and time.monotonic() < deadline:
        tick += 1
        angle = 0.3 * math.sin(tick / 15)
        leader.servo(1).set_present_position(int(MIDS[0] + angle * STEPS_PER_RAD))
        time.sleep(1 / 15)
    output = record.communicate(timeout=30)[0] if record.poll() is not None else ""
    if record.poll() is None:
        record.kill()
        output = record.communicate()[0]
    assert record.returncode == 0, output[-4000:]
    assert "2 episodes (2 recorded now" in output, output[-2000:]

    dataset = LeRobotDataset(REPO_ID, root=dataset_root)
    assert dataset.num_episodes == 2
    assert dataset.features["observation.state"]["names"] == MOTORS
    assert dataset.features["action"]["names"] == MOTORS
    pan = np.array([float(dataset[i]["observation.state"][0]) for i in range(dataset.num_frames)])
    assert np.ptp(pan) > 0.05, "the follower's shoulder did not follow the leader's sweep"

    checkpoint = train_tiny_act(dataset_root, REPO_ID, tmp_path / "train", steps=2)

    # The policy drives the follower through the safety layer while the rollout is recorded.
    bound = 0.005  # rad per tick (3 steps): an unbounded tiny policy moved the arm 32 at once
    rollouts = tmp_path / "rollouts"
    evaluate = eval_real_graph(
        policy_path=str(checkpoint),
        mapping=str(mapping),
        record_root=str(rollouts),
        driver_parameters={"max_relative_target": bound},
        **arm,
    )
    commands = probe.collect(Float64MultiArray, topics.POSITION_COMMANDS, qos.COMMAND)
    gaps: list[float] = []
    with graph_running(evaluate, tmp_path / "eval_logs") as processes:
        assert probe.spin_until(
            lambda: first_dead(processes) is not None or len(commands) > 10, 180
        ), "the policy never acted"
        assert first_dead(processes) is None, first_dead(processes)
        recorder = RecorderClient(probe.node, probe.executor, timeout=60)
        assert recorder.start("follow the leader").success
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:  # each goal within the bound of where the arm was
            probe.spin_for(0.02)
            for servo in map(follower.servo, IDS):
                gaps.append(abs(servo.goal_position - servo.present_position))
        # A goal read just before the next tick's may be one step ahead of the shaft: two bounds.
        assert max(gaps) <= 2 * bound * STEPS_PER_RAD + 2, max(gaps)
        assert recorder.stop().success
        assert recorder.wait_saved(1, 120), recorder.status
        robot_log = next(p for p in processes if p.module.endswith("lerobot_robot_node"))
        assert "command limited by max_relative_target" in robot_log.log_text()
    assert len(episode_lengths(rollouts)) == 1
