"""Bad feature mappings into lerobot_ros/features/mapping.py (parse_mapping, load_mapping).

Documents are YAML-like trees from hypothesis: valid mappings, valid mappings with keys
deleted, replaced by any YAML value (null, bools, huge integers, NaN/inf, unicode, nested
lists and maps) or added (also non-string keys), and arbitrary documents and files (random
text, other encodings, a directory). The property: MappingError naming the file, or a mapping
that is usable as it is (finite positive rates, ROS-valid topic names, non-empty distinct
joint names, allocatable image sizes) and round-trips through its own keys and through YAML.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from bad_input_support import TALLY, examples, texts
from hypothesis import example, given
from hypothesis import strategies as st
from rclpy.exceptions import InvalidTopicNameException
from rclpy.validate_full_topic_name import validate_full_topic_name

from lerobot_ros.features.mapping import (
    ACTION_TYPES,
    JOINT_FIELDS,
    POSE_FIELDS,
    FeatureMapping,
    MappingError,
    load_mapping,
    mapping_document,
    parse_mapping,
)
from lerobot_ros.robots import panda

pytestmark = pytest.mark.bad_input

SOURCE = "robustness/mapping.yaml"
# An image must fit a buffer that int32 sizes index (OpenCV's Mat and most codecs).
MAX_IMAGE_BYTES = 2**31 - 1
# 1/fps must fit a ROS Duration (int32 seconds) for trajectory actions.
MAX_PERIOD_S = 2**31 - 1


# --- strategies -----------------------------------------------------------------------------

identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
ros_topics = st.lists(identifiers, min_size=1, max_size=3).map(lambda parts: "/" + "/".join(parts))
name_lists = st.lists(texts.filter(bool), min_size=1, max_size=9, unique=True)
huge_ints = st.sampled_from([2**63, 10**400, -(10**400)])
yaml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    huge_ints,
    st.floats(),
    texts,
    ros_topics,
    st.builds(lambda text: "/" + text, texts),  # absolute, but maybe not a ROS name
)
yaml_keys = st.one_of(texts, st.integers(), st.none(), st.booleans(), st.floats(allow_nan=False))
yaml_values = st.recursive(
    yaml_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(yaml_keys, children, max_size=4)
    ),
    max_leaves=10,
)


@st.composite
def valid_mappings(draw: st.DrawFn) -> dict:
    """A mapping parse_mapping must accept, with every optional key present or not."""
    robot = draw(st.booleans())
    raw: dict = {"fps": draw(st.one_of(st.integers(1, 1000), st.floats(0.5, 1000.0)))}
    if robot:
        raw["robot"] = "panda"
    if draw(st.booleans()):
        raw["max_age"] = draw(st.floats(1e-3, 100.0))
    state: dict = {"topic": draw(ros_topics)}
    if not robot or draw(st.booleans()):
        state["names"] = draw(name_lists)
    if draw(st.booleans()):
        state["type"] = "joint_state"
    if draw(st.booleans()):
        state["field"] = draw(st.sampled_from(JOINT_FIELDS))
    observation: dict = {"state": state}
    if draw(st.booleans()):
        pose: dict = {"topic": draw(ros_topics), "marker": draw(texts.filter(bool))}
        if draw(st.booleans()):
            pose["fields"] = draw(
                st.lists(st.sampled_from(POSE_FIELDS), min_size=1, max_size=7, unique=True)
            )
        if draw(st.booleans()):
            pose["type"] = "marker_pose"
        observation["environment_state"] = pose
    if draw(st.booleans()):
        image_names = st.one_of(identifiers, st.sampled_from(["前方", "caméra", "_"]))
        observation["images"] = draw(
            st.dictionaries(
                image_names,
                st.fixed_dictionaries(
                    {
                        "topic": ros_topics,
                        "height": st.integers(1, 4096),
                        "width": st.integers(1, 4096),
                    }
                ),
                max_size=3,
            )
        )
    action: dict = {"topic": draw(ros_topics)}
    if not robot or draw(st.booleans()):
        action["names"] = draw(name_lists)
    if draw(st.booleans()):
        action["type"] = draw(st.sampled_from(ACTION_TYPES))
    return {**raw, "observation": observation, "action": action}


def _paths(tree: object, prefix: tuple = ()) -> list[tuple]:
    paths = [prefix]
    if isinstance(tree, dict):
        for key, value in tree.items():
            paths += _paths(value, (*prefix, key))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            paths += _paths(value, (*prefix, index))
    return paths


def _at(tree: object, path: tuple) -> object:
    for key in path:
        tree = tree[key]
    return tree


@st.composite
def mutated_mappings(draw: st.DrawFn) -> object:
    """A valid mapping with one to three keys deleted, replaced or added."""
    tree: object = draw(valid_mappings())
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(tree)))
        operation = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if not path:
            if operation == "replace":
                tree = draw(yaml_values)
            continue
        parent, key = _at(tree, path[:-1]), path[-1]
        if operation == "delete":
            del parent[key]
        elif operation == "replace":
            parent[key] = draw(yaml_values)
        elif isinstance(_at(tree, path), dict):
            _at(tree, path)[draw(yaml_keys)] = draw(yaml_values)
    return tree


# --- the judge --------------------------------------------------------------------------------


def _topics(mapping: FeatureMapping) -> list[str]:
    pose = [mapping.environment_state.topic] if mapping.environment_state else []
    return [mapping.state.topic, *pose, *(i.topic for i in mapping.images), mapping.action.topic]


def _valid_ros_topic(topic: str) -> bool:
    try:
        validate_full_topic_name(topic)
    except InvalidTopicNameException:
        return False
    return True


def _check_usable(mapping: FeatureMapping) -> None:
    """``mapping`` works as it is: a clock can tick at its fps, ROS takes its topic names,
    its images fit a buffer, and it round-trips."""
    assert 0 < mapping.fps and 0 < mapping.max_age, (mapping.fps, mapping.max_age)
    assert math.isfinite(mapping.fps) and math.isfinite(mapping.max_age), mapping
    assert 1.0 / mapping.fps <= MAX_PERIOD_S, mapping.fps
    refused = [topic for topic in _topics(mapping) if not _valid_ros_topic(topic)]
    assert not refused, f"accepted topic names ROS refuses: {refused}"
    for names in (mapping.state.names, mapping.action.names):
        assert isinstance(names, tuple) and names and len(set(names)) == len(names)
        assert all(isinstance(name, str) and name for name in names)
    assert mapping.state.field in JOINT_FIELDS and mapping.action.type in ACTION_TYPES
    if mapping.environment_state is not None:
        fields = mapping.environment_state.fields
        assert fields and set(fields) <= set(POSE_FIELDS)
        assert isinstance(mapping.environment_state.marker, str)
    for image in mapping.images:
        assert image.name.isidentifier()
        assert type(image.height) is int and type(image.width) is int
        assert image.height > 0 and image.width > 0
        assert image.height * image.width * 3 <= MAX_IMAGE_BYTES, image
    assert parse_mapping(mapping_document(mapping), mapping.source) == mapping  # round trip
    features = mapping.lerobot_features()
    assert set(features) == {*mapping.input_keys, "action"}


def judge(target: str, raw: object) -> FeatureMapping | None:
    """Parse ``raw`` and tally the outcome; the accepted mapping (or None)."""
    return judge_parse(target, lambda: parse_mapping(raw, SOURCE), SOURCE)


def judge_parse(
    target: str, parse: Callable[[], FeatureMapping], source: str
) -> FeatureMapping | None:
    """Run ``parse`` (of a document from ``source``) and tally the outcome."""
    with TALLY.attempt(target) as attempt:
        try:
            mapping = parse()
        except MappingError as error:
            attempt.rejected(error)
            assert source in str(error), str(error)
            return None
        _check_usable(mapping)
        attempt.accepted()
        return mapping


# --- properties ---------------------------------------------------------------------------------


@examples(150)
@given(valid_mappings())
def test_valid_mappings_parse_and_round_trip(raw):
    mapping = judge("mapping.parse_mapping (valid)", raw)
    assert mapping is not None, "a valid mapping was refused"
    # Every key the file gave comes back as given.
    assert mapping.fps == raw["fps"] and mapping.state.topic == raw["observation"]["state"]["topic"]
    assert mapping.state.names == tuple(raw["observation"]["state"].get("names", panda.JOINT_NAMES))
    assert mapping.action.names == tuple(raw["action"].get("names", panda.JOINT_NAMES))
    assert [i.name for i in mapping.images] == list(raw["observation"].get("images", {}))
    # ... and through a YAML file, unicode included (escaped: PyYAML's own unicode output
    # does not round-trip characters such as U+0085, a line break to its reader).
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mapping.yaml"
        path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
        assert load_mapping(path) == parse_mapping(raw, str(path))


@examples(500)
@given(mutated_mappings())
@example({"fps": 30, "observation": {"state": {"topic": "/j", "names": ["a"]}}, "action": None})
@example({"fps": True, "observation": {}, "action": {}})
@example({"robot": "ur5", "fps": 30, "observation": {"state": {"topic": "/j"}}, "action": {}})
def test_mutated_mappings_are_refused_or_usable(raw):
    judge("mapping.parse_mapping (mutated)", raw)


@examples(200)
@given(st.one_of(yaml_values, st.dictionaries(yaml_keys, yaml_values, max_size=6)))
def test_arbitrary_documents_are_refused_or_usable(raw):
    judge("mapping.parse_mapping (arbitrary)", raw)


# --- files ----------------------------------------------------------------------------------------

_DUMP = yaml.safe_dump({"fps": 30, "robot": "panda"}, allow_unicode=True)


@st.composite
def mapping_files(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["text", "yaml", "bytes", "encoded"]))
    if kind == "text":
        return draw(texts).encode("utf-8")
    if kind == "yaml":
        return yaml.safe_dump(draw(mutated_mappings()), allow_unicode=True).encode("utf-8")
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    encoding = draw(st.sampled_from(["utf-16", "utf-32", "latin-1", "cp1252", "shift_jis"]))
    text = draw(st.sampled_from([_DUMP, "robot: panda # caméra ü\n", "task: 前方\n"]))
    return text.encode(encoding, errors="replace")


@examples(150)
@given(mapping_files())
@example(b"a: &a [*a, *a, *a]\nfps: *a\n")
@example(b"\xef\xbb\xbffps: 30\n")
def test_mapping_files_are_refused_or_usable(content):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mapping.yaml"
        path.write_bytes(content)
        judge_parse("mapping.load_mapping", lambda: load_mapping(path), str(path))


def test_a_missing_file_is_a_mapping_error(tmp_path):
    with TALLY.attempt("mapping.load_mapping") as attempt:
        with pytest.raises(MappingError, match="not found") as raised:
            load_mapping(tmp_path / "nothing.yaml")
        attempt.rejected(raised.value)


# --- inputs each of which once escaped as another exception or was accepted unusable -------------


def _valid() -> dict:
    return {
        "robot": "panda",
        "fps": 30,
        "observation": {
            "state": {"topic": "/joint_states"},
            "environment_state": {"topic": "/scene/markers", "marker": "cube"},
        },
        "action": {"topic": "/position_controller/commands"},
    }


def test_unknown_keys_of_mixed_types_are_a_mapping_error():
    raw = {**_valid(), 1: "one", "extra": 2}
    with pytest.raises(MappingError, match="unknown keys"):
        parse_mapping(raw, SOURCE)


def test_an_integer_fps_too_large_for_a_float_is_a_mapping_error():
    with pytest.raises(MappingError, match="fps"):
        parse_mapping({**_valid(), "fps": 10**400}, SOURCE)


@pytest.mark.parametrize("fields", [5, None, True, 1.5])
def test_pose_fields_that_are_not_a_list_are_a_mapping_error(fields):
    raw = _valid()
    raw["observation"]["environment_state"]["fields"] = fields
    with pytest.raises(MappingError, match="fields"):
        parse_mapping(raw, SOURCE)


@pytest.mark.parametrize("fps, max_age", [(math.inf, 1.0), (1e-300, 1.0)])
def test_an_fps_no_clock_can_run_is_a_mapping_error(fps, max_age):
    with pytest.raises(MappingError, match="fps"):
        parse_mapping({**_valid(), "fps": fps, "max_age": max_age}, SOURCE)


@pytest.mark.parametrize("topic", ["/a\tb", "/x//y", "/1a", "/ä", "/"])
def test_a_topic_name_ros_rejects_is_a_mapping_error(topic):
    raw = _valid()
    raw["observation"]["state"]["topic"] = topic
    with pytest.raises(MappingError, match="observation.state.topic"):
        parse_mapping(raw, SOURCE)


def test_an_image_size_no_buffer_can_hold_is_a_mapping_error():
    raw = _valid()
    raw["observation"]["images"] = {"front": {"topic": "/f", "height": 10**12, "width": 10**12}}
    with pytest.raises(MappingError, match="height"):
        parse_mapping(raw, SOURCE)


@pytest.mark.parametrize("kind", ["utf-16", "directory"])
def test_an_unreadable_mapping_file_is_a_mapping_error(tmp_path, kind):
    """A MappingError naming the file, or (UTF-16 with its byte order mark, which YAML
    readers accept) the same mapping as the UTF-8 file."""
    path = tmp_path / "mapping.yaml"
    if kind == "directory":
        path.mkdir()
    else:
        path.write_bytes(yaml.safe_dump(_valid()).encode(kind))
    try:
        mapping = load_mapping(path)
    except MappingError as error:
        assert str(path) in str(error)
    else:
        assert mapping == parse_mapping(_valid(), str(path))
