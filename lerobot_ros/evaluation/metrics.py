"""Eval metrics with the exact keys and layout of LeRobot's ``eval_info.json``.

Plain Python: the ROS eval node and the in-process rollout both report through here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class EpisodeRecord:
    """One evaluated episode. ``rewards`` holds one reward per env step (not the reset)."""

    seed: int
    rewards: list[float] = field(default_factory=list)
    success: bool = False
    end: str = "running"  # success | step_limit | timeout | interrupted

    @property
    def steps(self) -> int:
        return len(self.rewards)

    @property
    def sum_reward(self) -> float:
        return float(np.sum(self.rewards)) if self.rewards else 0.0

    @property
    def max_reward(self) -> float:
        return float(np.max(self.rewards)) if self.rewards else 0.0


def eval_info(
    episodes: Sequence[EpisodeRecord], eval_s: float, video_paths: Sequence[str] | None = None
) -> dict:
    """``{"per_episode": [...], "aggregated": {...}[, "video_paths": [...]]}`` as lerobot_eval."""
    n = max(1, len(episodes))
    info: dict = {
        "per_episode": [
            {
                "episode_ix": i,
                "sum_reward": e.sum_reward,
                "max_reward": e.max_reward,
                "success": bool(e.success),
                "seed": int(e.seed),
            }
            for i, e in enumerate(episodes)
        ],
        "aggregated": {
            "avg_sum_reward": float(np.nanmean([e.sum_reward for e in episodes]))
            if episodes
            else float("nan"),
            "avg_max_reward": float(np.nanmean([e.max_reward for e in episodes]))
            if episodes
            else float("nan"),
            "pc_success": float(np.nanmean([e.success for e in episodes]) * 100)
            if episodes
            else float("nan"),
            "eval_s": float(eval_s),
            "eval_ep_s": float(eval_s) / n,
        },
    }
    if video_paths is not None:
        info["video_paths"] = list(video_paths)
    return info
