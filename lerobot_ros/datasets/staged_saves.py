"""Atomic episode saves: LeRobot writes each episode into a staging copy of the dataset's
metadata, and the finished files are renamed into the dataset, ``meta/info.json`` last.

LeRobot counts a dataset's episodes and frames from ``meta/info.json`` alone, and after a
resume it writes every episode into new data, video and episode-metadata files. So if files
appear in the dataset only complete (a rename) and ``info.json`` counts the episode only
after all of them are there, a kill at any instant leaves a dataset that loads with every
episode it counts. A publish, in order:

1. the new data and video files, then the episode's new metadata file (all uncounted);
2. the versions of the other rewritten metadata files (``stats.json``, ``tasks.parquet``)
   that the dataset holds now, kept in ``.staging/rollback`` (renamed into place complete);
3. those files replaced, then ``info.json``: the commit;
4. the rollback removed.

:func:`recover` (when a writer opens the dataset again) puts the rollback back if the commit
did not happen; the uncounted files are then set aside by ``recording.set_aside_interrupted``.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
from pathlib import Path

STAGING_DIR = ".staging"  # inside the dataset: renames never cross a file system
INFO = Path("meta") / "info.json"
EPISODES_META = Path("meta") / "episodes"
PAYLOAD_DIRS = ("data", "videos")
_MANIFEST = "manifest.json"


class PublishError(RuntimeError):
    """A staged episode that cannot be published without overwriting the dataset's files."""


def staging_root(root: Path) -> Path:
    return Path(root) / STAGING_DIR / "dataset"


def _rollback_dir(root: Path) -> Path:
    return Path(root) / STAGING_DIR / "rollback"


def stage(root: Path) -> Path:
    """A fresh staging dataset for the next episode: a copy of ``root``'s metadata (LeRobot
    resumes from the metadata alone)."""
    staging = staging_root(root)
    if staging.exists():
        shutil.rmtree(staging)
    staging.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(Path(root) / "meta", staging / "meta")
    return staging


def _durable(path: Path) -> None:
    with open(path, "rb") as file:
        os.fsync(file.fileno())


def _move(source: Path, target: Path) -> None:
    """``source`` to ``target`` in one rename, its data on disk first."""
    target.parent.mkdir(parents=True, exist_ok=True)
    _durable(source)
    os.replace(source, target)


def publish(staging: Path, root: Path) -> list[Path]:
    """Move what LeRobot wrote into ``staging`` into ``root`` in commit order (see the module
    docstring); returns the published paths, relative to ``root``."""
    root = Path(root)
    payload, episode_meta, metadata = [], [], []
    for path in sorted(p for p in staging.rglob("*") if p.is_file()):
        relative = path.relative_to(staging)
        target = root / relative
        top = relative.parts[0]
        if relative.parent == INFO.parent:  # meta/*.json, meta/*.parquet: rewritten in place
            if not target.exists() or not filecmp.cmp(path, target, shallow=False):
                metadata.append(relative)
        elif top in PAYLOAD_DIRS or relative.parts[:2] == EPISODES_META.parts:
            if relative.parts[:2] == EPISODES_META.parts and target.exists():
                continue  # the copy staged from the dataset
            if target.exists():
                raise PublishError(f"{target} exists: LeRobot wrote the episode over it")
            (payload if top in PAYLOAD_DIRS else episode_meta).append(relative)
        # anything else is LeRobot's scratch (encoder temporaries): not part of the dataset
    for relative in payload + episode_meta:
        _move(staging / relative, root / relative)
    others = [r for r in metadata if r != INFO]
    if others:
        _keep_rollback(root, others)
    for relative in others:
        _move(staging / relative, root / relative)
    if INFO in metadata:
        _move(staging / INFO, root / INFO)  # the commit
    shutil.rmtree(_rollback_dir(root), ignore_errors=True)
    return payload + episode_meta + metadata


def _episodes_counted(root: Path) -> int | None:
    try:
        return int(json.loads((root / INFO).read_text())["total_episodes"])
    except (OSError, ValueError, KeyError):
        return None


def _keep_rollback(root: Path, replaced: list[Path]) -> None:
    """The dataset's versions of ``replaced`` (and which of them it lacks), with the episode
    count they go with, in a rollback directory that appears complete or not at all."""
    rollback = _rollback_dir(root)
    shutil.rmtree(rollback, ignore_errors=True)
    building = rollback.with_name("rollback.tmp")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    absent = []
    for relative in replaced:
        if (root / relative).exists():
            shutil.copy2(root / relative, building / relative.name)
            _durable(building / relative.name)
        else:
            absent.append(str(relative))
    manifest = {"episodes": _episodes_counted(root), "absent": absent}
    (building / _MANIFEST).write_text(json.dumps(manifest))
    _durable(building / _MANIFEST)
    os.replace(building, rollback)


def recover(root: Path) -> list[Path]:
    """After a kill: undo a publish cut short before its commit (the metadata files it had
    replaced go back), and drop the staging area. Returns the restored paths (relative)."""
    root = Path(root)
    rollback = _rollback_dir(root)
    restored: list[Path] = []
    manifest_path = rollback / _MANIFEST
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        if _episodes_counted(root) == manifest["episodes"]:  # info.json not replaced yet
            for kept in rollback.iterdir():
                if kept.name != _MANIFEST:
                    os.replace(kept, root / INFO.parent / kept.name)
                    restored.append(INFO.parent / kept.name)
            for relative in manifest["absent"]:
                (root / relative).unlink(missing_ok=True)
                restored.append(Path(relative))
    shutil.rmtree(root / STAGING_DIR, ignore_errors=True)
    return restored
