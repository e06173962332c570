"""Files of an eval: ``eval_info.json``, ``videos/eval_episode_<i>.mp4`` and a plot."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

VIDEO_FPS = 30
# The camera of eval videos, unless the eval goal names another.
VIDEO_CAMERA = "front"


def write_video(frames: Sequence[np.ndarray], path: Path, fps: int = VIDEO_FPS) -> Path:
    """An H.264 mp4 of RGB frames, written as ``lerobot_eval`` writes its videos."""
    from lerobot.utils.io_utils import write_video as lerobot_write_video

    path.parent.mkdir(parents=True, exist_ok=True)
    lerobot_write_video(path, list(frames), fps=fps)
    return path


def write_plot(info: dict, path: Path) -> Path:
    """Success and rewards per episode, with pc_success in the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    episodes = info["per_episode"]
    x = [e["episode_ix"] for e in episodes]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(8, 5), sharex=True)
    top.bar(
        x,
        [1 if e["success"] else 0 for e in episodes],
        color=["tab:green" if e["success"] else "tab:red" for e in episodes],
    )
    top.set_ylabel("success")
    top.set_yticks([0, 1])
    top.set_title(
        f"pc_success {info['aggregated']['pc_success']:.1f}% over {len(episodes)} episodes"
    )
    bottom.plot(x, [e["sum_reward"] for e in episodes], "o-", label="sum_reward")
    bottom.plot(x, [e["max_reward"] for e in episodes], "s--", label="max_reward")
    bottom.set_xlabel("episode")
    bottom.set_ylabel("reward")
    bottom.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def write_eval_info(info: dict, output_dir: Path) -> Path:
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / "eval_info.json"
    path.write_text(json.dumps(info, indent=2))
    return path
