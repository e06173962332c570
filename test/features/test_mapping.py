import copy

import pytest
import yaml

from lerobot_ros.features.mapping import (
    OBS_ENVIRONMENT_STATE,
    OBS_STATE,
    MappingError,
    load_mapping,
    mapping_differences,
    mapping_document,
    parse_mapping,
    save_mapping,
)
from lerobot_ros.resources import share_dir
from lerobot_ros.robots import panda


def shipped_path():
    return share_dir() / "config" / "features" / "panda_pick_cube.yaml"


def shipped_raw():
    return yaml.safe_load(shipped_path().read_text())


def test_shipped_mapping_parses_with_robot_defaults():
    mapping = load_mapping(shipped_path())
    assert mapping.state.names == panda.JOINT_NAMES == mapping.action.names
    assert mapping.fps == 30 and mapping.max_age == pytest.approx(0.1)
    assert mapping.input_keys == (
        OBS_STATE,
        OBS_ENVIRONMENT_STATE,
        "observation.images.front",
        "observation.images.wrist",
    )
    features = mapping.lerobot_features()
    assert features["observation.images.front"]["shape"] == (224, 224, 3)
    assert features["action"]["names"] == list(panda.JOINT_NAMES)
    assert features[OBS_ENVIRONMENT_STATE]["names"][0] == "cube.x"


def test_restricting_to_a_policy_inputs():
    mapping = load_mapping(shipped_path())
    state_only = mapping.restricted_to({OBS_STATE, OBS_ENVIRONMENT_STATE})
    assert state_only.images == () and state_only.environment_state is not None
    with pytest.raises(MappingError, match="does not provide"):
        mapping.restricted_to({OBS_STATE, "observation.images.top"})


def mutate(path, value):
    raw = copy.deepcopy(shipped_raw())
    node = raw
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return raw


@pytest.mark.parametrize(
    "path, value, message",
    [
        (("fps",), 0, "fps must be a positive number"),
        (("fps",), "fast", "fps must be a positive number"),
        (("max_age",), -1, "max_age must be a positive"),
        (("robot",), "ur5", "robot 'ur5' is unknown"),
        (("observation", "state", "topic"), "joint_states", "absolute topic name"),
        (("observation", "state", "field"), "torque", "field must be one of"),
        (("observation", "state", "names"), [], "non-empty list"),
        (("observation", "state", "names"), ["a", "a"], "repeats a name"),
        (("observation", "state", "colour"), "red", "unknown keys"),
        (("observation", "state"), KeyError, "missing ['state']"),
        (("observation", "images", "front", "height"), -3, "height must be a positive integer"),
        (("observation", "images", "front", "width"), 2.5, "width must be a positive integer"),
        (("observation", "environment_state", "fields"), ["x", "roll"], "subset of"),
        (("observation", "images", "front", "type"), "jpeg", "front.type must be one of"),
        (("observation", "images", "front", "depth_max"), 0, "depth_max must be a positive"),
        (("observation", "state", "reliability"), "sometimes", "reliability must be one of"),
        (("action", "type"), "velocity_command", "action.type must be one of"),
        (("action",), KeyError, "missing ['action']"),
    ],
)
def test_invalid_mappings_name_the_problem(path, value, message):
    with pytest.raises(MappingError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_mapping(mutate(path, value), "test.yaml")


def test_without_robot_names_are_required():
    raw = mutate(("robot",), KeyError)
    with pytest.raises(MappingError, match="names is required"):
        parse_mapping(raw, "test.yaml")


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(MappingError, match="not found"):
        load_mapping(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("fps: [30\n")
    with pytest.raises(MappingError, match="not valid YAML"):
        load_mapping(bad)


def test_a_saved_mapping_reads_back_the_same(tmp_path):
    mapping = load_mapping(shipped_path())
    saved = load_mapping(save_mapping(mapping, tmp_path / "m.yaml"))
    assert saved == parse_mapping(mapping_document(mapping), str(tmp_path / "m.yaml"))
    assert mapping_document(saved) == mapping_document(mapping)
    assert saved.robot == "panda" and not list(tmp_path.glob("*.partial"))


def test_differences_that_would_skew_a_policy_are_named_and_topics_are_not():
    trained = load_mapping(shipped_path())
    raw = shipped_raw()
    raw["observation"]["state"]["topic"] = "/robot_a/joint_states"  # another namespace: fine
    raw["observation"]["images"]["front"]["height"] = 96  # the policy's size wins: fine
    assert mapping_differences(trained, parse_mapping(raw)) == []
    raw["fps"] = 15
    raw["observation"]["state"]["field"] = "velocity"
    del raw["observation"]["images"]["wrist"]
    raw["action"]["names"] = list(reversed(panda.JOINT_NAMES))
    differences = mapping_differences(trained, parse_mapping(raw))
    assert differences[:3] == [
        "fps: trained 30.0, given 15.0",
        "observation.state field: trained 'position', given 'velocity'",
        "cameras: trained ['front', 'wrist'], given ['front']",
    ]
    assert differences[3].startswith("action names: trained ['panda_joint1'")


def test_image_kinds_and_reliability_are_read_and_saved(tmp_path):
    raw = shipped_raw()
    raw["observation"]["images"]["front"] |= {
        "type": "compressed_image",
        "reliability": "best_effort",
    }
    raw["observation"]["images"]["wrist"]["depth_max"] = 1.5
    mapping = parse_mapping(raw, "test.yaml")
    front, wrist = mapping.images
    assert front.type == "compressed_image" and wrist.type == "image" and wrist.depth_max == 1.5
    assert mapping.reliability("observation.images.front") == "best_effort"
    assert mapping.reliability(OBS_STATE) is None
    assert mapping.topic_types()["observation.images.front"][1] == "sensor_msgs/msg/CompressedImage"
    assert load_mapping(save_mapping(mapping, tmp_path / "m.yaml")).images == mapping.images


def _with_extras(extras):  # noqa: ANN001, ANN202
    raw = shipped_raw()
    raw["observation"]["state_extra"] = extras
    return raw


WRENCH = {"name": "ft", "topic": "/ft", "type": "wrench_stamped", "fields": ["force.z"]}
ARRAY = {"name": "grip", "topic": "/grip", "type": "float64_multi_array", "fields": [2, "0"]}


def test_state_extra_inputs_join_observation_state_in_order():
    import numpy as np

    mapping = parse_mapping(_with_extras([WRENCH, ARRAY]), "test.yaml")
    assert mapping.state_names[-3:] == ("ft.force.z", "grip.2", "grip.0")
    assert mapping.lerobot_features()[OBS_STATE]["shape"] == (11,)
    assert mapping.source_keys[-2:] == ("observation.state+ft", "observation.state+grip")
    assert mapping.topic_types()["observation.state+ft"] == (
        "/ft",
        "geometry_msgs/msg/WrenchStamped",
    )
    composed = mapping.compose(
        {
            OBS_STATE: np.zeros(8),
            "observation.state+ft": np.array([5.0]),
            "observation.state+grip": np.array([1.0, 2.0]),
            "observation.images.front": "pixels",
        }
    )
    assert set(composed) == {OBS_STATE, "observation.images.front"}
    assert composed[OBS_STATE].tolist() == [0.0] * 8 + [5.0, 1.0, 2.0]
    restricted = mapping.restricted_to({OBS_STATE})
    assert restricted.state_extra == mapping.state_extra
    bare = parse_mapping(_with_extras([{**WRENCH, "type": "pose", "fields": ["position.x"]}]))
    assert bare.topic_types()["observation.state+ft"] == ("/ft", "geometry_msgs/msg/Pose")
    assert mapping_document(parse_mapping(mapping_document(mapping))) == mapping_document(mapping)


@pytest.mark.parametrize(
    "extras, message",
    [
        ([{**WRENCH, "type": "wrench_stampd"}], "type must be one of"),
        ([{**WRENCH, "fields": ["force.w"]}], "fields of wrench_stamped"),
        ([{**WRENCH, "fields": []}], "non-empty list"),
        ([{**ARRAY, "fields": [-1]}], "array indexes"),
        ([{**WRENCH, "name": "f t"}], "must be an identifier"),
        ([WRENCH, {**ARRAY, "name": "ft"}], "names repeat"),
        ({"name": "ft"}, "must be a list"),
    ],
)
def test_bad_state_extra_is_named(extras, message):
    with pytest.raises(MappingError, match=message):
        parse_mapping(_with_extras(extras), "test.yaml")


def test_a_different_extra_is_a_skew():
    trained = parse_mapping(_with_extras([WRENCH]), "trained.yaml")
    given = parse_mapping(_with_extras([{**WRENCH, "fields": ["force.x"]}]), "given.yaml")
    (difference,) = mapping_differences(trained, given)
    assert difference.startswith("observation.state names") and "ft.force.x" in difference


def test_joints_in_degrees_are_features_in_degrees_and_ros_in_radians():
    import numpy as np

    raw = shipped_raw()
    raw["degrees"] = ["panda_joint1"]
    mapping = parse_mapping(raw, "test.yaml")
    state = np.array([np.pi / 2, 0.5, 0, 0, 0, 0, 0, 0.04])
    features = mapping.compose({OBS_STATE: state, "action": state})
    assert features[OBS_STATE][:2].tolist() == pytest.approx([90.0, 0.5])
    assert features["action"][:2].tolist() == pytest.approx([90.0, 0.5])
    np.testing.assert_allclose(mapping.action_to_ros(features["action"]), state)
    np.testing.assert_allclose(mapping.state_to_ros(features[OBS_STATE]), state)
    assert mapping_differences(load_mapping(shipped_path()), mapping) == [
        "degrees: trained [], given ['panda_joint1']"
    ]
    raw["degrees"] = ["elbow"]
    with pytest.raises(MappingError, match="degrees must list joints of the state or the action"):
        parse_mapping(raw, "test.yaml")


def test_the_shipped_so101_mapping_names_lerobots_so101_motors(tmp_path):
    from lerobot_ros.hardware import lerobot_bridge as bridge

    mapping = load_mapping(share_dir() / "config" / "features" / "so101.yaml")
    robot = bridge.make_robot(
        "so101_follower", {"port": "/dev/null", "id": "arm", "calibration_dir": str(tmp_path)}
    )
    motors = tuple(key.removesuffix(".pos") for key in robot.action_features)
    assert mapping.state.names == mapping.action.names == motors
    assert set(mapping.degrees) == set(motors) - {"gripper"}  # LeRobot's degrees mode
