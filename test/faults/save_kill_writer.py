"""A DatasetWriter (recorder_node's writer) recording short episodes into ``argv[1]`` until
it is killed; it prints ``saving N`` before each save and ``saved N`` once it is on disk.
Run by test_save_kills.py."""

from __future__ import annotations

import sys

import numpy as np

from lerobot_ros.datasets.recording import DatasetWriter

FPS = 10
FRAMES = 20
SIDE = 64  # the smallest frame every AV1 encoder takes
FEATURES = {
    "observation.state": {"dtype": "float32", "shape": (2,), "names": ["a", "b"]},
    "action": {"dtype": "float32", "shape": (2,), "names": ["a", "b"]},
    "observation.images.front": {
        "dtype": "video",
        "shape": (SIDE, SIDE, 3),
        "names": ["height", "width", "channels"],
    },
}


def frame(value: int) -> dict:
    return {
        "observation.state": np.full(2, value, np.float32),
        "action": np.full(2, value, np.float32),
        "observation.images.front": np.full((SIDE, SIDE, 3), value % 256, np.uint8),
    }


def main(root: str) -> None:
    writer = DatasetWriter(root, "test/save_kills", FPS, FEATURES, min_free_mb=1).open()
    while True:
        episode = writer.next_episode_index
        for i in range(FRAMES):
            writer.add_frame(frame(episode * FRAMES + i), "record")
        if not writer.wait_idle(120):
            raise SystemExit("frames not written in 120 s")
        print(f"saving {episode}", flush=True)
        writer.save_episode()
        if not writer.wait_idle(120) or writer.state.failed:
            raise SystemExit(f"save failed: {writer.state.last_error}")
        print(f"saved {episode}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
