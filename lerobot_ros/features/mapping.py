"""The feature mapping file: which topics form which LeRobot features, and back.

A mapping (YAML, see ``config/features/panda_pick_cube.yaml``) has

``robot``         a robot of ``lerobot_ros.robots`` whose commanded joints are the default names
``fps``           control / dataset rate (Hz)
``max_age``       seconds an input may lag a tick before the policy pauses (default 2/fps)
``observation``
  ``state``               ``{topic, type: joint_state, field: position|velocity|effort, names}``
  ``state_extra``         optional list of numeric inputs appended to observation.state, in
                          order: ``{name, topic, type, fields}`` with type wrench_stamped,
                          twist_stamped, pose_stamped, or wrench, twist, pose (fields of the
                          wrench/twist/pose, e.g. force.z; no header: stamped on arrival),
                          imu (e.g. angular_velocity.x, orientation.w) or float64_multi_array
                          (indexes; no header: stamped on arrival);
                          state names ``<name>.<field>``
  ``environment_state``   optional ``{topic, type: marker_pose, marker, fields}``
  ``images``              optional ``{name: {topic, height, width, type, depth_max}}``:
                          ``type: image`` (sensor_msgs/Image: rgb8, bgr8, mono8, or depth as
                          16UC1 mm / 32FC1 m, shaded 0..``depth_max`` m) or
                          ``compressed_image`` (sensor_msgs/CompressedImage, jpeg/png);
                          resized to height x width
``action``        ``{topic, type: position_command|joint_trajectory, names}``
``degrees``       optional joint names whose feature values (dataset, policy) are degrees
                  while ROS carries radians (REP 103), as LeRobot's own arm datasets are:
                  states are converted on the way in, actions back on the way out

Every input may say ``reliability: reliable|best_effort`` (its subscription's QoS; default:
the node's profile for that kind of input).

Parsing is strict: unknown keys, wrong types and empty name lists are errors that say where.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

# The mapping of the shipped task, used where none is given (config/ in the share dir).
DEFAULT_MAPPING_FILE = "features/panda_pick_cube.yaml"


def default_mapping_path() -> Path:
    from lerobot_ros.resources import config_path

    return config_path(DEFAULT_MAPPING_FILE)


OBS_STATE = "observation.state"
OBS_ENVIRONMENT_STATE = "observation.environment_state"
OBS_IMAGES_PREFIX = "observation.images."
ACTION = "action"

POSE_FIELDS = ("x", "y", "z", "qw", "qx", "qy", "qz")
JOINT_FIELDS = ("position", "velocity", "effort")
RELIABILITIES = ("reliable", "best_effort")
DEFAULT_DEPTH_MAX = 3.0  # m: depth images shade 0..depth_max, farther is white
MAX_DEPTH = 1000.0
ACTION_TYPES = ("position_command", "joint_trajectory")
# Bounds that catch configuration mistakes: 1/fps must fit a ROS Duration and no control
# loop here ticks faster than 1 kHz; an image must fit an int32-indexed buffer.
FPS_RANGE = (1e-3, 1000.0)
MAX_AGE_LIMIT = 3600.0
MAX_IMAGE_SIDE = 16384
# A full ROS topic name: tokens of ASCII letters, digits and _, not starting with a digit.
_ROS_TOPIC = re.compile(r"(/[A-Za-z_][A-Za-z0-9_]*)+")
MAX_TOPIC_LENGTH = 247  # rcl's limit: 255 minus the DDS topic prefix
# The mapping data was made with travels with it: this file in a dataset's meta/ (written by
# the recorder and bag2dataset) and beside a checkpoint (lerobot-ros attach-mapping).
EMBEDDED_MAPPING_FILE = "lerobot_ros_mapping.yaml"


# ROS message type of each kind of input and output (topic types on the wire and in bags).
JOINT_STATE_TYPE = "sensor_msgs/msg/JointState"
MARKER_ARRAY_TYPE = "visualization_msgs/msg/MarkerArray"
IMAGE_TYPE = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE_TYPE = "sensor_msgs/msg/CompressedImage"
IMAGE_MESSAGE_TYPES = {"image": IMAGE_TYPE, "compressed_image": COMPRESSED_IMAGE_TYPE}
_VECTOR = ("x", "y", "z")
_QUATERNION = ("x", "y", "z", "w")


def _fields(**groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{group}.{axis}" for group, axes in groups.items() for axis in axes)


# Numeric inputs for observation.state: kind -> (ROS type, payload attribute, its fields).
FIELD_INPUT_KINDS: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    "wrench_stamped": (
        "geometry_msgs/msg/WrenchStamped",
        "wrench",
        _fields(force=_VECTOR, torque=_VECTOR),
    ),
    "twist_stamped": (
        "geometry_msgs/msg/TwistStamped",
        "twist",
        _fields(linear=_VECTOR, angular=_VECTOR),
    ),
    "pose_stamped": (
        "geometry_msgs/msg/PoseStamped",
        "pose",
        _fields(position=_VECTOR, orientation=_QUATERNION),
    ),
    # The same without a header: stamped on arrival, as a Float64MultiArray.
    "wrench": ("geometry_msgs/msg/Wrench", None, _fields(force=_VECTOR, torque=_VECTOR)),
    "twist": ("geometry_msgs/msg/Twist", None, _fields(linear=_VECTOR, angular=_VECTOR)),
    "pose": ("geometry_msgs/msg/Pose", None, _fields(position=_VECTOR, orientation=_QUATERNION)),
    "imu": (
        "sensor_msgs/msg/Imu",
        None,
        _fields(orientation=_QUATERNION, angular_velocity=_VECTOR, linear_acceleration=_VECTOR),
    ),
    "float64_multi_array": ("std_msgs/msg/Float64MultiArray", None, ()),  # fields: indexes
}
ARRAY_KINDS = ("float64_multi_array",)  # fields are indexes
MAX_ARRAY_INDEX = 1_000_000

ACTION_MESSAGE_TYPES = {
    "position_command": "std_msgs/msg/Float64MultiArray",
    "joint_trajectory": "trajectory_msgs/msg/JointTrajectory",
}


class MappingError(ValueError):
    """The mapping file is invalid; the message names the key and the file."""


@dataclass(frozen=True)
class StateInput:
    topic: str
    names: tuple[str, ...]
    field: str = "position"
    type: str = "joint_state"
    reliability: str | None = None


@dataclass(frozen=True)
class FieldInput:
    """Numeric fields of one message, appended to observation.state."""

    name: str
    topic: str
    type: str  # a key of FIELD_INPUT_KINDS
    fields: tuple[str, ...]
    reliability: str | None = None

    @property
    def key(self) -> str:
        """Its input key (aligned on its own, then joined to observation.state)."""
        return f"{OBS_STATE}+{self.name}"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f"{self.name}.{field}" for field in self.fields)


@dataclass(frozen=True)
class PoseInput:
    topic: str
    marker: str
    fields: tuple[str, ...] = POSE_FIELDS
    type: str = "marker_pose"
    reliability: str | None = None


@dataclass(frozen=True)
class ImageInput:
    name: str
    topic: str
    height: int
    width: int
    type: str = "image"  # or compressed_image
    depth_max: float = DEFAULT_DEPTH_MAX
    reliability: str | None = None

    @property
    def key(self) -> str:
        return OBS_IMAGES_PREFIX + self.name


@dataclass(frozen=True)
class ActionOutput:
    topic: str
    names: tuple[str, ...]
    type: str = "position_command"


@dataclass(frozen=True)
class FeatureMapping:
    fps: float
    max_age: float
    state: StateInput
    action: ActionOutput
    environment_state: PoseInput | None = None
    images: tuple[ImageInput, ...] = ()
    source: str = "<memory>"
    robot: str | None = None  # a robot shipped here (lerobot_ros.robots.known_robot)
    state_extra: tuple[FieldInput, ...] = ()
    degrees: tuple[str, ...] = ()  # joints in degrees on the feature side

    def _scale(self, names: tuple[str, ...]) -> np.ndarray:
        """Feature value per ROS value of each name (180/pi for a joint in degrees)."""
        return np.array([180.0 / np.pi if name in self.degrees else 1.0 for name in names])

    def action_to_ros(self, action: np.ndarray) -> np.ndarray:
        """A policy's / dataset's action in ROS units (radians for joints in ``degrees``)."""
        return np.asarray(action, dtype=np.float64) / self._scale(self.action.names)

    def state_to_ros(self, state: np.ndarray) -> np.ndarray:
        """observation.state back in ROS units (the joints part; dataset2bag)."""
        joints = np.asarray(state, dtype=np.float64)[: len(self.state.names)]
        return joints / self._scale(self.state.names)

    @property
    def input_keys(self) -> tuple[str, ...]:
        """The dataset / policy features this mapping provides."""
        keys = [OBS_STATE]
        if self.environment_state is not None:
            keys.append(OBS_ENVIRONMENT_STATE)
        return (*keys, *(image.key for image in self.images))

    @property
    def source_keys(self) -> tuple[str, ...]:
        """Every input as it is subscribed and aligned: the features' inputs and each
        state_extra input (joined to observation.state by :meth:`compose`)."""
        return (*self.input_keys, *(extra.key for extra in self.state_extra))

    @property
    def state_names(self) -> tuple[str, ...]:
        """observation.state's names: the joints, then each state_extra field."""
        return (*self.state.names, *(n for extra in self.state_extra for n in extra.names))

    def compose(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Aligned values by source key (ROS units) -> values by feature key: state_extra
        joined to observation.state, joints in ``degrees`` converted (the action too)."""
        composed = {key: value for key, value in values.items() if "+" not in key}
        if OBS_STATE in composed:
            joints = np.asarray(composed[OBS_STATE], dtype=np.float64) * self._scale(
                self.state.names
            )
            parts = [joints, *(values[extra.key] for extra in self.state_extra)]
            composed[OBS_STATE] = np.concatenate([np.asarray(p).reshape(-1) for p in parts])
        if ACTION in composed and self.degrees:
            composed[ACTION] = np.asarray(composed[ACTION]) * self._scale(self.action.names)
        return composed

    def extra(self, key: str) -> FieldInput:
        for extra in self.state_extra:
            if extra.key == key:
                return extra
        raise KeyError(key)

    def topic_types(self) -> dict[str, tuple[str, str]]:
        """Source key -> (topic, ROS message type) of every mapped input and the action."""
        types = {OBS_STATE: (self.state.topic, JOINT_STATE_TYPE)}
        for extra in self.state_extra:
            types[extra.key] = (extra.topic, FIELD_INPUT_KINDS[extra.type][0])
        if self.environment_state is not None:
            types[OBS_ENVIRONMENT_STATE] = (self.environment_state.topic, MARKER_ARRAY_TYPE)
        for image in self.images:
            types[image.key] = (image.topic, IMAGE_MESSAGE_TYPES[image.type])
        types[ACTION] = (self.action.topic, ACTION_MESSAGE_TYPES[self.action.type])
        return types

    def reliability(self, key: str) -> str | None:
        """The QoS reliability the mapping asks for on input ``key`` (None: the default)."""
        if key == OBS_STATE:
            return self.state.reliability
        if key == OBS_ENVIRONMENT_STATE and self.environment_state is not None:
            return self.environment_state.reliability
        if "+" in key:
            return self.extra(key).reliability
        return self.image(key).reliability

    def image(self, key: str) -> ImageInput:
        for image in self.images:
            if image.key == key:
                return image
        raise KeyError(key)

    def restricted_to(self, keys: set[str] | frozenset[str]) -> FeatureMapping:
        """The same mapping with only the inputs in ``keys`` (a policy's input features).

        MappingError if ``keys`` asks for an input this mapping does not provide.
        """
        missing = set(keys) - set(self.input_keys)
        if missing:
            raise MappingError(
                f"{self.source}: the policy needs {sorted(missing)}, which this mapping does not "
                f"provide (it has {list(self.input_keys)})"
            )
        if OBS_STATE not in keys:
            raise MappingError(f"{self.source}: inputs without {OBS_STATE} are not supported")
        return FeatureMapping(
            fps=self.fps,
            max_age=self.max_age,
            state=self.state,
            action=self.action,
            environment_state=self.environment_state if OBS_ENVIRONMENT_STATE in keys else None,
            images=tuple(image for image in self.images if image.key in keys),
            source=self.source,
            robot=self.robot,
            state_extra=self.state_extra,
            degrees=self.degrees,
        )

    def with_image_sizes(self, sizes: Mapping[str, tuple[int, int]]) -> FeatureMapping:
        """The same mapping with the images of ``sizes`` (key -> (height, width)) resized to
        them: the size a policy was trained on wins over the file's."""
        images = tuple(
            replace(image, height=sizes[image.key][0], width=sizes[image.key][1])
            if image.key in sizes
            else image
            for image in self.images
        )
        return replace(self, images=images)

    def lerobot_features(self, use_videos: bool = True) -> dict[str, dict[str, Any]]:
        """LeRobot dataset features (dtype, shape, names) of this mapping."""
        features: dict[str, dict[str, Any]] = {
            OBS_STATE: {
                "dtype": "float32",
                "shape": (len(self.state_names),),
                "names": list(self.state_names),
            },
            ACTION: {
                "dtype": "float32",
                "shape": (len(self.action.names),),
                "names": list(self.action.names),
            },
        }
        if self.environment_state is not None:
            pose = self.environment_state
            features[OBS_ENVIRONMENT_STATE] = {
                "dtype": "float32",
                "shape": (len(pose.fields),),
                "names": [f"{pose.marker}.{field}" for field in pose.fields],
            }
        for image in self.images:
            features[image.key] = {
                "dtype": "video" if use_videos else "image",
                "shape": (image.height, image.width, 3),
                "names": ["height", "width", "channels"],
            }
        return features


def mapping_document(mapping: FeatureMapping) -> dict[str, Any]:
    """The YAML document of ``mapping`` (what parse_mapping reads back to the same mapping)."""
    state = mapping.state
    observation: dict[str, Any] = {
        "state": _with_reliability(
            {
                "topic": state.topic,
                "type": state.type,
                "field": state.field,
                "names": list(state.names),
            },
            state.reliability,
        )
    }
    if mapping.state_extra:
        observation["state_extra"] = [
            _with_reliability(
                {
                    "name": extra.name,
                    "topic": extra.topic,
                    "type": extra.type,
                    "fields": list(extra.fields),
                },
                extra.reliability,
            )
            for extra in mapping.state_extra
        ]
    if mapping.environment_state is not None:
        pose = mapping.environment_state
        observation["environment_state"] = _with_reliability(
            {
                "topic": pose.topic,
                "type": pose.type,
                "marker": pose.marker,
                "fields": list(pose.fields),
            },
            pose.reliability,
        )
    if mapping.images:
        observation["images"] = {
            image.name: _with_reliability(
                {
                    "topic": image.topic,
                    "height": image.height,
                    "width": image.width,
                    "type": image.type,
                    "depth_max": image.depth_max,
                },
                image.reliability,
            )
            for image in mapping.images
        }
    document: dict[str, Any] = {} if mapping.robot is None else {"robot": mapping.robot}
    if mapping.degrees:
        document["degrees"] = list(mapping.degrees)
    document |= {
        "fps": mapping.fps,
        "max_age": mapping.max_age,
        "observation": observation,
        "action": {
            "topic": mapping.action.topic,
            "type": mapping.action.type,
            "names": list(mapping.action.names),
        },
    }
    return document


def _with_reliability(section: dict[str, Any], reliability: str | None) -> dict[str, Any]:
    return section if reliability is None else {**section, "reliability": reliability}


def save_mapping(mapping: FeatureMapping, path: str | Path) -> Path:
    """Write ``mapping`` as YAML, atomically (a reader never sees half a file)."""
    path = Path(path)
    text = (
        f"# The lerobot_ros feature mapping this data was made with (from {mapping.source}).\n"
        + yaml.safe_dump(mapping_document(mapping), sort_keys=False)
    )
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    partial.replace(path)
    return path


def mapping_differences(trained: FeatureMapping, given: FeatureMapping) -> list[str]:
    """How ``given`` would feed a policy differently from the mapping it was trained with
    (train/serve skew): rate, which joints in which order, which field, pose fields, cameras,
    action joints. Topics, max_age and image sizes may differ (sizes follow the policy)."""
    differences = []

    def compare(what: str, a: object, b: object) -> None:
        if a != b:
            differences.append(f"{what}: trained {a!r}, given {b!r}")

    compare("fps", trained.fps, given.fps)
    compare(f"{OBS_STATE} field", trained.state.field, given.state.field)
    compare(f"{OBS_STATE} names", list(trained.state_names), list(given.state_names))
    compare(
        "state_extra types",
        [extra.type for extra in trained.state_extra],
        [extra.type for extra in given.state_extra],
    )
    pose_a, pose_b = trained.environment_state, given.environment_state
    compare(
        OBS_ENVIRONMENT_STATE,
        pose_a and [pose_a.marker, *pose_a.fields],
        pose_b and [pose_b.marker, *pose_b.fields],
    )
    compare("cameras", [i.name for i in trained.images], [i.name for i in given.images])
    compare(f"{ACTION} type", trained.action.type, given.action.type)
    compare(f"{ACTION} names", list(trained.action.names), list(given.action.names))
    compare("degrees", sorted(trained.degrees), sorted(given.degrees))
    return differences


def _section(raw: Any, where: str, allowed: set[str], required: set[str]) -> dict:
    if not isinstance(raw, Mapping):
        raise MappingError(f"{where} must be a mapping, got {type(raw).__name__}")
    unknown = set(raw) - allowed
    if unknown:
        raise MappingError(
            f"{where} has unknown keys {sorted(unknown, key=repr)}; allowed: {sorted(allowed)}"
        )
    missing = required - set(raw)
    if missing:
        raise MappingError(f"{where} is missing {sorted(missing)}")
    return dict(raw)


def _topic(raw: Any, where: str) -> str:
    if not isinstance(raw, str) or len(raw) > MAX_TOPIC_LENGTH or not _ROS_TOPIC.fullmatch(raw):
        raise MappingError(
            f"{where}.topic must be an absolute topic name like /joint_states, got {raw!r}"
        )
    return raw


def _reliability(raw: Mapping, where: str) -> str | None:
    value = raw.get("reliability")
    if value is not None and value not in RELIABILITIES:
        raise MappingError(f"{where}.reliability must be one of {RELIABILITIES}, got {value!r}")
    return value


def _names(raw: Any, default: tuple[str, ...] | None, where: str) -> tuple[str, ...]:
    if raw is None:
        if default is None:
            raise MappingError(f"{where}.names is required (no robot given)")
        return default
    if not isinstance(raw, list) or not raw or not all(isinstance(n, str) and n for n in raw):
        raise MappingError(f"{where}.names must be a non-empty list of strings")
    if len(set(raw)) != len(raw):
        raise MappingError(f"{where}.names repeats a name: {raw}")
    return tuple(raw)


def _positive(raw: Any, where: str, high: float, integer: bool = False, low: float = 0.0) -> float:
    """A number in (low, high]: NaN, inf, bools and huge integers are MappingErrors too."""
    kind = int if integer else (int, float)
    if isinstance(raw, bool) or not isinstance(raw, kind) or not low < raw <= high:
        above = f" above {low:g} and" if low else ""
        raise MappingError(
            f"{where} must be a positive {'integer' if integer else 'number'}{above} at most "
            f"{high:g}, got {raw!r}"
        )
    return raw


def _robot_joint_names(robot: Any, source: str) -> tuple[str, ...] | None:  # noqa: ANN401
    """The commanded joints of a robot shipped here, in its order (None: no robot given)."""
    if robot is None:
        return None
    from lerobot_ros.robots import RobotModelError, known_robot

    try:
        return known_robot(robot).commanded_names
    except RobotModelError as error:
        raise MappingError(f"{source}: {error}") from None


def parse_mapping(raw: Any, source: str = "<memory>") -> FeatureMapping:
    """Validate a parsed YAML document; MappingError says what is wrong and where."""
    top = _section(
        raw,
        source,
        {"robot", "fps", "max_age", "observation", "action", "degrees"},
        {"fps", "observation", "action"},
    )
    default_names = _robot_joint_names(top.get("robot"), source)
    fps = float(_positive(top["fps"], f"{source}: fps", FPS_RANGE[1], low=FPS_RANGE[0]))
    max_age = float(_positive(top.get("max_age", 2.0 / fps), f"{source}: max_age", MAX_AGE_LIMIT))

    observation = _section(
        top["observation"],
        f"{source}: observation",
        {"state", "state_extra", "environment_state", "images"},
        {"state"},
    )
    where = f"{source}: observation.state"
    raw_state = _section(
        observation["state"], where, {"topic", "type", "field", "names", "reliability"}, {"topic"}
    )
    if raw_state.get("type", "joint_state") != "joint_state":
        raise MappingError(f"{where}.type must be joint_state, got {raw_state['type']!r}")
    field = raw_state.get("field", "position")
    if field not in JOINT_FIELDS:
        raise MappingError(f"{where}.field must be one of {JOINT_FIELDS}, got {field!r}")
    state = StateInput(
        _topic(raw_state["topic"], where),
        _names(raw_state.get("names"), default_names, where),
        field,
        reliability=_reliability(raw_state, where),
    )

    state_extra = _state_extra(observation.get("state_extra") or [], source)
    taken = set(state.names)
    for extra in state_extra:
        repeated = taken & set(extra.names)
        if repeated:
            raise MappingError(f"{source}: observation.state names repeat: {sorted(repeated)}")
        taken |= set(extra.names)

    environment_state = None
    if "environment_state" in observation:
        where = f"{source}: observation.environment_state"
        raw_pose = _section(
            observation["environment_state"],
            where,
            {"topic", "type", "marker", "fields", "reliability"},
            {"topic", "marker"},
        )
        if raw_pose.get("type", "marker_pose") != "marker_pose":
            raise MappingError(f"{where}.type must be marker_pose, got {raw_pose['type']!r}")
        fields = raw_pose.get("fields", list(POSE_FIELDS))
        if (
            not isinstance(fields, list)
            or not fields
            or any(f not in POSE_FIELDS for f in fields)
            or len(set(fields)) != len(fields)
        ):
            raise MappingError(
                f"{where}.fields must be a non-empty subset of {POSE_FIELDS} (a list, no "
                f"repeats), got {fields!r}"
            )
        fields = tuple(fields)
        if not isinstance(raw_pose["marker"], str) or not raw_pose["marker"]:
            raise MappingError(f"{where}.marker must be a marker name (its text field)")
        environment_state = PoseInput(
            _topic(raw_pose["topic"], where),
            raw_pose["marker"],
            fields,
            reliability=_reliability(raw_pose, where),
        )

    images = []
    raw_images = observation.get("images") or {}
    if not isinstance(raw_images, Mapping):
        raise MappingError(f"{source}: observation.images must map names to image inputs")
    for name, raw_image in raw_images.items():
        where = f"{source}: observation.images.{name}"
        if not isinstance(name, str) or not name.isidentifier():
            raise MappingError(f"{where}: image names must be identifiers like front or wrist")
        spec = _section(
            raw_image,
            where,
            {"topic", "height", "width", "type", "depth_max", "reliability"},
            {"topic", "height", "width"},
        )
        kind = spec.get("type", "image")
        if kind not in IMAGE_MESSAGE_TYPES:
            raise MappingError(
                f"{where}.type must be one of {tuple(IMAGE_MESSAGE_TYPES)}, got {kind!r}"
            )
        images.append(
            ImageInput(
                name,
                _topic(spec["topic"], where),
                int(_positive(spec["height"], f"{where}.height", MAX_IMAGE_SIDE, integer=True)),
                int(_positive(spec["width"], f"{where}.width", MAX_IMAGE_SIDE, integer=True)),
                kind,
                float(
                    _positive(
                        spec.get("depth_max", DEFAULT_DEPTH_MAX), f"{where}.depth_max", MAX_DEPTH
                    )
                ),
                _reliability(spec, where),
            )
        )

    where = f"{source}: action"
    raw_action = _section(top["action"], where, {"topic", "type", "names"}, {"topic"})
    action_type = raw_action.get("type", "position_command")
    if action_type not in ACTION_TYPES:
        raise MappingError(f"{where}.type must be one of {ACTION_TYPES}, got {action_type!r}")
    action = ActionOutput(
        _topic(raw_action["topic"], where),
        _names(raw_action.get("names"), default_names, where),
        action_type,
    )
    degrees = top.get("degrees") or []
    joints = set(state.names) | set(action.names)
    if not isinstance(degrees, list) or not all(
        isinstance(name, str) and name in joints for name in degrees
    ):
        raise MappingError(
            f"{source}: degrees must list joints of the state or the action, got {degrees!r}"
        )
    return FeatureMapping(
        fps,
        max_age,
        state,
        action,
        environment_state,
        tuple(images),
        source,
        top.get("robot"),
        state_extra,
        tuple(degrees),
    )


def _state_extra(raw: Any, source: str) -> tuple[FieldInput, ...]:  # noqa: ANN401
    where = f"{source}: observation.state_extra"
    if not isinstance(raw, list):
        raise MappingError(f"{where} must be a list of inputs")
    extras = []
    for index, raw_extra in enumerate(raw):
        here = f"{where}[{index}]"
        spec = _section(
            raw_extra,
            here,
            {"name", "topic", "type", "fields", "reliability"},
            {"name", "topic", "type", "fields"},
        )
        name, kind, fields = spec["name"], spec["type"], spec["fields"]
        if not isinstance(name, str) or not name.isidentifier():
            raise MappingError(f"{here}.name must be an identifier like wrist_ft, got {name!r}")
        if kind not in FIELD_INPUT_KINDS:
            raise MappingError(
                f"{here}.type must be one of {tuple(FIELD_INPUT_KINDS)}, got {kind!r}"
            )
        if kind in ARRAY_KINDS:
            fields = [str(f) for f in fields] if isinstance(fields, list) else fields
            valid = isinstance(fields, list) and all(
                f.isdigit() and int(f) < MAX_ARRAY_INDEX for f in fields
            )
            expected = "array indexes like [0, 2]"
        else:
            allowed = FIELD_INPUT_KINDS[kind][2]
            valid = isinstance(fields, list) and all(f in allowed for f in fields)
            expected = f"fields of {kind}: {list(allowed)}"
        if not valid or not fields or len(set(fields)) != len(fields):
            raise MappingError(
                f"{here}.fields must be a non-empty list without repeats of {expected}, got "
                f"{spec['fields']!r}"
            )
        extras.append(
            FieldInput(
                name,
                _topic(spec["topic"], here),
                kind,
                tuple(str(f) for f in fields),
                _reliability(spec, here),
            )
        )
    names = [extra.name for extra in extras]
    if len(set(names)) != len(names):
        raise MappingError(f"{where}: names repeat: {names}")
    return tuple(extras)


def load_mapping(path: str | Path) -> FeatureMapping:
    """Read and validate a mapping file."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_bytes())  # YAML's own decoding: UTF-8/16/32 with BOM
    except FileNotFoundError:
        raise MappingError(f"feature mapping file not found: {path}") from None
    except OSError as error:
        raise MappingError(f"cannot read feature mapping file {path}: {error}") from None
    except yaml.YAMLError as error:
        raise MappingError(f"{path} is not valid YAML: {error}") from None
    return parse_mapping(raw, str(path))
