"""End to end on the sim: scripted teleop + recorder_node -> a LeRobotDataset that LeRobot
loads and trains on, and the same run recorded as a rosbag converts to the same frames."""

from __future__ import annotations

import bisect
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rosbags.rosbag2 import StoragePlugin, Writer
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Float64MultiArray
from tiny_training import attach_mapping, train_tiny_act
from visualization_msgs.msg import MarkerArray

from lerobot_ros.datasets import bags
from lerobot_ros.features.mapping import EMBEDDED_MAPPING_FILE, load_mapping, mapping_document
from lerobot_ros.interfaces import RecorderStatus, TaskStatus
from lerobot_ros.policy.loading import trained_mapping
from lerobot_ros.resources import config_path
from lerobot_ros.ros import conversions, qos, topics
from lerobot_ros.ros.recorder_client import RecorderClient
from lerobot_ros.ros.sim_client import SimClient, spin_until

pytestmark = pytest.mark.ros

FPS = 30
REPO_ID = "test/recorded"
MAPPING = config_path("features/panda_pick_cube.yaml")


class BagTap:
    """Writes the mapped topics of the live graph into an MCAP bag, as ``ros2 bag record
    --use-sim-time`` would: serialized bytes, stamped with the receive time on sim time.

    The receive time is the middleware's (``received_timestamp`` of the message info dict), put on
    sim time by the last /clock the middleware had received before it: the test thread that
    runs these callbacks also writes the images, and its lag must not move the stamps."""

    TOPICS = {
        topics.JOINT_STATES: (JointState, bags.JOINT_STATE),
        topics.SCENE_MARKERS: (MarkerArray, bags.MARKER_ARRAY),
        topics.camera_image("front"): (Image, bags.IMAGE),
        topics.camera_image("wrist"): (Image, bags.IMAGE),
        topics.POSITION_COMMANDS: (Float64MultiArray, bags.FLOAT64_MULTI_ARRAY),
        topics.TASK_STATUS: (TaskStatus, bags.TASK_STATUS),
    }

    def __init__(self, node: Node, path) -> None:  # noqa: ANN001
        self.node = node
        self.writer = Writer(path, version=9, storage_plugin=StoragePlugin.MCAP)
        self.writer.open()
        self.recording = False
        self.count = 0
        self._clock_received: list[int] = []  # middleware receive times of /clock (ns)
        self._clock_stamps: list[int] = []  # and the sim times they carried (ns)
        # Deep queues (TASK_STATUS: depth 1000): a lagging test thread must not drop any.
        node.create_subscription(Clock, topics.CLOCK, self._on_clock, qos.TASK_STATUS)
        for topic, (msg_type, type_name) in self.TOPICS.items():
            connection = self.writer.add_connection(topic, type_name, typestore=bags.typestore())
            node.create_subscription(
                msg_type,
                topic,
                lambda raw, info, c=connection: self._write(c, raw, info),
                qos.TASK_STATUS,
                raw=True,
            )

    def _on_clock(self, msg: Clock, info: dict) -> None:
        self._clock_received.append(info["received_timestamp"])
        self._clock_stamps.append(msg.clock.sec * 10**9 + msg.clock.nanosec)

    def _sim_time_at(self, received: int) -> int:
        """Sim time (ns) when the middleware received a message: the last /clock before it."""
        index = bisect.bisect_right(self._clock_received, received) - 1
        return self._clock_stamps[index] if index >= 0 else 0

    def _write(self, connection, raw: bytes, info: dict) -> None:  # noqa: ANN001
        if self.recording:
            self.writer.write(connection, self._sim_time_at(info["received_timestamp"]), raw)
            self.count += 1

    def close(self) -> None:
        self.recording = False
        self.writer.close()


@pytest.fixture(scope="module")
def graph(start_module_node, tmp_path_factory):
    """sim_node (two cameras) + scripted teleop + recorder_node, and a sim-time test node."""
    root = tmp_path_factory.mktemp("recording") / "dataset"
    start_module_node("lerobot_ros.nodes.sim_node", {"max_episode_steps": 600})
    start_module_node("lerobot_ros.nodes.scripted_teleop_node", {"use_sim_time": True})
    recorder = start_module_node(
        "lerobot_ros.nodes.recorder_node",
        {"root": str(root), "repo_id": REPO_ID, "use_sim_time": True, "min_free_mb": 1.0},
    )
    context = rclpy.Context()
    rclpy.init(context=context)
    node = Node(
        "recording_test",
        context=context,
        parameter_overrides=[Parameter("use_sim_time", value=True)],
    )
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    clock: list[float] = []
    node.create_subscription(
        Clock, topics.CLOCK, lambda m: clock.append(conversions.time_to_seconds(m.clock)), 10
    )
    env = {
        "node": node,
        "executor": executor,
        "sim": SimClient(node, executor, timeout=30.0),
        "recorder": RecorderClient(node, executor),
        "recorder_process": recorder,
        "root": root,
        "clock": clock,
        "bag": tmp_path_factory.mktemp("bag") / "live",
    }
    yield env
    executor.shutdown()
    node.destroy_node()
    rclpy.shutdown(context=context)


def _run_for(env, sim_seconds: float) -> float:
    clock = env["clock"]
    assert spin_until(env["executor"], lambda: bool(clock), 30), "no /clock"
    start = clock[-1]
    assert spin_until(env["executor"], lambda: clock[-1] >= start + sim_seconds, 60 + sim_seconds)
    return clock[-1] - start


@pytest.fixture(scope="module")
def recorded(graph):
    """Two saved episodes and one discarded; the first one also tapped into a bag."""
    recorder = graph["recorder"]
    tap = BagTap(graph["node"], graph["bag"])
    durations, skipped = [], []
    for seed, seconds, save in ((7, 4.0, True), (8, 1.0, False), (9, 2.0, True)):
        graph["sim"].reset(seed)
        if seed == 7:
            tap.recording = True
        response = recorder.start(f"pick the cube (seed {seed})")
        assert response.success, response.message
        elapsed = _run_for(graph, seconds)
        result = recorder.stop() if save else recorder.discard()
        assert result.success, result.message
        if seed == 7:
            _run_for(graph, 0.3)  # the last tick's command, as the recorder saw it
            tap.close()
        # The status of the stopped episode (published on the change to IDLE): the ticks it
        # skipped (inputs too late on a loaded machine), which its frames lack.
        assert spin_until(
            graph["executor"], lambda: recorder.status.state == RecorderStatus.IDLE, 10
        )
        if save:
            durations.append(elapsed)
            skipped.append(recorder.status.skipped_ticks)
    assert recorder.wait_saved(2, timeout=120), recorder.status
    return {"durations": durations, "skipped": skipped, "status": recorder.status}


def _load(root):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    return LeRobotDataset(REPO_ID, root=root)


def test_dataset_loads_with_frames_videos_and_stats(graph, recorded):
    status = recorded["status"]
    assert status.state == RecorderStatus.IDLE and status.last_error == ""
    dataset = _load(graph["root"])
    assert dataset.num_episodes == 2  # the discarded take is not there
    lengths = [int(e["length"]) for e in dataset.meta.episodes]
    for length, duration, skipped in zip(
        lengths, recorded["durations"], recorded["skipped"], strict=True
    ):
        # Start and stop are service calls on a running sim: a tick or two either way.
        assert abs(length + skipped - duration * FPS) <= 3, (lengths, recorded)
    tasks = set(dataset.meta.tasks.index)
    assert tasks == {"pick the cube (seed 7)", "pick the cube (seed 9)"}
    last = dataset[len(dataset) - 1]
    for camera in ("front", "wrist"):
        image = last[f"observation.images.{camera}"]
        assert tuple(image.shape) == (3, 224, 224)
        assert float(image.std()) > 0.01  # decoded pixels, not a blank frame
    stats = json.loads((graph["root"] / "meta" / "stats.json").read_text())
    for key in ("observation.state", "action", "observation.images.front"):
        assert key in stats and "mean" in stats[key]
    # The expert moved the arm: state and action vary within an episode (an arm at rest
    # varies by ~1e-7 rad; on a loaded machine the expert may cover only a few cm in 4 s).
    first = dataset.hf_dataset.with_format("numpy")[: lengths[0]]
    assert np.ptp(first["observation.state"], axis=0).max() > 0.01
    assert np.ptp(first["action"], axis=0).max() > 0.01


def test_frames_are_as_of_samples_on_the_tick_grid(graph, recorded):
    frames = _load(graph["root"]).hf_dataset.with_format("numpy")[:]
    timestamps = frames["timestamp"][frames["episode_index"] == 0]
    assert np.allclose(np.diff(timestamps), 1 / FPS, atol=1e-4)
    # Each action is the expert's answer to that frame's state: a small step from it.
    episode = frames["episode_index"] == 0
    step = np.abs(frames["action"][episode] - frames["observation.state"][episode]).max(axis=1)
    assert np.median(step) < 0.5


def test_live_recording_matches_the_bag_of_the_same_run(graph, recorded, tmp_path):
    mapping = load_mapping(MAPPING)
    root = tmp_path / "from_bag"
    bags.bag2dataset(graph["bag"], mapping, root, REPO_ID, split="status")
    live = _load(graph["root"]).hf_dataset.with_format("numpy")[:]
    from_bag = _load(root).hf_dataset.with_format("numpy")[:]
    episode = live["episode_index"] == 0
    live_states = live["observation.state"][episode]
    bag_states = from_bag["observation.state"]
    # Both sample the same messages on the sim's 1/30 s stamp grid: the live frames are a run
    # of the bag's frames, state for state, except for the ticks the recorder reported
    # skipping (a skipped tick is missing from the live run, so the rest shifts by one).
    gaps = recorded["skipped"][0]
    indices = max(
        (_align(live_states, bag_states, start, gaps) for start in range(len(bag_states))),
        key=lambda found: sum(i is not None for i in found),
    )
    matched = [i for i in indices if i is not None]
    assert len(matched) >= 0.95 * len(live_states), (len(matched), len(live_states), gaps)
    found = np.array([i is not None for i in indices])
    assert np.array_equal(
        live["observation.environment_state"][episode][found],
        from_bag["observation.environment_state"][matched],
    )
    # Commands have no header: each process stamps them on arrival with its own view of
    # /clock, which on a loaded machine can differ by more than a tick; two commands then
    # share a frame in one recording and only the newer is kept. Each live action is a
    # command of the same stretch of the run: it lies within the bag's actions of the frames
    # a few ticks either side (at most 3, ~100 ms; the arm moves smoothly).
    live_actions = live["action"][episode][found]
    bag_actions = from_bag["action"]
    ticks_off = []
    for action, i in zip(live_actions, matched, strict=True):
        for ticks in range(4):
            near = bag_actions[max(0, i - ticks) : i + ticks + 1]
            if np.all(near.min(axis=0) - 1e-9 <= action) and np.all(
                action <= near.max(axis=0) + 1e-9
            ):
                ticks_off.append(ticks)
                break
        else:
            ticks_off.append(None)
    assert sum(t is not None for t in ticks_off) >= 0.95 * len(ticks_off), ticks_off


def _align(live, bag, start: int, gaps: int) -> list[int | None]:
    """The bag frame equal to each live frame, walking the bag from ``start`` in order and
    passing over at most ``gaps`` bag frames in all (None: no equal frame there)."""
    indices: list[int | None] = []
    position = start
    for frame in live:
        for skip in range(gaps + 1):
            if position + skip < len(bag) and np.array_equal(bag[position + skip], frame):
                indices.append(position + skip)
                position += skip + 1
                gaps -= skip
                break
        else:
            indices.append(None)
            position += 1
    return indices


def test_a_policy_trains_on_the_recording(graph, recorded, tmp_path):
    checkpoint = train_tiny_act(graph["root"], REPO_ID, tmp_path / "train", steps=3)
    assert (checkpoint / "model.safetensors").is_file()
    assert json.loads((checkpoint / "config.json").read_text())["type"] == "act"
    # The mapping travels with the data: the recorder wrote it into the dataset's meta/, and
    # the checkpoint finds it through the dataset its train_config.json names.
    recorded_with = mapping_document(load_mapping(MAPPING))
    assert mapping_document(trained_mapping(checkpoint)) == recorded_with
    assert "lerobot_ros_mapping.yaml (from " in attach_mapping(checkpoint)
    beside = checkpoint / EMBEDDED_MAPPING_FILE
    assert mapping_document(load_mapping(beside)) == recorded_with
    assert trained_mapping(checkpoint).source == str(beside)  # beside the checkpoint wins


def _lerobot_cli(name: str, *arguments: str, timeout: float) -> None:
    """Run one of LeRobot's console scripts from this venv; fail with its output."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / name), *arguments],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]


def test_lerobot_command_lines_train_on_and_show_the_recording(graph, recorded, tmp_path):
    """LeRobot's own CLIs, as a user runs them on a dataset recorded through ROS."""
    output = tmp_path / "train"
    _lerobot_cli(
        "lerobot-train",
        f"--dataset.repo_id={REPO_ID}",
        f"--dataset.root={graph['root']}",
        "--policy.type=act",
        "--policy.device=cpu",
        "--policy.push_to_hub=false",
        "--policy.pretrained_backbone_weights=null",  # offline: no ImageNet download
        "--policy.dim_model=32",
        "--policy.n_heads=2",
        "--policy.dim_feedforward=64",
        "--policy.n_encoder_layers=1",
        "--policy.n_decoder_layers=1",
        "--policy.chunk_size=10",
        "--policy.n_action_steps=10",
        "--policy.use_vae=false",
        "--steps=2",
        "--batch_size=2",
        "--num_workers=0",
        "--env_eval_freq=0",
        "--save_freq=2",
        "--log_freq=1",
        "--wandb.enable=false",
        f"--output_dir={output}",
        timeout=600,
    )
    checkpoint = output / "checkpoints" / "last" / "pretrained_model"
    assert json.loads((checkpoint / "config.json").read_text())["type"] == "act"
    assert (checkpoint / "model.safetensors").is_file()

    _lerobot_cli(
        "lerobot-dataset-viz",
        f"--repo-id={REPO_ID}",
        f"--root={graph['root']}",
        "--episode-index=1",
        "--num-workers=0",
        "--save=1",
        f"--output-dir={tmp_path / 'viz'}",
        timeout=300,
    )
    (recording,) = (tmp_path / "viz").glob("*.rrd")
    assert recording.stat().st_size > 50_000  # both camera streams and the scalars of 1 episode
