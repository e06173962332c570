"""Live sampling and the durable dataset writer, without ROS."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
from synthetic_bag import mapping_dict

from lerobot_ros.datasets.recording import (
    ORPHANS_DIR,
    DatasetWriter,
    LiveSampler,
    RecordingError,
)
from lerobot_ros.features.mapping import (
    EMBEDDED_MAPPING_FILE,
    load_mapping,
    mapping_document,
    parse_mapping,
)

FPS = 10


@pytest.fixture
def mapping():
    return parse_mapping(mapping_dict(), "test-mapping")


def _feed(sampler: LiveSampler, mapping, t: float, value: float, keys=None) -> None:
    keys = keys or mapping.input_keys
    for key in keys:
        if key.startswith("observation.images."):
            spec = mapping.image(key)
            sample = np.full((spec.height, spec.width, 3), int(value) % 256, np.uint8)
        elif key == "observation.environment_state":
            sample = np.full(len(mapping.environment_state.fields), value)
        else:
            sample = np.full(len(mapping.state.names), value)
        sampler.add(key, t, sample)


def test_ticks_start_at_the_first_state_and_take_the_as_of_sample(mapping):
    sampler = LiveSampler(mapping, FPS)
    _feed(sampler, mapping, 0.95, -1.0)  # before the episode: usable only as history
    sampler.begin()
    frames = []
    for step in range(12):
        t = 1.0 + step * 0.05  # inputs at 20 Hz, dataset at 10 Hz
        _feed(sampler, mapping, t, step)
        sampler.add("action", t + 0.01, np.full(len(mapping.action.names), 100.0 + step))
        frames += sampler.poll(now=t + 0.02)
    # Ticks 1.0, 1.1, ... 1.4 are final (1.5 waits for its next tick to pass).
    states = [float(f["observation.state"][0]) for f in frames]
    assert states == [0, 2, 4, 6, 8]
    # The action of a tick is the newest command before the next tick: the answer to it.
    actions = [float(f["action"][0]) for f in frames]
    assert actions == [101.0, 103.0, 105.0, 107.0, 109.0]
    assert all(f["observation.state"].dtype == np.float32 for f in frames)


def test_a_stale_input_skips_the_tick_and_says_why(mapping):
    sampler = LiveSampler(mapping, FPS)
    sampler.begin()
    image_keys = [k for k in mapping.input_keys if k.startswith("observation.images.")]
    others = [k for k in mapping.input_keys if k not in image_keys]
    _feed(sampler, mapping, 1.0, 0)
    sampler.add("action", 1.0, np.zeros(len(mapping.action.names)))
    for step in range(1, 8):  # the cameras stop after the first sample
        t = 1.0 + step * 0.1
        _feed(sampler, mapping, t, step, keys=others)
        sampler.add("action", t, np.zeros(len(mapping.action.names)))
    frames = sampler.poll(now=1.75)
    assert len(frames) == 1  # only the tick at 1.0 had fresh images
    assert any("stale" in reason for reason in sampler.skipped), sampler.skipped


def test_nothing_is_sampled_outside_an_episode(mapping):
    sampler = LiveSampler(mapping, FPS)
    _feed(sampler, mapping, 1.0, 0)
    assert sampler.poll(now=5.0) == []
    sampler.begin()
    sampler.end()
    assert sampler.poll(now=5.0) == []


def _frame(mapping, value: int) -> dict:
    frame = {
        "observation.state": np.full(len(mapping.state.names), value, np.float32),
        "action": np.full(len(mapping.action.names), value, np.float32),
    }
    if mapping.environment_state is not None:
        frame["observation.environment_state"] = np.zeros(
            len(mapping.environment_state.fields), np.float32
        )
    for image in mapping.images:
        frame[image.key] = np.full((image.height, image.width, 3), value % 256, np.uint8)
    return frame


def _writer(root, mapping, **kwargs) -> DatasetWriter:
    return DatasetWriter(
        root,
        "test/writer",
        FPS,
        mapping.lerobot_features(),
        min_free_mb=0.01,
        mapping=mapping,
        **kwargs,
    ).open()


def _load(root):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    return LeRobotDataset("test/writer", root=root)


def _write_episode(writer, mapping, length: int, start: int = 0) -> None:
    for i in range(length):
        writer.add_frame(_frame(mapping, start + i), "task")
    writer.save_episode()


def test_every_saved_episode_is_closed_on_disk(mapping, tmp_path):
    """No finalize(): each saved episode must already be readable (as after a kill)."""
    root = tmp_path / "dataset"
    writer = _writer(root, mapping)
    written = load_mapping(root / "meta" / EMBEDDED_MAPPING_FILE)  # travels with the data
    assert mapping_document(written) == mapping_document(mapping)
    _write_episode(writer, mapping, 5)
    _write_episode(writer, mapping, 7, start=50)
    for i in range(3):  # an episode in progress, never saved
        writer.add_frame(_frame(mapping, 90 + i), "task")
    assert writer.wait_idle()
    dataset = _load(root)  # the writer is still open, as in a killed process
    assert dataset.num_episodes == 2 and len(dataset) == 12
    assert float(dataset[5]["observation.state"][0]) == 50.0
    writer.close()


def test_resume_appends_and_incompatible_datasets_are_refused(mapping, tmp_path):
    root = tmp_path / "dataset"
    writer = _writer(root, mapping)
    _write_episode(writer, mapping, 4)
    writer.close()
    resumed = _writer(root, mapping)
    assert resumed.next_episode_index == 1
    _write_episode(resumed, mapping, 3, start=10)
    resumed.close()
    assert _load(root).num_episodes == 2

    with pytest.raises(RecordingError, match="fps 10 \\(recorder: 20\\)"):
        DatasetWriter(root, "test/writer", 20, mapping.lerobot_features()).open()
    other = parse_mapping(
        {**mapping_dict(), "observation": {**mapping_dict()["observation"], "images": {}}}, "x"
    )
    with pytest.raises(RecordingError, match="features the recorder does not write"):
        DatasetWriter(root, "test/writer", FPS, other.lerobot_features()).open()
    assert _load(root).num_episodes == 2  # refusing touched nothing


def test_an_info_json_cut_short_is_recreated_only_when_nothing_was_saved(mapping, tmp_path):
    # A recorder stopped while LeRobot wrote info.json of a new dataset (seen in a test run).
    root = tmp_path / "created"
    _writer(root, mapping).close()
    info = root / "meta" / "info.json"
    written = {p for p in root.rglob("*") if p.is_file()}
    assert written == {info, root / "meta" / EMBEDDED_MAPPING_FILE}
    info.write_text(info.read_text()[:300])
    writer = _writer(root, mapping)
    _write_episode(writer, mapping, 3)
    writer.close()
    assert _load(root).num_episodes == 1
    # The same beside saved episodes: refused, naming the file, and nothing is touched.
    info.write_text(info.read_text()[:300])
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    with pytest.raises(RecordingError, match=r"info\.json is not valid JSON .* untouched"):
        _writer(root, mapping)
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


def test_files_of_an_interrupted_save_are_set_aside(mapping, tmp_path):
    root = tmp_path / "dataset"
    writer = _writer(root, mapping)
    _write_episode(writer, mapping, 4)
    writer.close()
    # A save cut short: a data file no episode refers to, with no parquet footer.
    stray = root / "data" / "chunk-000" / "file-009.parquet"
    stray.write_bytes(b"PAR1 truncated")
    resumed = _writer(root, mapping)
    assert stray in resumed.set_aside and not stray.exists()
    assert any((root / ORPHANS_DIR).rglob("*file-009.parquet"))
    _write_episode(resumed, mapping, 2)
    resumed.close()
    assert _load(root).num_episodes == 2


def test_a_write_error_is_reported_and_saved_episodes_survive(mapping, tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)])
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root, as on CI)")
    try:
        root = disk / "dataset"
        writer = _writer(root, mapping)
        _write_episode(writer, mapping, 4)
        assert writer.wait_idle()
        free = shutil.disk_usage(disk).free
        (disk / "filler").write_bytes(b"\0" * (free - 4096))
        writer.min_free_mb = 0.0  # let LeRobot itself hit ENOSPC
        _write_episode(writer, mapping, 30, start=100)
        assert writer.wait_idle()
        assert writer.state.failed
        assert "Errno 28" in writer.state.last_error or "No space" in writer.state.last_error
        with pytest.raises(RecordingError, match="writer stopped"):
            writer.add_frame(_frame(mapping, 0), "task")
        writer.close()
        (disk / "filler").unlink()
        assert _load(root).num_episodes == 1
        info = json.loads((root / "meta" / "info.json").read_text())
        assert info["total_episodes"] >= 1
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


class _Killed(BaseException):
    """Stands for a kill: nothing after it runs, no cleanup (not an Exception)."""


def _publish_cut_after(monkeypatch, moves: int) -> list:
    """staged_saves.publish, stopped dead after ``moves`` renames; returns the renamed."""
    from lerobot_ros.datasets import staged_saves

    real, done = staged_saves._move, []

    def move(source, target):  # noqa: ANN001, ANN202
        if len(done) == moves:
            raise _Killed
        real(source, target)
        done.append(target)

    monkeypatch.setattr(staged_saves, "_move", move)
    return done


@pytest.mark.parametrize("moves", range(7))
def test_a_publish_cut_at_any_rename_leaves_a_loadable_dataset(
    mapping, tmp_path, monkeypatch, moves
):
    """Episode 1's publish stopped after each of its renames in turn (data, video, episode
    metadata, stats, tasks, info.json): the dataset loads as it is, and a writer reopening it
    counts what was committed, restores the metadata of an uncommitted publish, and goes on."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    from lerobot_ros.datasets import staged_saves

    root = tmp_path / "dataset"
    writer = _writer(root, mapping)
    _write_episode(writer, mapping, 4)
    writer.close()
    stats_before = (root / "meta" / "stats.json").read_bytes()

    # What the writer's thread does for a save, in this thread, with a new task (so
    # tasks.parquet is rewritten too).
    staging = staged_saves.stage(root)
    dataset = LeRobotDataset.resume("test/writer", root=staging)
    for i in range(3):
        dataset.add_frame({**_frame(mapping, 40 + i), "task": "another task"})
    dataset.save_episode()
    dataset.finalize()
    done = _publish_cut_after(monkeypatch, moves)
    try:
        staged_saves.publish(staging, root)
        committed = True
    except _Killed:
        committed = False
    monkeypatch.undo()
    assert committed == (moves >= 6), done  # 6 renames: the commit is the last
    counted = 2 if committed else 1
    assert _load(root).num_episodes == counted  # as the kill left it

    resumed = _writer(root, mapping)
    if not committed:
        assert (root / "meta" / "stats.json").read_bytes() == stats_before
    assert resumed.next_episode_index == counted
    _write_episode(resumed, mapping, 2, start=70)
    resumed.close()
    reloaded = _load(root)
    assert reloaded.num_episodes == counted + 1
    lengths = [int(e["length"]) for e in reloaded.meta.episodes]
    assert lengths == ([4, 3, 2] if committed else [4, 2])
    assert not (root / staged_saves.STAGING_DIR).exists()
