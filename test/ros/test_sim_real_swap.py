"""One policy + recorder graph (graphs.eval_real_graph) against the sim and against the
emulated real arm (dynamixel_node on a pty servo emulator, camera_node playing a video
file), with only the ``sim`` argument changed."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
import yaml
from std_msgs.msg import Float64MultiArray
from tiny_training import train_tiny_act

from lerobot_ros.datasets.recording import DatasetWriter
from lerobot_ros.emulators.dynamixel_emulator import DynamixelEmulator
from lerobot_ros.features.mapping import load_mapping
from lerobot_ros.hardware.dynamixel.arm import load_arm_config
from lerobot_ros.orchestration.graphs import eval_real_graph
from lerobot_ros.orchestration.ros_record import episode_lengths
from lerobot_ros.orchestration.runner import first_dead, start_processes
from lerobot_ros.resources import config_path
from lerobot_ros.robots import panda
from lerobot_ros.ros import qos, topics
from lerobot_ros.ros.recorder_client import RecorderClient

pytestmark = pytest.mark.ros

SIZE = 96
REPO_ID = "test/swap"


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    """A mapping (joints + front camera), a tiny image policy trained on the sim with
    LeRobot's training loop, and a video file standing in for the real front camera."""
    directory = tmp_path_factory.mktemp("swap")
    mapping_path = directory / "mapping.yaml"
    mapping_path.write_text(
        yaml.safe_dump(
            {
                "robot": "panda",
                "fps": 30,
                "max_age": 0.25,
                "observation": {
                    "state": {"topic": topics.JOINT_STATES},
                    "images": {
                        "front": {
                            "topic": topics.camera_image("front"),
                            "height": SIZE,
                            "width": SIZE,
                        }
                    },
                },
                "action": {"topic": topics.POSITION_COMMANDS, "type": "position_command"},
            }
        )
    )
    mapping = load_mapping(mapping_path)
    frames = _sim_frames(40)
    dataset = directory / "train_data"
    writer = DatasetWriter(dataset, REPO_ID, 30, mapping.lerobot_features(), min_free_mb=1).open()
    for frame in frames:
        writer.add_frame(frame, "pick up the cube")
    writer.save_episode()
    writer.close()
    policy = train_tiny_act(dataset, REPO_ID, directory / "train")
    video = directory / "front.avi"
    out = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (SIZE, SIZE))
    for frame in frames:
        out.write(cv2.cvtColor(frame["observation.images.front"], cv2.COLOR_RGB2BGR))
    out.release()
    return {"mapping": str(mapping_path), "policy": str(policy), "video": str(video)}


def _sim_frames(count: int) -> list[dict]:
    from lerobot_ros.sim.expert import ScriptedPickExpert
    from lerobot_ros.sim.pick_cube import PickCubeSim, SimConfig

    sim, expert = PickCubeSim(SimConfig(image_width=SIZE, image_height=SIZE)), ScriptedPickExpert()
    sim.reset(0)
    frames = []
    for _ in range(count):
        q = sim.joint_positions()
        action = expert.act(q, *sim.cube_pose())
        frames.append(
            {
                "observation.state": q.astype(np.float32),
                "observation.images.front": sim.render("front"),
                "action": np.asarray(action, dtype=np.float32),
            }
        )
        sim.set_joint_targets(action)
        sim.step()
    sim.close()
    return frames


@pytest.fixture
def servos():
    config = load_arm_config(config_path("dynamixel_arm.yaml"))
    models = {joint.servo_id: joint.model_number for joint in config.joints}
    home = config.to_ticks(panda.HOME_POSITION)
    with DynamixelEmulator(config.servo_ids, models=models, positions=home) as emulator:
        yield emulator


def _run_graph(graph, probe, log_dir) -> tuple[int, int]:
    """Bring the graph up, record one 3 s episode while the policy acts; returns
    (commands seen, frames saved)."""
    commands = probe.collect(Float64MultiArray, topics.POSITION_COMMANDS, qos.COMMAND)
    processes = start_processes(graph, log_dir=log_dir)
    try:
        recorder = RecorderClient(probe.node, probe.executor, timeout=60)

        def acting() -> bool:
            problem = first_dead(processes)
            assert problem is None, problem
            return len(commands) > 10

        assert probe.spin_until(acting, 180), "the policy never acted"
        started = recorder.start("pick up the cube")
        assert started.success, started.message
        probe.spin_for(3.0)
        stopped = recorder.stop()
        assert stopped.success, stopped.message
        assert recorder.wait_saved(1, 120), recorder.status
        assert first_dead(processes) is None, first_dead(processes)
        return len(commands)
    finally:
        for process in processes:
            process.stop()


@pytest.mark.parametrize("sim", [True, False], ids=["sim", "emulated-real"])
def test_policy_and_recorder_run_on_both_sides(sim, assets, servos, probe, tmp_path):
    record_root = tmp_path / "rollouts"
    hardware = {"cameras": ("front",)}
    if not sim:
        hardware |= {
            "port": servos.port,
            "camera_devices": (assets["video"],),
            # The emulator is a Python process starved while four nodes import torch at once:
            # give it a loaded machine's answer time and retries.
            "driver_parameters": {"latency_timer_ms": 150.0, "retries": 5},
        }
    graph = eval_real_graph(
        policy_path=assets["policy"],
        mapping=assets["mapping"],
        sim=sim,
        record_root=str(record_root),
        **hardware,
    )
    names = {spec.name for spec in graph}
    assert {"policy_node", "recorder_node"} <= names
    assert ("sim_node" in names) is sim and ("dynamixel_node" in names) is not sim
    goals_before = [servos.servo(i).goal_position for i in range(1, 9)]
    commands = _run_graph(graph, probe, tmp_path / "logs")
    assert commands > 10
    lengths = episode_lengths(record_root)
    assert len(lengths) == 1 and abs(lengths[0] - 90) <= 15, lengths
    if not sim:
        # The policy's commands reached the emulated servos.
        time.sleep(0.2)
        goals_after = [servos.servo(i).goal_position for i in range(1, 9)]
        assert goals_after != goals_before
