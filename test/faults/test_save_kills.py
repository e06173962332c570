"""kill -9 the dataset writer (recorder_node's DatasetWriter, in a process of its own) at
random instants of its saves, again and again on one dataset, as a crash would.

The user checks, after every kill and before anything reopens the dataset: LeRobot loads it
with every episode it counts (info.json), the last counted frame decodes, and every save the
writer had reported done is counted. Then a writer reopens it and goes on.

SAVE_KILLS kills (5 by default, as in CI; ``make test-save-kills``: 50)."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

from save_kill_writer import FRAMES

KILLS = int(os.environ.get("SAVE_KILLS", "5"))
WRITER = Path(__file__).with_name("save_kill_writer.py")
REPO_ID = "test/save_kills"


class Writer:
    """The writer process and the lines it printed."""

    def __init__(self, root: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(WRITER), str(root)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.saved = -1  # the last episode it reported saved
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            self.lines.put(line.strip())

    def wait_for(self, prefix: str, timeout: float = 180.0) -> float:
        """Until a line starting with ``prefix``; returns when it came (monotonic)."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line.startswith("saved "):
                self.saved = int(line.split()[1])
            if line.startswith(prefix):
                return time.monotonic()
        raise AssertionError(f"no {prefix!r} within {timeout} s:\n{''.join(self.output)[-3000:]}")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(30)
        while not self.lines.empty():  # a save reported just before the kill counts
            line = self.lines.get()
            if line.startswith("saved "):
                self.saved = int(line.split()[1])


def load_problem(root: Path, reported_saved: int) -> str | None:
    """None when LeRobot loads the dataset with every episode info.json counts, the last
    counted frame decodes, and no save reported done is missing; else what is wrong."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    try:
        info = json.loads((root / "meta" / "info.json").read_text())
        dataset = LeRobotDataset(REPO_ID, root=root)
        counted = info["total_episodes"]
        lengths = [int(e["length"]) for e in dataset.meta.episodes][:counted]
        last = dataset[len(dataset) - 1]
    except Exception as error:  # noqa: BLE001 - a dataset that does not load is the finding
        return f"{type(error).__name__}: {error}"[:500]
    if dataset.num_episodes != counted or len(dataset) != info["total_frames"]:
        return f"loads {dataset.num_episodes} episodes / {len(dataset)} frames, info.json {info}"
    if lengths != [FRAMES] * counted:
        return f"episode lengths {lengths}"
    if tuple(last["observation.images.front"].shape)[0] != 3:
        return f"last frame image {tuple(last['observation.images.front'].shape)}"
    if counted < reported_saved + 1:
        return f"{counted} episodes counted, but episode {reported_saved} was reported saved"
    return None


def test_kills_at_random_instants_of_saves_leave_loadable_datasets(tmp_path, rng, inject):
    root = tmp_path / "dataset"
    fault = f"kill -9 at a random instant of a save, {KILLS} times on one dataset"
    with inject(
        graph="DatasetWriter (recorder_node's)", node="writer process", fault=fault
    ) as case:
        # One save uninterrupted: how long a save takes here.
        writer = Writer(root)
        began = writer.wait_for("saving")
        save_s = writer.wait_for("saved") - began
        writer.kill()
        window = 1.2 * save_s
        unloadable, saved = [], writer.saved
        for kill in range(KILLS):
            writer = Writer(root)
            writer.wait_for("saving")
            delay = rng.uniform(0.0, window)
            time.sleep(delay)
            writer.kill()
            saved = max(saved, writer.saved)
            problem = load_problem(root, saved)
            if problem:
                unloadable.append(f"kill {kill}, {delay:.3f} s into a save: {problem}")
        counted = json.loads((root / "meta" / "info.json").read_text())["total_episodes"]
        case.when = (
            f"{KILLS} kills, each 0-{window:.2f} s after a save began (one save: {save_s:.2f} s)"
        )
        case.note("datasets left unloadable", f"{len(unloadable)} of {KILLS}")
        case.check(
            "every kill leaves a dataset LeRobot loads, losing no saved episode",
            not unloadable,
            unloadable,
        )

        writer = Writer(root)
        writer.wait_for("saved")
        writer.kill()
        case.check(
            "a writer reopens the dataset and saves on",
            load_problem(root, writer.saved) is None and writer.saved >= counted,
            f"{counted} counted before, episode {writer.saved} saved after reopening",
        )
