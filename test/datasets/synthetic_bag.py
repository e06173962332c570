"""A small synthetic multi-rate rosbag2 and the mapping that reads it (no ROS processes).

A module of its own (not conftest.py): other test folders have a conftest too, and
``from conftest import`` would pick whichever was imported first."""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rosbags.rosbag2 import StoragePlugin, Writer

from lerobot_ros.datasets.bags import _default, _time, typestore

NS = 1_000_000_000
NAMES = ["j1", "j2", "j3"]
SIZE = 32
FPS = 30
# Two episodes of 30 status steps each (1 s at 30 Hz), with a 0.5 s reset pause between.
EPISODE_STARTS = (1.0, 2.5)
STEPS = 30
LATENCY_NS = 2_000_000  # receive time = stamp + 2 ms for stamped messages
COMMAND_DELAY_NS = 5_000_000  # a command follows its observation by 5 ms (receive time)


def mapping_dict(images: bool = True) -> dict:
    raw = {
        "fps": FPS,
        "max_age": 0.1,
        "observation": {
            "state": {"topic": "/joint_states", "names": NAMES},
            "environment_state": {"topic": "/scene/markers", "marker": "cube"},
        },
        "action": {"topic": "/position_controller/commands", "names": NAMES},
    }
    if images:
        raw["observation"]["images"] = {
            "front": {"topic": "/camera/front/image_raw", "height": SIZE, "width": SIZE}
        }
    return raw


@dataclass
class SyntheticBag:
    """What was written, per input: sorted (stamp ns, value) lists, to compute the expected
    as-of samples independently of the code under test."""

    path: Path
    state: list = field(default_factory=list)
    pose: list = field(default_factory=list)
    image: list = field(default_factory=list)
    command: list = field(default_factory=list)  # stamped with the receive time
    status: list = field(default_factory=list)  # (stamp, episode_index)


def grid(start_s: float, rate: float, stop_s: float) -> list[int]:
    start, stop = round(start_s * NS), round(stop_s * NS)
    out, k = [], 0
    while (t := start + round(k * NS / rate)) <= stop:
        out.append(t)
        k += 1
    return out


def write_synthetic_bag(path: Path, storage: StoragePlugin = StoragePlugin.MCAP) -> SyntheticBag:
    store = typestore()
    T = store.types
    result = SyntheticBag(path)
    messages = []  # (receive ns, topic key, msg)

    def header(stamp):
        return T["std_msgs/msg/Header"](stamp=_time(store, stamp), frame_id="world")

    # Joint states at 100 Hz, off the tick grid by 3 ms.
    for stamp in grid(0.803, 100, 3.7):
        position = np.array([stamp / NS + j for j in range(3)], dtype=np.float64)
        names = ["extra", *NAMES[::-1]]  # other order + an unmapped joint: the adapter reorders
        values = np.array([42.0, *position[::-1]])
        msg = _default(
            store,
            "sensor_msgs/msg/JointState",
            header=header(stamp),
            name=names,
            position=values,
            velocity=np.zeros(4),
            effort=np.zeros(4),
        )
        messages.append((stamp + LATENCY_NS, "state", msg))
        result.state.append((stamp, position))
    # Markers and images at 30 Hz, 10 ms after the status grid.
    for i, stamp in enumerate(grid(0.81, 30, 3.7)):
        cube = _default(
            store,
            "visualization_msgs/msg/Marker",
            header=header(stamp),
            text="cube",
            pose=T["geometry_msgs/msg/Pose"](
                position=T["geometry_msgs/msg/Point"](x=float(i), y=0.5, z=-1.0),
                orientation=T["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0),
            ),
        )
        table = _default(store, "visualization_msgs/msg/Marker", header=header(stamp), text="table")
        messages.append(
            (
                stamp + LATENCY_NS,
                "pose",
                T["visualization_msgs/msg/MarkerArray"](markers=[table, cube]),
            )
        )
        result.pose.append((stamp, np.array([i, 0.5, -1.0, 1.0, 0.0, 0.0, 0.0])))
        pixels = np.zeros((SIZE, SIZE, 3), dtype=np.uint8)
        pixels[..., 0] = i % 256
        pixels[..., 1] = np.arange(SIZE, dtype=np.uint8)[None, :] * 7
        pixels[..., 2] = np.arange(SIZE, dtype=np.uint8)[:, None] * 5
        image = T["sensor_msgs/msg/Image"](
            header=header(stamp),
            height=SIZE,
            width=SIZE,
            encoding="rgb8",
            is_bigendian=0,
            step=SIZE * 3,
            data=pixels.reshape(-1),
        )
        messages.append((stamp + LATENCY_NS, "image", image))
        result.image.append((stamp, pixels))
    # Commands at 30 Hz, 5 ms after the status grid, all through the bag (also in resets).
    for i, stamp in enumerate(grid(0.8, 30, 3.7)):
        receive = stamp + COMMAND_DELAY_NS
        data = np.array([100.0 + i, 200.0 + i, 300.0 + i])
        messages.append(
            (receive, "command", _default(store, "std_msgs/msg/Float64MultiArray", data=data))
        )
        result.command.append((receive, data))
    # Task status: two episodes.
    for episode, start in enumerate(EPISODE_STARTS):
        for step, stamp in enumerate(grid(start, 30, start + (STEPS - 1) / 30)):
            msg = T["lerobot_ros/msg/TaskStatus"](
                header=header(stamp),
                episode_index=episode,
                seed=episode,
                step=step,
                reward=0.0,
                success=False,
                truncated=False,
            )
            messages.append((stamp + LATENCY_NS, "status", msg))
            result.status.append((stamp, episode))

    types = {
        "state": ("/joint_states", "sensor_msgs/msg/JointState"),
        "pose": ("/scene/markers", "visualization_msgs/msg/MarkerArray"),
        "image": ("/camera/front/image_raw", "sensor_msgs/msg/Image"),
        "command": ("/position_controller/commands", "std_msgs/msg/Float64MultiArray"),
        "status": ("/task/status", "lerobot_ros/msg/TaskStatus"),
        "other": ("/rosout_like", "std_msgs/msg/String"),
    }
    messages.append((NS, "other", T["std_msgs/msg/String"](data="not mapped")))
    writer = Writer(path, version=9, storage_plugin=storage)
    writer.open()
    connections = {
        key: writer.add_connection(topic, msgtype, typestore=store)
        for key, (topic, msgtype) in types.items()
    }
    for receive, key, msg in sorted(messages, key=lambda m: m[0]):  # a bag is in receive order
        writer.write(connections[key], receive, store.serialize_cdr(msg, types[key][1]))
    writer.close()
    return result


def as_of(samples, t):
    """Newest (stamp, value) with stamp <= t, or None."""
    found = None
    for stamp, value in samples:
        if stamp <= t:
            found = (stamp, value)
        else:
            break
    return found


def expected_ticks(bag: SyntheticBag):
    """(episode, tick, next tick) of each episode's grid from its first to its last status."""
    episodes = {}
    for stamp, episode in bag.status:
        first, last = episodes.get(episode, (stamp, stamp))
        episodes[episode] = (min(first, stamp), max(last, stamp))
    out = []
    for episode, (first, last) in sorted(episodes.items()):
        k = 0
        while (t := first + round(k * NS / FPS)) <= last:
            out.append((episode, t, first + round((k + 1) * NS / FPS)))
            k += 1
    return out
