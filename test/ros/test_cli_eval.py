"""`lerobot-ros eval` as a user runs it: brings up the graph, prints pc_success last."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.ros


def run_cli(*arguments: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lerobot_ros.orchestration.cli", *arguments],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_eval_cli_writes_lerobot_outputs_and_prints_pc_success_last(tmp_path):
    result = run_cli(
        "eval", "--n-episodes", "2", "--seed", "3", "--n-videos", "1", "--output-dir", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    last_line = result.stdout.strip().splitlines()[-1]
    info = json.loads((tmp_path / "eval_info.json").read_text())
    assert last_line == f"pc_success: {info['aggregated']['pc_success']:.1f}"
    assert [e["seed"] for e in info["per_episode"]] == [3, 4]
    assert (tmp_path / "eval_plot.png").is_file()
    assert len(list((tmp_path / "videos").glob("eval_episode_*.mp4"))) == 1


def test_eval_cli_fails_clearly_on_a_bad_checkpoint(tmp_path):
    result = run_cli(
        "eval", "--policy", str(tmp_path / "missing"), "--output-dir", str(tmp_path / "out")
    )
    assert result.returncode != 0
    assert (
        "eval failed" in result.stderr and "policy checkpoint directory not found" in result.stderr
    )
