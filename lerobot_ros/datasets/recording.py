"""Live recording into a LeRobotDataset v3: tick sampling and a durable, threaded writer.

No ROS here (``recorder_node`` is the thin wrapper). Two pieces:

* ``LiveSampler`` turns stamped inputs arriving in real time into frames at the dataset fps,
  with the rule of ``datasets.frames.sample_frame``. A tick is written once it can no longer
  change: every observation input has a sample at or after it (each topic arrives in stamp
  order) and the clock has passed the next tick (commands are stamped on arrival, so none
  can still come for it), or it is too old to ever complete (skipped and counted).
* ``DatasetWriter`` owns LeRobot's ``LeRobotDataset`` on one writer thread, so encoding and
  disk I/O never block the caller (videos are encoded while frames arrive, LeRobot's
  streaming encoder). A saved episode is durable: LeRobot v3 appends episodes to parquet
  files kept open until ``finalize()``, which a killed process never reaches, so the writer
  finalizes the dataset after every saved episode and resumes it (``LeRobotDataset.resume``,
  which starts new files) for the next one. LeRobot writes each episode into a staging copy
  of the dataset's metadata, and the finished files are renamed into the dataset with
  ``meta/info.json`` last (``staged_saves``), so a kill at any instant, a save included,
  leaves a dataset that loads with every episode it counts: killing the recorder loses only
  the episode in progress or being saved. What a cut-short save left is moved aside on the
  next start.
"""

from __future__ import annotations

import json
import math
import queue
import shutil
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lerobot_ros.datasets import staged_saves
from lerobot_ros.datasets.frames import STAMP_TOLERANCE_S, reason_summary, sample_frame
from lerobot_ros.features.alignment import NotReady, ObservationAligner
from lerobot_ros.features.mapping import (
    ACTION,
    EMBEDDED_MAPPING_FILE,
    OBS_STATE,
    FeatureMapping,
    save_mapping,
)

ORPHANS_DIR = ".interrupted"  # where files of an interrupted save are moved, never deleted


class RecordingError(RuntimeError):
    """The recorder cannot start or go on; the message says why and what to do."""


# ----------------------------------------------------------------------------- sampling


class LiveSampler:
    """Frames at ``fps`` from stamped inputs (seconds on the graph's clock)."""

    def __init__(self, mapping: FeatureMapping, fps: float, capacity: int = 64) -> None:
        if not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        self.period = 1.0 / fps
        self.max_age = mapping.max_age
        self.observations = ObservationAligner(mapping.source_keys, mapping.max_age, capacity)
        self.compose = mapping.compose
        self.commands = ObservationAligner([ACTION], mapping.max_age, capacity)
        self.origin: float | None = None
        self.ticks = 0  # ticks evaluated since begin()
        self.skipped: Counter[str] = Counter()
        self.active = False

    def begin(self) -> None:
        """Start a new episode: its first tick is the next state sample's stamp."""
        self.active, self.origin, self.ticks = True, None, 0
        self.skipped.clear()

    def end(self) -> None:
        self.active = False

    def add(self, key: str, stamp: float, value: Any) -> None:  # noqa: ANN401
        if key == ACTION:
            self.commands.add(key, stamp, value)
            return
        self.observations.add(key, stamp, value)
        if self.active and self.origin is None and key == OBS_STATE:
            self.origin = stamp

    def _tick(self, index: int) -> float:
        return self.origin + index * self.period

    def poll(self, now: float) -> list[dict[str, np.ndarray]]:
        """Frames of every tick that became final by ``now``, in order."""
        frames: list[dict[str, np.ndarray]] = []
        if not self.active or self.origin is None:
            return frames
        newest = [buffer.newest_stamp for buffer in self.observations.buffers.values()]
        observed_up_to = -math.inf if None in newest else min(newest)
        while True:
            tick = self._tick(self.ticks)
            next_tick = self._tick(self.ticks + 1)
            complete = observed_up_to >= tick - STAMP_TOLERANCE_S and now >= next_tick
            hopeless = now > tick + self.max_age + self.period
            if not (complete or hopeless):
                return frames
            self.ticks += 1
            # Stamps on a 1/fps grid land exactly on ticks; the deadline stays just before
            # the next tick whatever the float rounding of the two.
            frame = sample_frame(
                self.observations, self.commands, tick, next_tick - 1e-9, self.compose
            )
            if not isinstance(frame, NotReady):
                frames.append(frame)
                continue
            reasons = reason_summary(frame.reasons.items())
            self.skipped.update(reasons)
            # Until some input gets a sample that could change the outcome, every later tick
            # is not ready for the same reasons (ages only grow): skip them at once, so a
            # clock or stamps that jump far ahead never make this walk tick by tick.
            resume = self._next_tick_that_may_differ(tick, now)
            if resume > self.ticks:
                for reason in reasons:
                    self.skipped[reason] += resume - self.ticks
                self.ticks = resume

    def _next_tick_that_may_differ(self, tick: float, now: float) -> int:
        """Index of the first tick after ``tick`` whose inputs can differ from ``tick``'s."""
        changes = []
        for buffer in self.observations.buffers.values():
            stamp = buffer.next_stamp_after(tick + STAMP_TOLERANCE_S)
            if stamp is not None:  # seen by ticks from stamp - tolerance on
                changes.append(stamp - STAMP_TOLERANCE_S)
        stamp = self.commands.buffers[ACTION].next_stamp_after(tick + self.period - 1e-9)
        if stamp is not None:  # the action of ticks from stamp - period on
            changes.append(stamp - self.period + 1e-9)
        # No such sample yet: ticks stay undecided until they turn hopeless.
        change = min(changes) if changes else now - self.max_age - self.period
        return max(self.ticks, math.ceil((change - self.origin) / self.period - 1e-9))


# ----------------------------------------------------------------------------- dataset


def free_megabytes(path: Path) -> float:
    """Free space on the file system that holds ``path`` (or its nearest existing parent)."""
    probe = path
    while not probe.exists():
        probe = probe.parent
    return shutil.disk_usage(probe).free / 2**20


def _incompatibilities(info: dict, fps: int, features: dict) -> list[str]:
    problems = []
    if info.get("fps") != fps:
        problems.append(f"fps {info.get('fps')} (recorder: {fps})")
    existing = info.get("features", {})
    for key, spec in features.items():
        if key not in existing:
            problems.append(f"no feature {key!r}")
        elif existing[key].get("dtype") != spec["dtype"] or list(existing[key]["shape"]) != list(
            spec["shape"]
        ):
            problems.append(
                f"{key}: {existing[key].get('dtype')} {list(existing[key]['shape'])} "
                f"(recorder: {spec['dtype']} {list(spec['shape'])})"
            )
        elif spec.get("names") and existing[key].get("names") not in (None, spec["names"]):
            problems.append(f"{key}: names {existing[key]['names']} (recorder: {spec['names']})")
    defaults = {"timestamp", "frame_index", "episode_index", "index", "task_index"}
    extra = sorted(set(existing) - set(features) - defaults)
    if extra:
        problems.append(f"features the recorder does not write: {extra}")
    return problems


def _readable_parquet(path: Path) -> bool:
    import pyarrow.parquet as pq

    try:
        pq.read_metadata(path)
    except Exception:  # noqa: BLE001 - any unreadable file (no footer, empty, cut short)
        return False
    return True


def _referenced_files(root: Path, episode_files: list[Path]) -> set[Path]:
    """Data and video files that the saved episodes' metadata points at."""
    import pandas as pd

    info = json.loads((root / "meta" / "info.json").read_text())
    video_keys = [key for key, spec in info["features"].items() if spec["dtype"] == "video"]
    referenced = set()
    for path in episode_files:
        for _, row in pd.read_parquet(path).iterrows():
            chunk, file = row["data/chunk_index"], row["data/file_index"]
            referenced.add(root / info["data_path"].format(chunk_index=chunk, file_index=file))
            for key in video_keys:
                chunk, file = row[f"videos/{key}/chunk_index"], row[f"videos/{key}/file_index"]
                referenced.add(
                    root
                    / info["video_path"].format(video_key=key, chunk_index=chunk, file_index=file)
                )
    return referenced


def _read_info(info_path: Path) -> dict | None:
    """The dataset's meta/info.json; None if it is unreadable and nothing else was ever
    written (a recorder stopped while LeRobot created the dataset, which writes info.json in
    place). RecordingError if it is unreadable beside saved data: never guess, never delete."""
    try:
        return json.loads(info_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        root = info_path.parent.parent
        ours = {info_path, info_path.with_name(EMBEDDED_MAPPING_FILE)}  # written at creation
        others = [p for p in root.rglob("*") if p.is_file() and p not in ours]
        if not others:
            return None
        raise RecordingError(
            f"{info_path} is not valid JSON ({error}), probably cut short by a killed writer; "
            f"the {len(others)} other file(s) of the dataset are untouched. Restore info.json "
            "or record into another --root."
        ) from error


def _uncounted(path: Path, counted: int) -> bool:
    """An episode-metadata file of episodes info.json does not count (a publish cut short)."""
    import pyarrow.parquet as pq

    indices = pq.read_table(path, columns=["episode_index"]).column(0).to_pylist()
    return bool(indices) and min(indices) >= counted


def set_aside_interrupted(root: Path) -> list[Path]:
    """Move what no counted episode refers to (a save cut short, temporary frames) into
    ``<root>/.interrupted/<time>/``; returns what was moved. Nothing is deleted."""
    counted = json.loads((root / "meta" / "info.json").read_text())["total_episodes"]
    episode_files = sorted(root.glob("meta/episodes/*/*.parquet"))
    candidates = [p for p in episode_files if not _readable_parquet(p) or _uncounted(p, counted)]
    referenced = _referenced_files(root, [p for p in episode_files if p not in candidates])
    candidates += [
        p
        for pattern in ("data/*/*.parquet", "videos/*/*/*.mp4")
        for p in root.glob(pattern)
        if p not in referenced
    ]
    candidates += [p for p in (root / "images",) if p.exists()]
    candidates += [p for p in root.iterdir() if p.is_dir() and p.name.startswith("tmp")]
    if not candidates:
        return []
    target = root / ORPHANS_DIR / time.strftime("%Y%m%d-%H%M%S")
    target.mkdir(parents=True, exist_ok=True)
    for path in candidates:
        shutil.move(str(path), str(target / str(path.relative_to(root)).replace("/", "__")))
    return candidates


@dataclass
class WriterState:
    saved_episodes: int = 0
    pending_saves: int = 0
    frames: int = 0  # frames of the episode being written
    failed: bool = False
    last_error: str = ""


def video_encoding(vcodec: str | None = None, streaming: bool = True) -> dict[str, Any]:
    """LeRobotDataset.create/resume arguments: ``vcodec`` (None: LeRobot's default) and, with
    ``streaming``, LeRobot's streaming encoder (each camera encoded on its own thread as frames
    arrive: a live recorder's cost is spread over the episode); without it, LeRobot writes PNG
    frames and encodes the cameras in parallel processes when the episode is saved (faster
    overall on 2 cores: for conversions). ValueError, naming the choices, for a codec LeRobot
    does not know."""
    from lerobot.configs.video import RGBEncoderConfig

    encoder = RGBEncoderConfig() if vcodec is None else RGBEncoderConfig(vcodec=vcodec)
    return {"streaming_encoding": streaming, "rgb_encoder": encoder}


class DatasetWriter:
    """A LeRobotDataset on its own thread: create or resume, add frames, save or discard."""

    def __init__(
        self,
        root: str | Path,
        repo_id: str,
        fps: int,
        features: dict[str, dict],
        robot_type: str | None = None,
        use_videos: bool = True,
        min_free_mb: float = 200.0,
        vcodec: str = "libsvtav1",
        queue_size: int = 600,
        mapping: FeatureMapping | None = None,
    ) -> None:
        self.root = Path(root)
        self.repo_id = repo_id
        self.fps = int(fps)
        self.features = features
        self.robot_type = robot_type
        self.use_videos = use_videos
        self.min_free_mb = float(min_free_mb)
        self.vcodec = vcodec
        self.mapping = mapping  # written into meta/, so the mapping travels with the data
        self.state = WriterState()
        self.set_aside: list[Path] = []
        self._lock = threading.Lock()
        # Bounded: a writer that falls behind shows up as an error, not as unbounded memory.
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=queue_size)
        self._thread: threading.Thread | None = None
        self.dataset = None

    # --- set-up (caller's thread) --------------------------------------------------------
    def open(self) -> DatasetWriter:
        """Create the dataset, or resume a compatible one; RecordingError otherwise."""
        from lerobot.datasets.lerobot_dataset import LeRobotDataset

        if self.fps != float(self.fps) or self.fps <= 0:
            raise RecordingError(f"LeRobot datasets need a positive integer fps, got {self.fps}")
        self.check_space()
        if self.root.is_dir():
            staged_saves.recover(self.root)  # a publish cut short: undone before any check
        info_path = self.root / "meta" / "info.json"
        resuming = False
        if info_path.is_file():
            info = _read_info(info_path)  # None: a creation cut short, nothing else written
            problems = [] if info is None else _incompatibilities(info, self.fps, self.features)
            if problems:
                raise RecordingError(
                    f"{self.root} holds a dataset this recorder cannot append to: "
                    + "; ".join(problems)
                    + ". Record into another --root, or change the feature mapping."
                )
            if info is None or info.get("total_episodes", 0) == 0:
                shutil.rmtree(self.root)  # created, never saved to: nothing to keep
            else:
                self.set_aside = set_aside_interrupted(self.root)
                resuming = True
        elif self.root.exists() and (not self.root.is_dir() or any(self.root.iterdir())):
            raise RecordingError(
                f"{self.root} exists and is not a LeRobotDataset: refusing to write into it"
            )
        elif self.root.exists():
            self.root.rmdir()  # LeRobot creates the root itself
        if not resuming:
            # Writes meta/info.json alone (one cut short is handled above); episodes are staged.
            LeRobotDataset.create(
                self.repo_id,
                fps=self.fps,
                features=self.features,
                root=self.root,
                robot_type=self.robot_type,
                use_videos=self.use_videos,
                **self._encoding(),
            )
        if self.mapping is not None:
            path = self.root / "meta" / EMBEDDED_MAPPING_FILE
            try:
                save_mapping(self.mapping, path)
            except OSError as error:
                raise RecordingError(
                    f"cannot write the feature mapping to {path}: {error}"
                ) from None
        self.dataset = self._resume()
        self.state.saved_episodes = self.dataset.meta.total_episodes
        self._thread = threading.Thread(target=self._run, name="dataset-writer", daemon=True)
        self._thread.start()
        return self

    def _encoding(self) -> dict[str, Any]:
        return video_encoding(self.vcodec)

    def _resume(self) -> Any:  # noqa: ANN401 - LeRobotDataset, imported lazily
        """The dataset, resumed in a fresh staging copy for the next episode."""
        from lerobot.datasets.lerobot_dataset import LeRobotDataset

        staging = staged_saves.stage(self.root)
        return LeRobotDataset.resume(self.repo_id, root=staging, **self._encoding())

    def check_space(self) -> None:
        free = free_megabytes(self.root)
        if free < self.min_free_mb:
            raise RecordingError(
                f"only {free:.0f} MB free for {self.root} (need min_free_mb={self.min_free_mb:g}):"
                " free some space or record elsewhere"
            )

    # --- episode control (any thread) ----------------------------------------------------
    @property
    def next_episode_index(self) -> int:
        with self._lock:
            return self.state.saved_episodes + self.state.pending_saves

    def add_frame(self, frame: dict[str, Any], task: str) -> None:
        self._put("frame", {**frame, "task": task})

    def save_episode(self) -> None:
        with self._lock:
            self.state.pending_saves += 1
        try:
            self._put("save", None)
        except RecordingError:
            with self._lock:  # not queued: nothing pending
                self.state.pending_saves -= 1
            raise

    def discard_episode(self) -> None:
        self._put("discard", None)

    def close(self, timeout: float = 120.0) -> None:
        """Write what is queued, then stop the thread (no finalize needed: see the docstring)."""
        if self._thread is None:
            return
        self._queue.put(("close", None))
        self._thread.join(timeout)
        self._thread = None

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until everything queued so far is written (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._queue.unfinished_tasks == 0:
                    return True
            time.sleep(0.01)
        return False

    def _put(self, kind: str, payload: Any) -> None:  # noqa: ANN401
        if self.state.failed:
            raise RecordingError(f"the dataset writer stopped: {self.state.last_error}")
        try:
            self._queue.put_nowait((kind, payload))
        except queue.Full:
            raise RecordingError(
                f"the dataset writer is {self._queue.maxsize} items behind: frame dropped"
            ) from None

    # --- the writer thread -----------------------------------------------------------------
    def _run(self) -> None:
        while True:
            kind, payload = self._queue.get()
            try:
                if kind == "close":
                    self._close_files()
                    shutil.rmtree(self.root / staged_saves.STAGING_DIR, ignore_errors=True)
                    return
                if not self.state.failed:
                    self._handle(kind, payload)
            except Exception as error:  # noqa: BLE001 - reported, and the episode dropped
                self._fail(kind, error)
            finally:
                self._queue.task_done()

    def _handle(self, kind: str, payload: Any) -> None:  # noqa: ANN401
        dataset = self.dataset
        if kind == "frame":
            dataset.add_frame(payload)
            with self._lock:
                self.state.frames += 1
        elif kind == "discard":
            if dataset.has_pending_frames():
                dataset.clear_episode_buffer()
            with self._lock:
                self.state.frames = 0
        elif kind == "save":
            saved = False
            if dataset.has_pending_frames():
                try:
                    self.check_space()
                except RecordingError as error:
                    # Refused before anything is written: drop the episode, stay usable.
                    dataset.clear_episode_buffer()
                    with self._lock:
                        self.state.last_error = f"episode not saved: {error}"
                else:
                    dataset.save_episode()
                    self._close_files()
                    staged_saves.publish(dataset.root, self.root)
                    saved = True
            with self._lock:
                self.state.pending_saves -= 1
                self.state.saved_episodes += saved
                self.state.frames = 0
            if saved:
                self.dataset = self._resume()  # new files for the next episode

    def _close_files(self) -> None:
        # Both parquet writers closed (their footers on disk) and the videos flushed.
        self.dataset.finalize()

    def _fail(self, kind: str, error: Exception) -> None:
        message = f"{kind} failed: {type(error).__name__}: {error}"
        with self._lock:
            self.state.failed, self.state.last_error = True, message
            if kind == "save":
                self.state.pending_saves -= 1
            self.state.frames = 0
        # Drop the broken episode and move its partial files aside (a rename: no space
        # needed), so the dataset on disk loads with every episode saved before.
        for cleanup in (self.dataset.clear_episode_buffer, self._close_files):
            try:
                cleanup()
            except Exception:  # noqa: BLE001 - best effort on a failing disk
                pass
        try:
            staged_saves.recover(self.root)
            self.set_aside += set_aside_interrupted(self.root)
        except Exception as error:  # noqa: BLE001
            with self._lock:
                self.state.last_error += f"; could not set partial files aside: {error}"
