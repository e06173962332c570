"""bag2dataset / dataset2bag on a synthetic multi-rate bag, loaded back with LeRobot itself."""

import json
import shutil

import numpy as np
import pytest
import yaml
from lerobot.datasets.lerobot_dataset import LeRobotDataset
from rosbags.rosbag2 import Reader, StoragePlugin
from synthetic_bag import (
    COMMAND_DELAY_NS,
    FPS,
    NAMES,
    NS,
    SIZE,
    STEPS,
    as_of,
    expected_ticks,
    mapping_dict,
    write_synthetic_bag,
)

from lerobot_ros.datasets.bags import BagError, bag2dataset, dataset2bag, typestore
from lerobot_ros.features.mapping import (
    EMBEDDED_MAPPING_FILE,
    load_mapping,
    mapping_document,
    parse_mapping,
)
from lerobot_ros.orchestration.cli import main

STATE, ENV, IMAGE, ACTION = (
    "observation.state",
    "observation.environment_state",
    "observation.images.front",
    "action",
)


def columns(dataset: LeRobotDataset) -> dict[str, np.ndarray]:
    """Every frame's values, images as (H, W, 3) uint8."""
    out = {key: [] for key in (STATE, ENV, ACTION, "episode_index", "frame_index")}
    images = []
    for i in range(len(dataset)):
        item = dataset[i]
        for key in out:
            out[key].append(np.asarray(item[key]))
        if IMAGE in item:
            chw = np.asarray(item[IMAGE], dtype=np.float32)
            images.append(np.rint(chw.transpose(1, 2, 0) * 255).astype(np.uint8))
    result = {key: np.stack(values) for key, values in out.items()}
    if images:
        result[IMAGE] = np.stack(images)
    return result


@pytest.fixture(scope="module")
def converted(synthetic_bag, tmp_path_factory):
    """The synthetic bag as a dataset with PNG images (exact)."""
    mapping = parse_mapping(mapping_dict(), "test-mapping")
    root = tmp_path_factory.mktemp("datasets") / "ds"
    summary = bag2dataset(
        synthetic_bag.path, mapping, root, "test/ds", task="pick", use_videos=False
    )
    return summary, LeRobotDataset("test/ds", root=root), root


def test_frames_episodes_and_features(converted):
    summary, dataset, root = converted
    written = load_mapping(root / "meta" / EMBEDDED_MAPPING_FILE)  # travels with the data
    assert mapping_document(written) == mapping_document(parse_mapping(mapping_dict()))
    # Two episodes of 30 status steps: 29/30 s each, a tick at both ends -> duration x fps + 1.
    assert summary["episode_lengths"] == [STEPS, STEPS]
    assert summary["frames"] == dataset.num_frames == 2 * STEPS
    assert dataset.num_episodes == 2 and dataset.fps == FPS
    assert summary["storage"] == "mcap" and summary["skipped_ticks"] == 0
    assert dataset.features[STATE]["shape"] == (3,)
    assert dataset.features[STATE]["names"] == NAMES
    assert dataset.features[ENV]["shape"] == (7,)
    assert dataset.features[IMAGE]["shape"] == (SIZE, SIZE, 3)
    assert dataset.features[ACTION]["shape"] == (3,)
    assert dataset.meta.stats is not None and STATE in dataset.meta.stats
    assert dataset[0]["task"] == "pick"


def test_values_are_the_as_of_samples(converted, synthetic_bag):
    _, dataset, _ = converted
    data = columns(dataset)
    ticks = expected_ticks(synthetic_bag)
    assert len(ticks) == len(dataset)
    for i, (episode, tick, next_tick) in enumerate(ticks):
        assert data["episode_index"][i] == episode
        _, state = as_of(synthetic_bag.state, tick)
        np.testing.assert_array_equal(data[STATE][i], state.astype(np.float32))
        _, pose = as_of(synthetic_bag.pose, tick)
        np.testing.assert_array_equal(data[ENV][i], pose.astype(np.float32))
        _, pixels = as_of(synthetic_bag.image, tick)
        np.testing.assert_array_equal(data[IMAGE][i], pixels)
        # The action is the command that followed this observation (before the next tick).
        stamp, command = as_of(synthetic_bag.command, next_tick - 1)
        assert tick < stamp <= tick + COMMAND_DELAY_NS
        np.testing.assert_array_equal(data[ACTION][i], command.astype(np.float32))
    # The state is sampled at 100 Hz as of the tick: never from the future, at most 10 ms old.
    for _, tick, _ in ticks:
        stamp, _ = as_of(synthetic_bag.state, tick)
        assert 0 <= tick - stamp < NS // 100


def test_round_trip_preserves_every_frame(converted, tmp_path):
    _, dataset, root = converted
    mapping = parse_mapping(mapping_dict(), "test-mapping")
    bag = tmp_path / "roundtrip"
    summary = dataset2bag(root, "test/ds", mapping, bag)
    assert summary["frames"] == len(dataset) and summary["episodes"] == 2
    with Reader(bag) as reader:
        counts = {c.topic: c.msgcount for c in reader.connections}
        stamps = [t for _, t, _ in reader.messages()]
    assert set(counts.values()) == {len(dataset)}
    assert stamps == sorted(stamps)  # monotonic across episodes
    again = bag2dataset(bag, mapping, tmp_path / "again", "test/again", use_videos=False)
    assert again["episode_lengths"] == [STEPS, STEPS] and again["skipped_ticks"] == 0
    before, after = columns(dataset), columns(LeRobotDataset("test/again", root=tmp_path / "again"))
    for key in before:
        np.testing.assert_array_equal(after[key], before[key], err_msg=key)


def test_joints_in_degrees_convert_both_ways(converted, synthetic_bag, tmp_path):
    """degrees: [j1]: the dataset holds j1 in degrees (state and action), the bag radians."""
    _, radians, root = converted
    raw = mapping_dict()
    raw["degrees"] = ["j1"]
    mapping = parse_mapping(raw, "degrees-mapping")
    bag2dataset(synthetic_bag.path, mapping, tmp_path / "deg", "test/deg", use_videos=False)
    degrees = columns(LeRobotDataset("test/deg", root=tmp_path / "deg"))
    before = columns(radians)
    for key in (STATE, ACTION):
        expected = before[key].astype(np.float64)
        expected[:, 0] *= 180 / np.pi  # j1, the first joint
        np.testing.assert_allclose(degrees[key], expected, rtol=1e-6, err_msg=key)
    # And back: dataset2bag writes radians again.
    dataset2bag(tmp_path / "deg", "test/deg", mapping, tmp_path / "bag")
    plain = parse_mapping(mapping_dict(), "plain")
    bag2dataset(tmp_path / "bag", plain, tmp_path / "again", "test/again", use_videos=False)
    again = columns(LeRobotDataset("test/again", root=tmp_path / "again"))
    for key in (STATE, ACTION):
        np.testing.assert_allclose(again[key], before[key], rtol=1e-6, atol=1e-7, err_msg=key)


def test_a_compressed_camera_round_trips_through_png(converted, tmp_path):
    """A mapping whose camera is a CompressedImage: dataset2bag writes PNGs, bag2dataset
    decodes them back to the very same frames."""
    _, dataset, root = converted
    raw = mapping_dict()
    raw["observation"]["images"]["front"]["type"] = "compressed_image"
    mapping = parse_mapping(raw, "compressed-mapping")
    bag = tmp_path / "compressed"
    dataset2bag(root, "test/ds", mapping, bag)
    with Reader(bag) as reader:
        types = {c.topic: c.msgtype for c in reader.connections}
    assert types["/camera/front/image_raw"] == "sensor_msgs/msg/CompressedImage"
    bag2dataset(bag, mapping, tmp_path / "again", "test/again", use_videos=False)
    again = LeRobotDataset("test/again", root=tmp_path / "again")
    key = "observation.images.front"
    np.testing.assert_array_equal(columns(again)[key], columns(dataset)[key])


def test_written_bag_deserializes_with_rclpy(converted, tmp_path):
    """The bytes are valid CDR for the real ROS types (what ros2 bag play publishes)."""
    from rclpy.serialization import deserialize_message
    from sensor_msgs.msg import Image, JointState
    from std_msgs.msg import Float64MultiArray
    from visualization_msgs.msg import MarkerArray

    from lerobot_ros.interfaces import TaskStatus

    ros_types = {
        "sensor_msgs/msg/JointState": JointState,
        "sensor_msgs/msg/Image": Image,
        "std_msgs/msg/Float64MultiArray": Float64MultiArray,
        "visualization_msgs/msg/MarkerArray": MarkerArray,
        "lerobot_ros/msg/TaskStatus": TaskStatus,
    }

    _, dataset, root = converted
    bag = tmp_path / "for_rclpy"
    dataset2bag(root, "test/ds", parse_mapping(mapping_dict(), "m"), bag)
    seen = {}
    with Reader(bag) as reader:
        for connection, stamp, raw in reader.messages():
            if connection.topic in seen:
                continue
            msg = deserialize_message(bytes(raw), ros_types[connection.msgtype])
            seen[connection.topic] = msg
            if hasattr(msg, "header"):
                assert msg.header.stamp.sec * NS + msg.header.stamp.nanosec == stamp
    assert list(seen["/joint_states"].name) == NAMES
    assert seen["/camera/front/image_raw"].encoding == "rgb8"
    assert len(seen["/camera/front/image_raw"].data) == SIZE * SIZE * 3
    assert seen["/scene/markers"].markers[0].text == "cube"
    assert len(seen["/position_controller/commands"].data) == 3
    assert seen["/task/status"].episode_index == 0


def test_gap_split_of_a_bag_with_pauses(converted, tmp_path):
    _, dataset, root = converted
    mapping = parse_mapping(mapping_dict(images=False), "m")
    bag = tmp_path / "gapped"
    dataset2bag(root, "test/ds", mapping, bag, episode_gap_s=2.0)
    summary = bag2dataset(
        bag, mapping, tmp_path / "gap", "test/gap", split="gap", gap_s=1.0, use_videos=False
    )
    assert summary["episode_lengths"] == [STEPS, STEPS]


def test_sqlite3_storage(tmp_path, converted):
    _, dataset, _ = converted
    bag = write_synthetic_bag(tmp_path / "sqlite", StoragePlugin.SQLITE3)
    assert any(p.suffix == ".db3" for p in bag.path.iterdir())
    mapping = parse_mapping(mapping_dict(images=False), "m")
    summary = bag2dataset(bag.path, mapping, tmp_path / "ds", "test/sqlite", use_videos=False)
    assert summary["storage"] == "sqlite3" and summary["episode_lengths"] == [STEPS, STEPS]
    after = columns(LeRobotDataset("test/sqlite", root=tmp_path / "ds"))
    before = columns(dataset)
    for key in (STATE, ENV, ACTION):
        np.testing.assert_array_equal(after[key], before[key])


@pytest.mark.parametrize(("vcodec", "codec_in_info"), [(None, "av1"), ("h264", "h264")])
def test_video_dataset_decodes(synthetic_bag, tmp_path, vcodec, codec_in_info):
    mapping = parse_mapping(mapping_dict(), "m")
    root = tmp_path / "video"
    bag2dataset(synthetic_bag.path, mapping, root, "test/video", use_videos=True, vcodec=vcodec)
    dataset = LeRobotDataset("test/video", root=root)
    assert dataset.meta.video_keys == [IMAGE]
    assert dataset.meta.features[IMAGE]["info"]["video.codec"] == codec_in_info
    assert list((root / "videos").rglob("*.mp4"))
    ticks = expected_ticks(synthetic_bag)
    for i in (0, len(dataset) - 1):
        frame = np.asarray(dataset[i][IMAGE], dtype=np.float32).transpose(1, 2, 0) * 255
        _, pixels = as_of(synthetic_bag.image, ticks[i][1])
        assert frame.shape == pixels.shape
        assert np.abs(frame - pixels).mean() < 12  # lossy codec, but the same picture


def test_cli_round_trip(synthetic_bag, tmp_path, capsys):
    mapping_file = tmp_path / "mapping.yaml"
    mapping_file.write_text(yaml.safe_dump(mapping_dict(images=False)))
    root = tmp_path / "cli_ds"
    args = ["--root", str(root), "--repo-id", "test/cli", "--mapping", str(mapping_file)]
    assert main(["bag2dataset", str(synthetic_bag.path), *args, "--task", "lift"]) == 0
    assert "2 episodes, 60 frames" in capsys.readouterr().out
    info = json.loads((root / "meta" / "info.json").read_text())
    assert info["total_episodes"] == 2 and info["total_frames"] == 60
    assert main(["bag2dataset", str(synthetic_bag.path), *args]) == 1  # exists: refused
    assert "not empty" in capsys.readouterr().err
    assert main(["bag2dataset", str(synthetic_bag.path), *args, "--overwrite"]) == 0
    assert main(["dataset2bag", *args, "--output", str(tmp_path / "cli_bag")]) == 0
    assert "2 episodes, 60 frames" in capsys.readouterr().out


# ----------------------------------------------------------------------------- errors


def test_missing_bag(tmp_path, mapping):
    with pytest.raises(BagError, match="bag not found"):
        bag2dataset(tmp_path / "nope", mapping, tmp_path / "ds", "t/t")


def test_unknown_storage(tmp_path, mapping, synthetic_bag):
    bag = tmp_path / "weird"
    shutil.copytree(synthetic_bag.path, bag)
    metadata = bag / "metadata.yaml"
    metadata.write_text(
        metadata.read_text().replace("storage_identifier: mcap", "storage_identifier: rosbag_v1")
    )
    with pytest.raises(BagError, match="unknown bag storage 'rosbag_v1'"):
        bag2dataset(bag, mapping, tmp_path / "ds", "t/t")
    (tmp_path / "x.bag").write_bytes(b"#ROSBAG V2.0")
    with pytest.raises(BagError, match="unknown bag storage"):
        bag2dataset(tmp_path / "x.bag", mapping, tmp_path / "ds", "t/t")
    (tmp_path / "plain").mkdir()
    with pytest.raises(BagError, match="no metadata.yaml"):
        bag2dataset(tmp_path / "plain", mapping, tmp_path / "ds", "t/t")


def test_topic_absent_lists_what_the_bag_has(tmp_path, synthetic_bag):
    raw = mapping_dict()
    raw["observation"]["images"]["front"]["topic"] = "/camera/top/image_raw"
    with pytest.raises(
        BagError,
        match=r"/camera/top/image_raw is not in the bag.*/joint_states \[sensor_msgs/msg/JointState\]",
    ):
        bag2dataset(synthetic_bag.path, parse_mapping(raw), tmp_path / "ds", "t/t")
    assert not (tmp_path / "ds").exists()


def test_type_mismatch(tmp_path, synthetic_bag):
    raw = mapping_dict()
    raw["observation"]["environment_state"]["topic"] = "/joint_states"
    with pytest.raises(BagError, match="JointState.*needs visualization_msgs/msg/MarkerArray"):
        bag2dataset(synthetic_bag.path, parse_mapping(raw), tmp_path / "ds", "t/t")


def test_status_split_needs_the_status_topic(tmp_path, mapping, synthetic_bag):
    with Reader(synthetic_bag.path) as reader:
        assert "/task/status" in reader.topics
    raw = mapping_dict(images=False)
    bag = tmp_path / "no_status"
    dataset = write_synthetic_bag(tmp_path / "src")  # rewrite without /task/status
    from rosbags.rosbag2 import Writer

    store = typestore()
    with (
        Reader(dataset.path) as reader,
        Writer(bag, version=9, storage_plugin=StoragePlugin.MCAP) as writer,
    ):
        out = {}
        for connection in reader.connections:
            if connection.topic != "/task/status":
                out[connection.id] = writer.add_connection(
                    connection.topic, connection.msgtype, typestore=store
                )
        for connection, stamp, data in reader.messages():
            if connection.id in out:
                writer.write(out[connection.id], stamp, data)
    with pytest.raises(BagError, match=r"/task/status is not in the bag \(or use split='gap'\)"):
        bag2dataset(bag, parse_mapping(raw), tmp_path / "ds", "t/t")
    summary = bag2dataset(
        bag, parse_mapping(raw), tmp_path / "ds", "t/t", split="gap", use_videos=False
    )
    assert summary["episodes"] == 1  # the state topic never pauses


def test_existing_root_is_refused(tmp_path, mapping, synthetic_bag):
    root = tmp_path / "ds"
    root.mkdir()
    (root / "notes.txt").write_text("mine")
    with pytest.raises(BagError, match="not empty"):
        bag2dataset(synthetic_bag.path, mapping, root, "t/t")
    with pytest.raises(BagError, match="not a LeRobotDataset"):
        bag2dataset(synthetic_bag.path, mapping, root, "t/t", overwrite=True)
    assert (root / "notes.txt").read_text() == "mine"


def test_an_unknown_codec_is_refused_before_anything_is_written(tmp_path, synthetic_bag, capsys):
    mapping_file = tmp_path / "mapping.yaml"
    mapping_file.write_text(yaml.safe_dump(mapping_dict()))
    root = tmp_path / "ds"
    args = ["--root", str(root), "--repo-id", "t/t", "--mapping", str(mapping_file)]
    assert main(["bag2dataset", str(synthetic_bag.path), *args, "--vcodec", "vp9"]) == 1
    error = capsys.readouterr().err
    assert "bag2dataset failed: Invalid vcodec 'vp9'" in error and "h264" in error, error
    assert not root.exists() and not list(tmp_path.glob(".ds*"))


def test_dataset2bag_errors(tmp_path, converted):
    _, _, root = converted
    mapping = parse_mapping(mapping_dict(), "m")
    with pytest.raises(BagError, match="no LeRobotDataset"):
        dataset2bag(tmp_path / "nothing", "t/t", mapping, tmp_path / "bag")
    (tmp_path / "bag").mkdir()
    with pytest.raises(BagError, match="exists already"):
        dataset2bag(root, "test/ds", mapping, tmp_path / "bag")
    raw = mapping_dict()
    raw["observation"]["state"]["names"] = ["a", "b"]
    with pytest.raises(BagError, match=r"observation.state has shape \(3,\).*needs \(2,\)"):
        dataset2bag(root, "test/ds", parse_mapping(raw), tmp_path / "bag2")
    raw = mapping_dict()
    raw["observation"]["images"]["wrist"] = {
        "topic": "/camera/wrist/image_raw",
        "height": 8,
        "width": 8,
    }
    with pytest.raises(BagError, match="has no observation.images.wrist"):
        dataset2bag(root, "test/ds", parse_mapping(raw), tmp_path / "bag3")
    assert not (tmp_path / "bag2").exists() and not (tmp_path / "bag3").exists()


def test_stale_inputs_skip_ticks(tmp_path, synthetic_bag):
    """A max_age shorter than the camera's lag at the ticks skips every tick, with the reason."""
    raw = mapping_dict()
    raw["max_age"] = 0.005  # the camera frame is ~23 ms old at each tick
    with pytest.raises(BagError, match="observation.images.front: stale"):
        bag2dataset(synthetic_bag.path, parse_mapping(raw), tmp_path / "ds", "t/t")
    assert not (tmp_path / "ds").exists() and not (tmp_path / ".ds.partial").exists()
