"""`lerobot-ros record` as a user runs it: the sim graph, the scripted expert, N episodes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lerobot_ros.orchestration.ros_record import episode_lengths

pytestmark = pytest.mark.ros


def run_record(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lerobot_ros.orchestration.cli", "record", *arguments],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=400,
    )


def test_record_cli_records_and_appends(tmp_path):
    root = tmp_path / "dataset"
    common = ("--root", str(root), "--repo-id", "test/cli", "--task", "lift it")
    result = run_record("--num-episodes", "2", "--seed", "5", *common)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 episodes (2 recorded now" in result.stdout
    # The expert solves each seed well before the sim's 300-step limit: episodes end on
    # success, each a few seconds of frames.
    lengths = episode_lengths(root)
    assert len(lengths) == 2 and all(20 < n < 300 for n in lengths), lengths

    again = run_record("--num-episodes", "1", "--seed", "7", *common)
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(episode_lengths(root)) == 3

    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    dataset = LeRobotDataset("test/cli", root=root)
    assert dataset.num_episodes == 3 and set(dataset.meta.tasks.index) == {"lift it"}


def test_record_cli_refuses_a_real_scripted_expert(tmp_path):
    result = run_record("--real", "--root", str(tmp_path / "d"), "--repo-id", "x/y")
    assert result.returncode == 1
    assert "scripted expert needs the sim" in result.stderr
