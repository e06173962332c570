"""recorder_node under faults: killed mid-episode, a full disk, a bad mapping, topics of the
wrong type, an incompatible dataset. Each gives a clear error and loses nothing saved."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import yaml
from std_msgs.msg import String

from lerobot_ros.datasets.recording import ORPHANS_DIR
from lerobot_ros.interfaces import StartEpisode
from lerobot_ros.resources import config_path
from lerobot_ros.ros import qos
from lerobot_ros.ros.recorder_client import RecorderClient

pytestmark = pytest.mark.ros

REPO_ID = "test/faults"
RECORDER = "lerobot_ros.nodes.recorder_node"


@pytest.fixture(scope="module")
def sim(start_module_node):
    """One sim (two cameras) driven by the scripted expert for every test here."""
    start_module_node("lerobot_ros.nodes.sim_node", {"max_episode_steps": 100000})
    start_module_node("lerobot_ros.nodes.scripted_teleop_node", {"use_sim_time": True})


def _recorder(start_node, root, **parameters):
    return start_node(
        RECORDER,
        {"root": str(root), "repo_id": REPO_ID, "use_sim_time": True, "min_free_mb": 1.0}
        | parameters,
    )


def _record(probe, client: RecorderClient, seconds: float) -> None:
    response = client.start("pick")
    assert response.success, response.message
    probe.spin_for(seconds)
    response = client.stop()
    assert response.success, response.message


def _load(root):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    return LeRobotDataset(REPO_ID, root=root)


def _wait_exit(process, timeout: float = 60.0) -> int:
    process.process.wait(timeout)
    return process.process.returncode


def test_kill_mid_episode_loses_only_that_episode(sim, start_node, probe, tmp_path):
    root = tmp_path / "dataset"
    first = _recorder(start_node, root)
    client = RecorderClient(probe.node, probe.executor)
    _record(probe, client, 1.5)
    assert client.wait_saved(1), client.status
    assert client.start("doomed").success
    probe.spin_for(1.5)
    first.kill()  # SIGKILL mid-episode: no cleanup in the node

    dataset = _load(root)
    assert dataset.num_episodes == 1 and len(dataset) > 30
    assert dataset[len(dataset) - 1]["observation.images.front"].shape[0] == 3

    # A new recorder resumes the dataset and appends to it.
    _recorder(start_node, root)
    resumed = RecorderClient(probe.node, probe.executor)
    assert probe.spin_until(lambda: resumed.status is not None, 30)
    assert resumed.status.saved_episodes == 1 and resumed.status.episode_index == 1
    _record(probe, resumed, 1.0)
    assert resumed.wait_saved(2), resumed.status
    dataset = _load(root)
    assert dataset.num_episodes == 2
    assert [int(e["episode_index"]) for e in dataset.meta.episodes] == [0, 1]


@pytest.fixture
def small_disk(tmp_path):
    """A 16 MB tmpfs (needs root, as on CI); unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk, leave_bytes: int) -> None:
    free = shutil.disk_usage(disk).free
    with open(disk / f"filler-{uuid.uuid4().hex}", "wb") as filler:
        filler.truncate(0)
        filler.write(b"\0" * max(0, free - leave_bytes))


def test_full_disk_refuses_and_keeps_saved_episodes(sim, start_node, probe, small_disk):
    root = small_disk / "dataset"
    recorder = _recorder(start_node, root, min_free_mb=0.03)
    client = RecorderClient(probe.node, probe.executor)
    _record(probe, client, 1.0)
    assert client.wait_saved(1), client.status

    # Full disk: a new episode is refused up front, with the reason.
    _fill(small_disk, leave_bytes=10_000)
    refused = client.start("no room")
    assert not refused.success and "MB free" in refused.message
    assert refused.refusal == StartEpisode.Response.REFUSED_WRITER

    # Some room, not enough: the episode is dropped with the reason, the recorder stays up
    # (refused before writing when the space check sees it coming, else LeRobot's write
    # fails with ENOSPC; test_recording covers that path without ROS).
    for filler in small_disk.glob("filler-*"):
        filler.unlink()
    _fill(small_disk, leave_bytes=40_000)
    assert client.start("too big").success
    probe.spin_for(6.0)
    client.stop()

    def reported() -> bool:
        error = client.status.last_error if client.status else ""
        return any(text in error for text in ("MB free", "No space left", "Errno 28"))

    assert probe.spin_until(reported, 60), client.status
    assert client.status.saved_episodes == 1
    assert recorder.running
    recorder.stop()  # its episodes so far are on disk; nothing in progress

    # Everything saved before is intact; a restarted recorder sets the broken save aside.
    for filler in small_disk.glob("filler-*"):
        filler.unlink()
    assert _load(root).num_episodes == 1
    _recorder(start_node, root, min_free_mb=0.03)
    resumed = RecorderClient(probe.node, probe.executor)
    _record(probe, resumed, 1.0)
    assert resumed.wait_saved(2), resumed.status
    assert _load(root).num_episodes == 2


def test_no_room_at_all_refuses_to_start(start_node, tmp_path):
    recorder = _recorder(start_node, tmp_path / "dataset", min_free_mb=1e9)
    assert _wait_exit(recorder) == 2
    assert "MB free" in recorder.log_text()


def test_bad_mapping_refuses_to_start(start_node, tmp_path):
    mapping = yaml.safe_load(config_path("features/panda_pick_cube.yaml").read_text())
    mapping["observation"]["state"]["type"] = "joint_torques"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(mapping))
    recorder = _recorder(start_node, tmp_path / "dataset", mapping=str(path))
    assert _wait_exit(recorder) == 2
    log = recorder.log_text()
    assert "bad feature mapping" in log and "joint_torques" in log
    assert not (tmp_path / "dataset").exists()


def _complete_json(path: Path) -> bool:
    try:
        json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return True


def test_incompatible_dataset_refuses_to_start(start_node, tmp_path):
    root = tmp_path / "dataset"
    root.mkdir()
    (root / "notes.txt").write_text("not a dataset")
    recorder = _recorder(start_node, root)
    assert _wait_exit(recorder) == 2
    assert "not a LeRobotDataset" in recorder.log_text()
    assert (root / "notes.txt").read_text() == "not a dataset"

    other = tmp_path / "other_fps"
    first = _recorder(start_node, other, fps=15, use_videos=False)
    deadline = time.monotonic() + 60
    while not _complete_json(other / "meta" / "info.json") and time.monotonic() < deadline:
        time.sleep(0.2)  # stopped while LeRobot writes info.json, there would be no dataset
    assert first.running
    first.stop()
    recorder = _recorder(start_node, other)
    assert _wait_exit(recorder) == 2
    assert "fps 15 (recorder: 30)" in recorder.log_text()


def test_topic_of_the_wrong_type_refuses_the_episode(start_node, probe, tmp_path):
    mapping = yaml.safe_load(config_path("features/panda_pick_cube.yaml").read_text())
    mapping["observation"]["state"]["topic"] = "/odd/joint_states"
    path = tmp_path / "odd.yaml"
    path.write_text(yaml.safe_dump(mapping))
    publisher = probe.node.create_publisher(String, "/odd/joint_states", qos.STATE)
    _recorder(start_node, tmp_path / "dataset", mapping=str(path), topic_timeout=1.0)
    client = RecorderClient(probe.node, probe.executor)
    publisher.publish(String(data="not a joint state"))
    response = client.start("pick")
    assert not response.success
    assert response.refusal == StartEpisode.Response.REFUSED_INPUTS_MISMATCH
    assert "/odd/joint_states carries ['std_msgs/msg/String']" in response.message
    assert "sensor_msgs/msg/JointState" in response.message
    assert not (tmp_path / "dataset" / ORPHANS_DIR).exists()
    assert os.path.isdir(tmp_path / "dataset")
