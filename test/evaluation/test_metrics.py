import json

import pytest

from lerobot_ros.evaluation.metrics import EpisodeRecord, eval_info
from lerobot_ros.evaluation.report import write_eval_info, write_plot, write_video


def test_eval_info_has_lerobot_keys_and_values():
    episodes = [
        EpisodeRecord(seed=0, rewards=[0.1, 0.5, 1.0], success=True, end="success"),
        EpisodeRecord(seed=1, rewards=[0.2, 0.3], success=False, end="step_limit"),
    ]
    info = eval_info(episodes, eval_s=4.0, video_paths=["v.mp4"])
    assert set(info) == {"per_episode", "aggregated", "video_paths"}
    assert info["per_episode"][0] == {
        "episode_ix": 0,
        "sum_reward": pytest.approx(1.6),
        "max_reward": 1.0,
        "success": True,
        "seed": 0,
    }
    aggregated = info["aggregated"]
    assert set(aggregated) == {
        "avg_sum_reward",
        "avg_max_reward",
        "pc_success",
        "eval_s",
        "eval_ep_s",
    }
    assert aggregated["pc_success"] == 50.0
    assert aggregated["avg_sum_reward"] == pytest.approx((1.6 + 0.5) / 2)
    assert aggregated["avg_max_reward"] == pytest.approx((1.0 + 0.3) / 2)
    assert aggregated["eval_ep_s"] == 2.0


def test_outputs_are_written(tmp_path):
    import numpy as np

    info = eval_info([EpisodeRecord(seed=3, rewards=[0.5], success=False)], eval_s=1.0)
    path = write_eval_info(info, tmp_path)
    assert json.loads(path.read_text())["per_episode"][0]["seed"] == 3
    assert write_plot(info, tmp_path / "plot.png").stat().st_size > 1000
    frames = [np.full((32, 32, 3), i * 20, dtype=np.uint8) for i in range(10)]
    video = write_video(frames, tmp_path / "videos" / "e.mp4")
    import av

    with av.open(str(video)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 10
