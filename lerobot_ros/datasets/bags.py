"""rosbag2 recordings (MCAP or sqlite3) <-> LeRobotDataset, through the feature mapping.

``bag2dataset`` reads the mapped topics with ``rosbags`` (no ROS install or rclpy needed),
turns each message into a feature vector with the same adapters the live nodes use
(``lerobot_ros.features.adapters``: rosbags messages have the ROS field names) and samples them
with the same as-of rule (``ObservationAligner``) on a tick grid at the dataset fps:

* tick ``t`` takes, per input, the newest sample with header stamp <= ``t`` and at most
  ``max_age`` old; a tick where an input is missing or stale is skipped and counted;
* the action of tick ``t`` is the newest command before the next tick (stamp < ``t + 1/fps``):
  the command issued in response to the observation at ``t``, LeRobot's frame convention
  (observe, then act). ``std_msgs/Float64MultiArray`` commands have no header, so their stamp
  is the bag's receive time: record with ``ros2 bag record --use-sim-time`` when the graph
  runs on sim time, or commands and observations are on different clocks;
* episodes are the spans of constant ``episode_index`` on ``/task/status`` (first to last
  status of each; ``split="status"``) or the runs of the state topic without a gap longer than
  ``gap_s`` (``split="gap"``); each episode's tick grid starts at its first stamp.

Time is handled in integer nanoseconds, so ticks land exactly on stamps written on the same
grid (``dataset2bag`` output converts back frame for frame).

``dataset2bag`` writes a dataset as an MCAP rosbag2 that ``ros2 bag play`` replays: per frame
JointState, MarkerArray (the environment-state marker), rgb8 Images (PNG CompressedImages for
compressed cameras), the action command and ``/task/status``, all stamped (header and bag
time) with episode time laid end to end.
"""

from __future__ import annotations

import functools
import heapq
import math
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
import yaml
from rosbags.interfaces import Nodetype
from rosbags.rosbag2 import Reader, ReaderError, StoragePlugin, Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from lerobot_ros.datasets.frames import reason_summary, sample_frame
from lerobot_ros.datasets.recording import video_encoding
from lerobot_ros.features.adapters import (
    InputError,
    command_vector,
    input_converters,
    input_header,
    trajectory_target,
)
from lerobot_ros.features.alignment import NotReady, ObservationAligner
from lerobot_ros.features.mapping import (
    ACTION,
    ACTION_MESSAGE_TYPES,
    COMPRESSED_IMAGE_TYPE,
    EMBEDDED_MAPPING_FILE,
    IMAGE_MESSAGE_TYPES,
    IMAGE_TYPE,
    JOINT_STATE_TYPE,
    MARKER_ARRAY_TYPE,
    OBS_ENVIRONMENT_STATE,
    OBS_IMAGES_PREFIX,
    OBS_STATE,
    FeatureMapping,
    save_mapping,
)
from lerobot_ros.ros import topics

NS = 1_000_000_000
JOINT_STATE = JOINT_STATE_TYPE
IMAGE = IMAGE_TYPE
MARKER_ARRAY = MARKER_ARRAY_TYPE
MARKER = "visualization_msgs/msg/Marker"
FLOAT64_MULTI_ARRAY = "std_msgs/msg/Float64MultiArray"
JOINT_TRAJECTORY = "trajectory_msgs/msg/JointTrajectory"
TASK_STATUS = "lerobot_ros/msg/TaskStatus"
STATUS_KEY = "task_status"  # the status input of the aligner (not a dataset feature)
ACTION_TYPES = ACTION_MESSAGE_TYPES
_STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}


class BagError(ValueError):
    """A bag or dataset that cannot be converted; the message says why and what there is."""


# ----------------------------------------------------------------------------- typestore


def _task_status_msg() -> Path:
    """TaskStatus.msg: in the source tree, or where colcon installed the package's msg/."""
    from lerobot_ros.resources import share_dir

    path = share_dir() / "msg" / "TaskStatus.msg"
    if not path.is_file():
        raise FileNotFoundError(f"TaskStatus.msg not found at {path}")
    return path


@functools.lru_cache(maxsize=1)
def typestore() -> Typestore:
    """The ROS 2 Kilted message types plus ``lerobot_ros/msg/TaskStatus``."""
    store = get_typestore(Stores.ROS2_KILTED)
    # Registered from the same .msg text rosidl builds from: one definition of the message.
    store.register(get_types_from_msg(_task_status_msg().read_text(), TASK_STATUS))
    return store


def _default(store: Typestore, msgtype: str, **fields: Any) -> Any:  # noqa: ANN401
    """A rosbags message with every field at its ROS default, ``fields`` overriding."""
    values = {}
    for name, (kind, detail) in store.fielddefs[msgtype][1]:
        if name in fields:
            values[name] = fields[name]
        elif kind == Nodetype.NAME:
            values[name] = _default(store, detail)
        elif kind == Nodetype.BASE:
            values[name] = _base_default(detail[0])
        elif kind == Nodetype.SEQUENCE:
            (inner_kind, inner), _ = detail
            numeric = inner_kind == Nodetype.BASE and inner[0] not in ("string", "bool")
            values[name] = np.empty(0, dtype=_numpy_type(inner[0])) if numeric else []
        else:  # fixed-size array
            (inner_kind, inner), size = detail
            if inner_kind == Nodetype.BASE and inner[0] not in ("string",):
                values[name] = np.zeros(size, dtype=_numpy_type(inner[0]))
            elif inner_kind == Nodetype.BASE:
                values[name] = [""] * size
            else:
                values[name] = [_default(store, inner) for _ in range(size)]
    return store.types[msgtype](**values)


def _base_default(kind: str) -> Any:  # noqa: ANN401
    if kind == "string":
        return ""
    if kind == "bool":
        return False
    return 0.0 if kind.startswith("float") else 0


def _numpy_type(kind: str) -> np.dtype:
    return np.dtype({"byte": "uint8", "char": "uint8", "octet": "uint8"}.get(kind, kind))


def _stamp_ns(header: Any) -> int:  # noqa: ANN401 - any message header
    return header.stamp.sec * NS + header.stamp.nanosec


def _time(store: Typestore, stamp_ns: int) -> Any:  # noqa: ANN401
    return store.types["builtin_interfaces/msg/Time"](sec=stamp_ns // NS, nanosec=stamp_ns % NS)


# ----------------------------------------------------------------------------- bag -> dataset


def _open_reader(bag_path: str | Path) -> tuple[Reader, str]:
    """An open rosbags Reader and the storage id (mcap or sqlite3); BagError otherwise."""
    path = Path(bag_path)
    if not path.exists():
        raise BagError(f"bag not found: {path}")
    if path.is_dir():
        metadata = path / "metadata.yaml"
        if not metadata.is_file():
            raise BagError(f"{path} is not a rosbag2 directory (no metadata.yaml)")
        try:
            info = yaml.safe_load(metadata.read_text())["rosbag2_bagfile_information"]
            storage = info["storage_identifier"]
        except (yaml.YAMLError, KeyError, TypeError) as error:
            raise BagError(f"{metadata} is not rosbag2 metadata: {error!r}") from None
    else:
        storage = {".mcap": "mcap", ".db3": "sqlite3"}.get(path.suffix, path.suffix)
    if storage not in _STORAGES:
        raise BagError(
            f"{path}: unknown bag storage {storage!r}; supported: {sorted(_STORAGES)} "
            "(ros2 bag record writes either)"
        )
    try:
        reader = Reader(path)
        reader.open()
    except (ReaderError, OSError) as error:
        raise BagError(f"cannot read bag {path}: {error}") from None
    return reader, storage


def _expected_inputs(mapping: FeatureMapping, split: str) -> dict[str, tuple[str, str]]:
    """key -> (topic, message type) of every input bag2dataset reads."""
    inputs = mapping.topic_types()
    if split == "status":
        inputs[STATUS_KEY] = (topics.TASK_STATUS, TASK_STATUS)
    return inputs


def _check_topics(reader: Reader, inputs: dict[str, tuple[str, str]], bag: Path) -> None:
    present = {c.topic: c.msgtype for c in reader.connections}
    have = ", ".join(f"{topic} [{kind}]" for topic, kind in sorted(present.items())) or "nothing"
    for key, (topic, msgtype) in inputs.items():
        if topic not in present:
            hint = " (or use split='gap')" if key == STATUS_KEY else ""
            raise BagError(f"{bag}: {key} topic {topic} is not in the bag{hint}; it has: {have}")
        found = {c.msgtype for c in reader.connections if c.topic == topic}
        if found != {msgtype}:
            raise BagError(
                f"{bag}: {topic} ({key}) is {sorted(found)}, the mapping needs {msgtype}"
            )


def _input_stamp_ns(msg: Any, mapping: FeatureMapping, receive_ns: int) -> int:  # noqa: ANN401
    header = input_header(msg, mapping.environment_state)
    return receive_ns if header is None else _stamp_ns(header)


def _converters(mapping: FeatureMapping) -> dict[str, Callable[[Any, int], tuple[int, Any]]]:
    """key -> (message, receive ns) -> (stamp ns, value), through the live adapters."""
    converters: dict[str, Callable[[Any, int], tuple[int, Any]]] = {
        key: lambda msg, receive_ns, convert=convert: (
            _input_stamp_ns(msg, mapping, receive_ns),
            convert(msg),
        )
        for key, convert in input_converters(mapping).items()
    }
    converters[STATUS_KEY] = lambda msg, _: (_stamp_ns(msg.header), int(msg.episode_index))
    action = mapping.action
    if action.type == "position_command":
        # Float64MultiArray has no header: the receive time is the only stamp there is.
        converters[ACTION] = lambda msg, receive_ns: (
            receive_ns,
            command_vector(msg.data, action.names, action.topic),
        )
    else:

        def trajectory(msg: Any, receive_ns: int) -> tuple[int, Any]:  # noqa: ANN401
            stamp = _stamp_ns(msg.header) or receive_ns  # zero stamp: "start now"
            return stamp, trajectory_target(msg, action)

        converters[ACTION] = trajectory
    return converters


def _episode_spans(
    reader: Reader,
    split: str,
    topic: str,
    gap_ns: int,
    convert: Callable[[Any, int], tuple[int, Any]],
) -> list[tuple[int, int]]:
    """(first, last) stamp of each episode, in order: a cheap pass over one topic."""
    store = typestore()
    samples = []
    connections = [c for c in reader.connections if c.topic == topic]
    for connection, receive_ns, raw in reader.messages(connections=connections):
        try:
            samples.append(convert(store.deserialize_cdr(raw, connection.msgtype), receive_ns))
        except InputError:
            continue  # counted in the main pass
    samples.sort(key=lambda sample: sample[0])
    spans: list[list[int]] = []
    previous = None
    for stamp, value in samples:
        boundary = (
            (value != previous[1] if split == "status" else stamp - previous[0] > gap_ns)
            if previous is not None
            else True
        )
        if boundary:
            spans.append([stamp, stamp])
        spans[-1][1] = stamp
        previous = (stamp, value)
    return [(start, end) for start, end in spans]


def _ticks(spans: list[tuple[int, int]], fps: float) -> Iterator[tuple[int, int, int]]:
    """(episode, tick ns, next tick ns) on each episode's own grid, in order."""
    for episode, (start, end) in enumerate(spans):
        k = 0
        while (tick := start + round(k * NS / fps)) <= end:
            yield episode, tick, start + round((k + 1) * NS / fps)
            k += 1


def _prepare_root(root: Path, overwrite: bool) -> Path:
    """Refuse a non-empty root unless it is a dataset to overwrite; the temporary sibling."""
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        if not overwrite:
            raise BagError(f"{root} exists and is not empty; pass overwrite (--overwrite)")
        if not (root / "meta" / "info.json").is_file():
            raise BagError(f"refusing to overwrite {root}: it is not a LeRobotDataset")
    partial = root.parent / f".{root.name}.partial"
    if partial.exists():
        shutil.rmtree(partial)
    root.parent.mkdir(parents=True, exist_ok=True)
    return partial


def bag2dataset(
    bag_path: str | Path,
    mapping: FeatureMapping,
    root: str | Path,
    repo_id: str,
    fps: float | None = None,
    task: str = "",
    split: Literal["status", "gap"] = "status",
    gap_s: float = 1.0,
    use_videos: bool = True,
    overwrite: bool = False,
    reorder_window_s: float = 1.0,
    robot_type: str | None = None,
    vcodec: str | None = None,
) -> dict[str, Any]:
    """Convert a rosbag2 into a LeRobotDataset at ``root``; returns a summary.

    Videos are encoded with ``vcodec`` (None: LeRobot's default) the way LeRobot encodes by
    default: the cameras in parallel processes as each episode is saved
    (recording.video_encoding).

    ``reorder_window_s``: how far (in stamp time) messages may arrive out of stamp order across
    topics in the bag (the bag is in receive order); later ones are treated as lost.
    The dataset is written to a temporary sibling and moved to ``root`` only when complete.
    """
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    if split not in ("status", "gap"):
        raise BagError(f"split must be 'status' or 'gap', got {split!r}")
    fps = float(fps if fps is not None else mapping.fps)
    if fps <= 0 or fps != round(fps):
        raise BagError(f"LeRobot datasets need an integer fps, got {fps}")
    try:
        encoding = video_encoding(vcodec, streaming=False) if use_videos else {}
    except ValueError as error:
        raise BagError(str(error)) from None
    bag, root = Path(bag_path), Path(root)
    started = time.perf_counter()
    reader, storage = _open_reader(bag)
    partial: Path | None = None
    try:
        inputs = _expected_inputs(mapping, split)
        _check_topics(reader, inputs, bag)
        converters = _converters(mapping)
        span_key = STATUS_KEY if split == "status" else OBS_STATE
        spans = _episode_spans(
            reader, split, inputs[span_key][0], round(gap_s * NS), converters[span_key]
        )
        partial = _prepare_root(root, overwrite)
        dataset = LeRobotDataset.create(
            repo_id,
            fps=int(fps),
            features=mapping.lerobot_features(use_videos=use_videos),
            root=partial,
            robot_type=robot_type,
            use_videos=use_videos,
            **encoding,
        )
        try:
            save_mapping(mapping, partial / "meta" / EMBEDDED_MAPPING_FILE)
        except OSError as error:
            raise BagError(f"cannot write the feature mapping into {partial}: {error}") from None
        keys_by_topic: dict[str, list[str]] = {}
        for key, (topic, _) in inputs.items():
            if key != STATUS_KEY:  # spans already hold the episode structure
                keys_by_topic.setdefault(topic, []).append(key)
        # Release happens in stamp order, so a buffer only needs the samples of one period
        # beyond the as-of one: size it from the topic's rate in the bag.
        duration_s = max(reader.duration / NS, 1e-9)
        rates = Counter()
        for connection in reader.connections:
            rates[connection.topic] += connection.msgcount / duration_s
        observations = [key for key in inputs if key not in (ACTION, STATUS_KEY)]
        capacity = max(16, 2 * math.ceil(max(rates[t] for t, _ in inputs.values()) / fps) + 8)
        aligner = ObservationAligner(observations, mapping.max_age, capacity)
        commands = ObservationAligner([ACTION], mapping.max_age, capacity)

        store = typestore()
        ticks = _ticks(spans, fps)
        pending = next(ticks, None)
        counts = Counter(messages=0, ticks=0, frames=0)
        skipped: Counter[str] = Counter()
        malformed: Counter[str] = Counter()
        first_error: dict[str, str] = {}
        lengths: list[int] = []
        state = {"episode": None, "length": 0}

        def flush_episode() -> None:
            if state["length"]:
                dataset.save_episode()
                lengths.append(state["length"])
            state["length"] = 0

        def evaluate(episode: int, tick: int, next_tick: int) -> None:
            counts["ticks"] += 1
            if episode != state["episode"]:
                flush_episode()
                state["episode"] = episode
            frame = sample_frame(
                aligner, commands, tick / NS, (next_tick - 1) / NS, mapping.compose
            )
            if isinstance(frame, NotReady):
                skipped.update(reason_summary(frame.reasons.items()))
                return
            frame["task"] = task
            dataset.add_frame(frame)
            state["length"] += 1
            counts["frames"] += 1

        def release(stamp: int, key: str, value: Any) -> None:  # noqa: ANN401
            nonlocal pending
            # A tick is final once every sample up to its action time has been released.
            while pending is not None and pending[2] - 1 < stamp:
                evaluate(*pending)
                pending = next(ticks, None)
            (commands if key == ACTION else aligner).add(key, stamp / NS, value)

        heap: list[tuple[int, int, str, Any]] = []
        newest = -sys.maxsize
        window = round(reorder_window_s * NS)
        wanted = [c for c in reader.connections if c.topic in keys_by_topic]
        for sequence, (connection, receive_ns, raw) in enumerate(
            reader.messages(connections=wanted)
        ):
            counts["messages"] += 1
            msg = store.deserialize_cdr(raw, connection.msgtype)
            for key in keys_by_topic[connection.topic]:
                try:
                    stamp, value = converters[key](msg, receive_ns)
                except InputError as error:
                    malformed[key] += 1
                    first_error.setdefault(key, str(error))
                    continue
                heapq.heappush(heap, (stamp, sequence, key, value))
                newest = max(newest, stamp)
            while heap and newest - heap[0][0] > window:
                stamp, _, key, value = heapq.heappop(heap)
                release(stamp, key, value)
        while heap:
            stamp, _, key, value = heapq.heappop(heap)
            release(stamp, key, value)
        while pending is not None:
            evaluate(*pending)
            pending = next(ticks, None)
        flush_episode()
        dataset.finalize()
        if not lengths:
            reasons = ", ".join(f"{k} x{n}" for k, n in skipped.most_common(4)) or "no ticks"
            errors = "; ".join(first_error.values())
            raise BagError(
                f"{bag}: no frame could be sampled ({len(spans)} episode spans; skipped ticks: "
                f"{reasons}{'; malformed: ' + errors if errors else ''}). Position commands are "
                "stamped with the bag receive time: record with --use-sim-time if the graph "
                "runs on sim time."
            )
        if root.exists():
            shutil.rmtree(root)
        partial.rename(root)
    except BaseException:
        if partial is not None:  # a failed conversion leaves nothing behind
            shutil.rmtree(partial, ignore_errors=True)
        raise
    finally:
        reader.close()
    elapsed = time.perf_counter() - started
    return {
        "bag": str(bag),
        "storage": storage,
        "root": str(root),
        "repo_id": repo_id,
        "fps": int(fps),
        "split": split,
        "episodes": len(lengths),
        "frames": counts["frames"],
        "episode_lengths": lengths,
        "empty_episodes": len(spans) - len(lengths),
        "messages": counts["messages"],
        "ticks": counts["ticks"],
        "skipped_ticks": counts["ticks"] - counts["frames"],
        "skip_reasons": dict(skipped),
        "malformed": {key: f"{n} x {first_error[key]}" for key, n in malformed.items()},
        "elapsed_s": elapsed,
        "frames_per_s": counts["frames"] / elapsed if elapsed > 0 else float("inf"),
    }


def read_bag(bag_path: str | Path, mapping: FeatureMapping, split: str = "status") -> int:
    """Read and deserialize every mapped message (no conversion): the I/O floor, for benchmarks."""
    reader, _ = _open_reader(bag_path)
    try:
        inputs = _expected_inputs(mapping, split)
        _check_topics(reader, inputs, Path(bag_path))
        store, wanted = typestore(), {topic for topic, _ in inputs.values()}
        connections = [c for c in reader.connections if c.topic in wanted]
        count = 0
        for connection, _, raw in reader.messages(connections=connections):
            store.deserialize_cdr(raw, connection.msgtype)
            count += 1
        return count
    finally:
        reader.close()


# ----------------------------------------------------------------------------- dataset -> bag


def _check_dataset_features(features: dict, mapping: FeatureMapping, root: Path) -> None:
    wanted = mapping.lerobot_features()
    for key, spec in wanted.items():
        if key not in features:
            raise BagError(
                f"dataset {root} has no {key} (the mapping {mapping.source} maps it); "
                f"it has {sorted(k for k in features if '.' in k or k == ACTION)}"
            )
        if key.startswith(OBS_IMAGES_PREFIX):  # images: any stored size, image or video
            if features[key]["dtype"] not in ("image", "video"):
                raise BagError(f"dataset {root}: {key} is {features[key]['dtype']}, not images")
            continue
        if tuple(features[key]["shape"]) != tuple(spec["shape"]):
            raise BagError(
                f"dataset {root}: {key} has shape {tuple(features[key]['shape'])}, the mapping "
                f"{mapping.source} needs {tuple(spec['shape'])}"
            )


def _to_uint8_hwc(image: Any) -> np.ndarray:  # noqa: ANN401 - torch tensor or array
    """LeRobot's (C, H, W) float image in [0, 1] back to (H, W, 3) uint8 (exact for PNGs)."""
    array = np.asarray(image, dtype=np.float32)
    if array.ndim == 3 and array.shape[0] == 3 and array.shape[-1] != 3:
        array = array.transpose(1, 2, 0)
    return np.clip(np.rint(array * 255.0), 0, 255).astype(np.uint8)


def dataset2bag(
    root: str | Path,
    repo_id: str,
    mapping: FeatureMapping,
    bag_path: str | Path,
    start_s: float = 0.0,
    episode_gap_s: float = 0.0,
    frame_id: str = "world",
) -> dict[str, Any]:
    """Write a LeRobotDataset as an MCAP rosbag2 that ``ros2 bag play`` replays.

    Stamps: each episode's frame ``i`` at ``episode start + i/fps``; episodes follow each other
    one period (plus ``episode_gap_s``) apart, so time is monotonic; bag time = header stamp.
    """
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    root, bag = Path(root), Path(bag_path)
    if mapping.state_extra:
        raise BagError(
            f"{mapping.source}: dataset2bag does not write state_extra inputs "
            f"({', '.join(extra.name for extra in mapping.state_extra)}) back as messages yet"
        )
    if not (root / "meta" / "info.json").is_file():
        raise BagError(f"no LeRobotDataset at {root} (meta/info.json missing)")
    if bag.exists():
        raise BagError(f"{bag} exists already; rosbag2 writers never overwrite")
    dataset = LeRobotDataset(repo_id, root=root)
    _check_dataset_features(dataset.features, mapping, root)
    fps = float(dataset.fps)
    store = typestore()
    types = store.types
    started = time.perf_counter()
    writer = Writer(bag, version=9, storage_plugin=StoragePlugin.MCAP)
    writer.open()
    try:
        action_type = ACTION_TYPES[mapping.action.type]
        conn = {
            OBS_STATE: writer.add_connection(mapping.state.topic, JOINT_STATE, typestore=store),
            ACTION: writer.add_connection(mapping.action.topic, action_type, typestore=store),
            STATUS_KEY: writer.add_connection(topics.TASK_STATUS, TASK_STATUS, typestore=store),
        }
        pose = mapping.environment_state
        if pose is not None:
            conn[OBS_ENVIRONMENT_STATE] = writer.add_connection(
                pose.topic, MARKER_ARRAY, typestore=store
            )
        for image in mapping.images:
            image_type = IMAGE_MESSAGE_TYPES[image.type]
            conn[image.key] = writer.add_connection(image.topic, image_type, typestore=store)

        def write(key: str, msgtype: str, msg: Any, stamp: int) -> None:  # noqa: ANN401
            writer.write(conn[key], stamp, store.serialize_cdr(msg, msgtype))

        offset = round(start_s * NS)
        period = round(NS / fps)
        episode, last_stamp, frames, episodes = None, None, 0, 0
        for index in range(len(dataset)):
            item = dataset[index]
            item_episode, frame_index = int(item["episode_index"]), int(item["frame_index"])
            if item_episode != episode:
                if last_stamp is not None:
                    offset = last_stamp + period + round(episode_gap_s * NS)
                episode, episodes = item_episode, episodes + 1
            stamp = offset + round(frame_index * NS / fps)
            last_stamp = stamp
            header = types["std_msgs/msg/Header"](stamp=_time(store, stamp), frame_id=frame_id)
            # JointState: the mapped field only (the others stay empty, as ROS allows).
            values = mapping.state_to_ros(item[OBS_STATE])
            joint = _default(
                store,
                JOINT_STATE,
                header=header,
                name=list(mapping.state.names),
                **{mapping.state.field: values},
            )
            write(OBS_STATE, JOINT_STATE, joint, stamp)
            if pose is not None:
                vector = dict(
                    zip(pose.fields, np.asarray(item[OBS_ENVIRONMENT_STATE]).tolist(), strict=True)
                )
                position = types["geometry_msgs/msg/Point"](
                    x=vector.get("x", 0.0), y=vector.get("y", 0.0), z=vector.get("z", 0.0)
                )
                orientation = types["geometry_msgs/msg/Quaternion"](
                    x=vector.get("qx", 0.0),
                    y=vector.get("qy", 0.0),
                    z=vector.get("qz", 0.0),
                    w=vector.get("qw", 1.0),
                )
                marker = _default(
                    store,
                    MARKER,
                    header=header,
                    ns="dataset",
                    type=1,  # CUBE, so RViz draws it
                    text=pose.marker,
                    pose=types["geometry_msgs/msg/Pose"](
                        position=position, orientation=orientation
                    ),
                    scale=types["geometry_msgs/msg/Vector3"](x=0.05, y=0.05, z=0.05),
                    color=types["std_msgs/msg/ColorRGBA"](r=0.9, g=0.2, b=0.2, a=1.0),
                )
                markers = types[MARKER_ARRAY](markers=[marker])
                write(OBS_ENVIRONMENT_STATE, MARKER_ARRAY, markers, stamp)
            for image in mapping.images:
                pixels = _to_uint8_hwc(item[image.key])
                height, width, _ = pixels.shape
                image_header = types["std_msgs/msg/Header"](
                    stamp=_time(store, stamp), frame_id=f"{image.name}_camera_optical_frame"
                )
                if image.type == "compressed_image":  # PNG: the frames come back exactly
                    _, png = cv2.imencode(".png", np.ascontiguousarray(pixels[..., ::-1]))
                    msg = types[COMPRESSED_IMAGE_TYPE](
                        header=image_header, format="png", data=png.reshape(-1)
                    )
                else:  # rgb8 (a depth camera's frames come back as the shaded rgb8 stored)
                    msg = types[IMAGE](
                        header=image_header,
                        height=height,
                        width=width,
                        encoding="rgb8",
                        is_bigendian=0,
                        step=width * 3,
                        data=pixels.reshape(-1),
                    )
                write(image.key, IMAGE_MESSAGE_TYPES[image.type], msg, stamp)
            status = types[TASK_STATUS](
                header=header,
                episode_index=item_episode,
                seed=-1,
                step=frame_index,
                reward=float(item["next.reward"]) if "next.reward" in item else 0.0,
                success=bool(item["next.success"]) if "next.success" in item else False,
                truncated=False,
            )
            write(STATUS_KEY, TASK_STATUS, status, stamp)
            action = mapping.action_to_ros(item[ACTION])
            if mapping.action.type == "position_command":
                command = _default(store, FLOAT64_MULTI_ARRAY, data=action)
            else:
                point = _default(
                    store,
                    "trajectory_msgs/msg/JointTrajectoryPoint",
                    positions=action,
                    time_from_start=types["builtin_interfaces/msg/Duration"](
                        sec=period // NS, nanosec=period % NS
                    ),
                )
                command = types[JOINT_TRAJECTORY](
                    header=header, joint_names=list(mapping.action.names), points=[point]
                )
            write(ACTION, action_type, command, stamp)
            frames += 1
    except BaseException:
        writer.close()
        shutil.rmtree(bag, ignore_errors=True)  # never leave a half-written bag behind
        raise
    writer.close()
    elapsed = time.perf_counter() - started
    return {
        "bag": str(bag),
        "storage": "mcap",
        "episodes": episodes,
        "frames": frames,
        "duration_s": ((last_stamp or 0) - round(start_s * NS)) / NS,
        "elapsed_s": elapsed,
    }
