"""Bad input into live recording (lerobot_ros/datasets/recording.py), without ROS.

* ``LiveSampler`` gets random streams: stamps jittered, repeated, out of order, jumping
  ahead; polls at any clock, going back too or far ahead of every stamp (a driver stamping
  0 or sim time under a wall clock); episodes restarted midway. Every value carries its own
  stamp, so each frame shows which samples it was built from. Property: frames are on the
  episode's 1/fps grid, in order, each tick at most once and only once the clock has passed
  it; every input is the newest sample not newer than the tick (within the stamp tolerance)
  and at most max_age old, the action the newest command before the next tick; a poll
  returns with no tick left that is already too old, having evaluated at most the ticks
  its samples span (the ticks of a clock gap are skipped and counted at once).
* ``DatasetWriter`` gets episodes whose frames carry random unicode tasks (control
  characters, NUL, right-to-left marks, emoji, 10k-character strings). Property: the
  dataset LeRobot loads back holds every frame with exactly its task.
"""

from __future__ import annotations

import math
import tempfile
from collections import deque
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from bad_input_support import TALLY, examples, texts
from hypothesis import given
from hypothesis import strategies as st

from lerobot_ros.datasets import recording
from lerobot_ros.datasets.frames import STAMP_TOLERANCE_S
from lerobot_ros.datasets.recording import DatasetWriter, LiveSampler
from lerobot_ros.features.alignment import NotReady
from lerobot_ros.features.mapping import ACTION, OBS_ENVIRONMENT_STATE, OBS_STATE, parse_mapping

pytestmark = pytest.mark.bad_input

CAPACITY = 8  # small, so the buffers overflow within one example
# Clock jumps far past every stamp: a day, and the wall clock's seconds since 1970.
FAR_AHEAD_S = (86_400.0, 1.7e9)
# The streams' stamps span under 100 s: at 30 fps, about 3000 ticks. A poll evaluating more
# walks a clock gap tick by tick.
MAX_TICKS_PER_POLL = 10_000


def _mapping(fps: int, max_age: float):
    return parse_mapping(
        {
            "robot": "panda",
            "fps": fps,
            "max_age": max_age,
            "observation": {
                "state": {"topic": "/joint_states"},
                "environment_state": {"topic": "/scene/markers", "marker": "cube"},
            },
            "action": {"topic": "/position_controller/commands"},
        },
        "robustness-sampler",
    )


SIZES = {OBS_STATE: 8, OBS_ENVIRONMENT_STATE: 7, ACTION: 8}


class BufferModel:
    """What a buffer holds: samples since the last stamp that went back, the newest kept."""

    def __init__(self) -> None:
        self.samples: deque[float] = deque(maxlen=CAPACITY)

    def add(self, stamp: float) -> None:
        if self.samples and stamp < self.samples[-1]:
            self.samples.clear()
        self.samples.append(stamp)

    def as_of(self, t: float) -> float | None:
        older = [s for s in self.samples if s <= t]
        return older[-1] if older else None


@st.composite
def sampler_streams(draw: st.DrawFn) -> tuple[int, float, list[tuple]]:
    """Rounds of samples about one period apart, each key sometimes late, missing, repeated
    or out of order, polls at a clock that may lag, jump or go back, episodes restarted."""
    fps = draw(st.sampled_from([5, 10, 30]))
    period = 1.0 / fps
    max_age = draw(st.sampled_from([0.02, 0.1, 0.5, 2.0]))
    t = draw(st.floats(0.0, 1000.0))
    events: list[tuple] = [("begin",)] if draw(st.integers(0, 4)) else []
    for _ in range(draw(st.integers(3, 25))):
        t += draw(st.sampled_from([period, period, period, 0.0, period / 3, 2.5 * period]))
        t += draw(st.one_of(st.just(0.0), st.floats(-1e-5, 1e-5), st.floats(-0.5, 3.0)))
        t = max(t, 0.0)
        for key in (OBS_STATE, OBS_ENVIRONMENT_STATE, ACTION):
            if draw(st.integers(0, 5)):
                events.append(("add", key, max(0.0, t + draw(st.floats(-period, period / 2)))))
        kind = draw(st.sampled_from(["poll", "poll", "poll", "none", "begin", "end", "far"]))
        if kind == "poll":
            events.append(("poll", max(0.0, t + draw(st.floats(-0.5, 1.0)))))
        elif kind == "far":
            events.append(("poll", t + draw(st.sampled_from(FAR_AHEAD_S))))
        elif kind != "none":
            events.append((kind,))
    events.append(("poll", t + draw(st.floats(0.0, 3.0))))
    return fps, max_age, events


def _stamp_of(value: np.ndarray) -> float:
    return float(value[0])


@examples(150)
@given(sampler_streams())
def test_live_sampler_frames_are_on_the_grid_and_never_from_the_future(stream):
    fps, max_age, events = stream
    mapping = _mapping(fps, max_age)
    sampler = LiveSampler(mapping, fps, capacity=CAPACITY)
    models = {key: BufferModel() for key in SIZES}
    calls: list[tuple[float, object]] = []
    real_sample_frame = recording.sample_frame

    def spy(observations, commands, tick, deadline, *compose):  # noqa: ANN001 - sample_frame's
        result = real_sample_frame(observations, commands, tick, deadline, *compose)
        calls.append((tick, deadline, result))
        # Raised here, not after the poll: walking a clock gap tick by tick takes days.
        assert len(calls) <= MAX_TICKS_PER_POLL, f"over {MAX_TICKS_PER_POLL} ticks in one poll"
        return result

    last_tick = -math.inf

    def check_poll(now: float) -> tuple[int, int]:
        """Poll once and check every tick it evaluated; (frames, skipped ticks)."""
        nonlocal last_tick
        calls.clear()
        first_index = sampler.ticks
        skipped_before = sum(sampler.skipped.values())
        frames = sampler.poll(now)
        built = [(tick, result) for tick, _, result in calls if not isinstance(result, NotReady)]
        assert len(frames) == len(built)
        for tick, _, _ in calls:  # on the grid, in order, ticks of a clock gap left out
            index = round((tick - sampler.origin) * fps)
            assert first_index <= index < sampler.ticks, (index, first_index, sampler.ticks)
            assert tick == pytest.approx(sampler.origin + index / fps, rel=1e-12, abs=1e-9)
            assert last_tick < tick <= now, (tick, last_tick, now)
            last_tick = tick
        if sampler.active and sampler.origin is not None:
            # It returns only once the next tick is still open (not too old to complete).
            assert now <= sampler._tick(sampler.ticks) + max_age + 1.0 / fps
        for frame, (tick, _) in zip(frames, built, strict=True):
            for key in (OBS_STATE, OBS_ENVIRONMENT_STATE):
                expected = models[key].as_of(tick + STAMP_TOLERANCE_S)
                assert _stamp_of(frame[key]) == pytest.approx(expected, rel=1e-6), (key, tick)
                assert tick + STAMP_TOLERANCE_S - expected <= max_age + 1e-9
                assert frame[key].dtype == np.float32
            command = models[ACTION].as_of(tick + 1.0 / fps - 1e-9)
            assert _stamp_of(frame[ACTION]) == pytest.approx(command, rel=1e-6)
            assert command < tick + 1.0 / fps
        # A tick passed without a frame is skipped and counted, never written.
        passed = sampler.ticks - first_index
        skipped_now = sum(sampler.skipped.values()) - skipped_before
        assert skipped_now >= passed - len(frames)
        return len(frames), passed - len(frames)

    produced, skipped = 0, 0
    with (
        TALLY.attempt("recording.LiveSampler (streams)") as attempt,
        mock.patch.object(recording, "sample_frame", spy),
    ):
        for event in events:
            if event[0] == "add":
                _, key, stamp = event
                sampler.add(key, stamp, np.full(SIZES[key], stamp))
                models[key].add(stamp)
            elif event[0] == "begin":
                sampler.begin()
                last_tick = -math.inf
            elif event[0] == "end":
                sampler.end()
            else:
                frames, not_written = check_poll(event[1])
                produced, skipped = produced + frames, skipped + not_written
        if produced:
            attempt.accepted("frames written" + (", stale ticks skipped" if skipped else ""))
        elif skipped:
            attempt.rejected("every tick skipped (stale or missing inputs)")
        else:
            attempt.accepted("no tick final")


def test_polling_far_past_the_episode_start_does_bounded_work():
    """A JointState stamped 0 (a driver without a clock) under a wall clock: one poll skips
    the gap at once, and samples on the wall clock make frames again."""
    fps, max_age, now = 30, 0.1, 1.7e9  # the wall clock's seconds since 1970
    sampler = LiveSampler(_mapping(fps, max_age), fps)
    sampler.begin()
    for key, size in SIZES.items():
        sampler.add(key, 0.0, np.zeros(size))
    calls = 0
    real_sample_frame = recording.sample_frame

    def counting(*args):  # noqa: ANN002
        nonlocal calls
        calls += 1
        if calls > MAX_TICKS_PER_POLL:  # ~1.7e9 s * 30 fps would follow: stop the test here
            raise RuntimeError(f"LiveSampler.poll evaluated over {MAX_TICKS_PER_POLL} ticks")
        return real_sample_frame(*args)

    with mock.patch.object(recording, "sample_frame", counting):
        assert len(sampler.poll(now)) <= max_age * fps + 1  # the ticks the 0 samples cover
        assert calls <= 10, calls
        assert sum(sampler.skipped.values()) >= (now - 1.0) * fps
        assert now - max_age - 1.0 / fps <= sampler._tick(sampler.ticks) <= now
        frames = []
        for k in range(1, 11):
            stamp = now + k / fps
            for key, size in SIZES.items():
                sampler.add(key, stamp, np.full(size, k, dtype=float))
            frames += sampler.poll(stamp + 0.5 / fps)
    assert calls <= 30, calls
    assert len(frames) >= 5, (len(frames), dict(sampler.skipped))


# --- unicode tasks into a dataset ----------------------------------------------------------------

tasks = st.one_of(texts, st.sampled_from(["pick up the cube", "1", "NaN", "None", "null", "  "]))


def test_unicode_tasks_round_trip_through_a_dataset():
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    mapping = _mapping(10, 0.2)
    written: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "dataset"
        writer = DatasetWriter(
            root, "robustness/tasks", 10, mapping.lerobot_features(), min_free_mb=0.01
        ).open()

        @examples(8)
        @given(st.lists(tasks, min_size=1, max_size=5))
        def write_episode(episode_tasks):
            with TALLY.attempt("recording.DatasetWriter (unicode tasks)") as attempt:
                for task in episode_tasks:
                    frame = {
                        OBS_STATE: np.full(8, len(written), np.float32),
                        OBS_ENVIRONMENT_STATE: np.zeros(7, np.float32),
                        ACTION: np.zeros(8, np.float32),
                    }
                    writer.add_frame(frame, task)
                    written.append(task)
                writer.save_episode()
                assert writer.wait_idle(120), "the writer did not finish"
                assert not writer.state.failed, writer.state.last_error
                attempt.accepted()

        write_episode()
        writer.close()
        dataset = LeRobotDataset("robustness/tasks", root=root)
        assert len(dataset) == len(written) and dataset.num_episodes == writer.state.saved_episodes
        for index, task in enumerate(written):
            item = dataset[index]
            assert int(item[OBS_STATE][0]) == index
            assert item["task"] == task, (index, task, item["task"])
        assert set(dataset.meta.tasks.index) == set(written)


def test_stamps_jumping_far_ahead_are_caught_up_at_once():
    """A first sample stamped 0, then stamps on a wall clock (1.7e9 s): the ticks between
    are skipped in one step, and frames resume on the new stamps."""
    import time

    mapping = _mapping(10, 0.2)
    sampler = LiveSampler(mapping, 10)
    sampler.begin()
    for key in (*mapping.input_keys, "action"):
        sampler.add(key, 0.0, np.zeros(len(mapping.state.names)))
    for key in mapping.input_keys:
        sampler.add(key, 1.7e9, np.zeros(len(mapping.state.names)))
    sampler.add("action", 1.7e9 - 100, np.zeros(len(mapping.state.names)))
    started = time.monotonic()
    sampler.poll(1.7e9 + 1)
    assert time.monotonic() - started < 1.0
    assert sum(sampler.skipped.values()) > 1e9
