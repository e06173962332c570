"""Any LeRobot ``Robot`` or ``Teleoperator`` on the topic contract, with no ROS in sight.

The LeRobot nodes (``lerobot_robot_node``, ``lerobot_teleop_node``) are thin wrappers around
this module; it builds a device from a type name and a config, connects it, and maps its
features onto the contract.

Building. A device is named by its LeRobot type (``so100_follower``, ``so101_follower``,
``koch_follower``, ``koch_leader``, ...): the draccus choice names LeRobot's config classes
register when their packages are imported, so :func:`known_types` imports all of them (and
third-party ``lerobot_robot_*`` / ``lerobot_teleoperator_*`` plugins) first. The config is a
mapping, a YAML/JSON text or the path of a YAML/JSON file, with the fields of that type's
config class (``port``, ``id``, ``calibration_dir``, ``cameras``, ...), decoded by draccus as
LeRobot's own command line does. An unknown type lists the known ones; a bad field, a failed
connection and a missing calibration raise :class:`BridgeError` naming the device and why.

Calibration comes from LeRobot's calibration files only (``<calibration_dir>/<id>.json``,
default ``$HF_LEROBOT_CALIBRATION/{robots,teleoperators}/<type>/<id>.json``): devices are
connected with ``calibrate=False``, so nothing ever waits for keyboard input. When the
motors hold a different calibration than the file, the file's is written to them, as
``lerobot-calibrate`` does when you press ENTER to keep an existing file; with no file the
connection is refused with the ``lerobot-calibrate`` command to run.

Feature mapping (one :class:`JointMap` per direction):

* commands: every float action feature is one element of ``/position_controller/commands``,
  in the device's ``action_features`` order; the joint name is the key without ``.pos``;
* state: every float observation feature ``<joint>.pos`` is one ``/joint_states`` entry
  named ``<joint>``, in ``observation_features`` order;
* cameras: every ``(height, width, 3)`` observation feature ``<name>`` is an rgb8 image on
  ``/camera/<name>/image_raw``.

Units (``units``): LeRobot reports a motor either in degrees or in a normalized range of its
calibrated travel (``MotorNormMode`` DEGREES, RANGE_M100_100, RANGE_0_100), all linear in
encoder ticks, so with the calibration each converts exactly to an angle:

* ``"radians"`` (default; what URDFs, RViz and MoveIt expect): 0 rad is the middle of the
  calibrated range (the zero LeRobot's degrees mode uses too). DEGREES: ``deg * pi / 180``;
  RANGE_M100_100: ``v / 100 * (max - min) / 2 * 2 pi / (resolution - 1)``; RANGE_0_100:
  ``(v - 50) / 100 * (max - min) * 2 pi / (resolution - 1)``. A bus that applies an inverted
  drive mode (Feetech) has already flipped the value, so radians keep LeRobot's direction.
  Joint limits are the calibrated range.
  Features without a motor calibration (base velocities, SDK-driven robots) pass through
  in LeRobot's units, unbounded; :meth:`JointMap.describe` says which.
* ``"lerobot"``: LeRobot's numbers untouched, so a policy trained on this robot's LeRobot
  datasets reads the values it was trained on. Limits are the norm mode's bounds.

A teleoperator's action is the follower's command in LeRobot (the normalized values pass
from leader to follower as they are), so the teleop side converts it with the *follower's*
calibration: both nodes then agree on what a number on the topic means.
"""

from __future__ import annotations

import importlib
import math
import pkgutil
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lerobot_ros.control.joint_commands import JointLimits
from lerobot_ros.hardware.connecting import CONNECT_ATTEMPTS, connect_with_retries

if TYPE_CHECKING:  # LeRobot is imported lazily: it is slow to import
    from lerobot.robots import Robot
    from lerobot.teleoperators import Teleoperator

ROBOT = "robot"
TELEOPERATOR = "teleoperator"
UNITS = ("radians", "lerobot")
POSITION_SUFFIX = ".pos"

# LeRobot packages whose import registers the config choices (devices and their cameras).
_REGISTRY_PACKAGES = {
    ROBOT: ("lerobot.robots", "lerobot.cameras"),
    TELEOPERATOR: ("lerobot.teleoperators", "lerobot.cameras"),
}
_CLI_PREFIX = {ROBOT: "robot", TELEOPERATOR: "teleop"}  # lerobot-calibrate --robot.type=...
_MADE_AS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # device -> the type asked for


class BridgeError(ValueError):
    """The device cannot be built, connected or mapped; the message says which and why."""


# --- building -----------------------------------------------------------------------------
def _config_base(kind: str) -> type:
    if kind == ROBOT:
        from lerobot.robots import RobotConfig

        return RobotConfig
    if kind == TELEOPERATOR:
        from lerobot.teleoperators import TeleoperatorConfig

        return TeleoperatorConfig
    raise ValueError(f"kind must be {ROBOT!r} or {TELEOPERATOR!r}, got {kind!r}")


_registered: set[str] = set()


def _register_all(kind: str) -> None:
    """Import every LeRobot device package of this kind so its config type registers."""
    if kind in _registered:
        return
    from lerobot.utils.import_utils import register_third_party_plugins

    for package_name in _REGISTRY_PACKAGES[kind]:
        package = importlib.import_module(package_name)
        for module in pkgutil.iter_modules(package.__path__):
            if not module.ispkg:
                continue
            try:
                importlib.import_module(f"{package_name}.{module.name}")
            except Exception:  # noqa: BLE001, S112 - an optional SDK is missing: skip that device
                continue  # (its config usually registered before the failing import anyway)
    register_third_party_plugins()
    _registered.add(kind)


def known_types(kind: str) -> list[str]:
    """The registered LeRobot type names of this kind (``robot`` or ``teleoperator``).

    A type whose SDK is not installed is listed too; building it fails with LeRobot's reason.
    """
    base = _config_base(kind)
    _register_all(kind)
    return sorted(base.get_known_choices())


def parse_config(config: Mapping[str, Any] | str | Path | None, what: str) -> dict[str, Any]:
    """A device config from a mapping, a YAML/JSON text, or the path of a YAML/JSON file.

    ``what`` names the parameter in errors. An empty string or None is an empty config.
    """
    import yaml

    if config is None:
        return {}
    if isinstance(config, Mapping):
        return dict(config)
    text = str(config).strip()
    if not text:
        return {}
    # One line that is not YAML flow or "key: value" text is a file path.
    if "\n" not in text and not text.startswith(("{", "[")) and ": " not in text:
        path = Path(text).expanduser()
        if not path.is_file():
            raise BridgeError(f"{what}: config file {path} does not exist")
        text, source = path.read_text(), str(path)
    else:
        source = "the text"
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise BridgeError(f"{what}: {source} is not valid YAML/JSON: {error}") from error
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise BridgeError(
            f"{what}: {source} must hold a mapping of config fields, got {type(document).__name__}"
        )
    return dict(document)


def make_device_config(kind: str, device_type: str, config: Mapping[str, Any] | str | None) -> Any:  # noqa: ANN401 - a RobotConfig or TeleoperatorConfig subclass
    """The LeRobot config object of ``device_type`` decoded from ``config``."""
    import draccus

    known = known_types(kind)
    if device_type not in known:
        raise BridgeError(
            f"unknown LeRobot {kind} type {device_type!r}; known types: {', '.join(known)}"
        )
    fields = parse_config(config, f"{kind} config of {device_type}")
    config_type = fields.pop("type", device_type)  # the type is given separately
    if config_type != device_type:
        raise BridgeError(
            f"{kind} config says type {config_type!r}, but the type is {device_type!r}"
        )
    config_class = _config_base(kind).get_choice_class(device_type)
    try:
        return draccus.decode(config_class, fields)
    except Exception as error:  # draccus raises DecodingError/ParsingError, __post_init__ anything
        cause = f" ({error.__cause__})" if error.__cause__ else ""
        raise BridgeError(f"bad {kind} config for {device_type}: {error}{cause}") from error


def make_robot(robot_type: str, config: Mapping[str, Any] | str | None = None) -> Robot:
    """An unconnected LeRobot ``Robot`` of ``robot_type`` (see module docstring)."""
    from lerobot.robots import make_robot_from_config

    device_config = make_device_config(ROBOT, robot_type, config)
    try:
        robot = make_robot_from_config(device_config)
    except Exception as error:  # noqa: BLE001 - any constructor failure is a config problem
        _raise_if_calibration_unreadable(ROBOT, robot_type, device_config, error)
        raise BridgeError(f"cannot create LeRobot robot {robot_type}: {error}") from error
    _MADE_AS[robot] = robot_type
    return robot


def make_teleoperator(
    teleop_type: str, config: Mapping[str, Any] | str | None = None
) -> Teleoperator:
    """An unconnected LeRobot ``Teleoperator`` of ``teleop_type`` (see module docstring)."""
    from lerobot.teleoperators import make_teleoperator_from_config

    device_config = make_device_config(TELEOPERATOR, teleop_type, config)
    try:
        teleoperator = make_teleoperator_from_config(device_config)
    except Exception as error:  # noqa: BLE001 - any constructor failure is a config problem
        _raise_if_calibration_unreadable(TELEOPERATOR, teleop_type, device_config, error)
        raise BridgeError(f"cannot create LeRobot teleoperator {teleop_type}: {error}") from error
    _MADE_AS[teleoperator] = teleop_type
    return teleoperator


# --- connecting ---------------------------------------------------------------------------
def _kind_of(device: Any) -> str:  # noqa: ANN401 - a LeRobot Robot or Teleoperator
    from lerobot.robots import Robot

    return ROBOT if isinstance(device, Robot) else TELEOPERATOR


def motor_buses(device: Any) -> list[tuple[str, Any]]:  # noqa: ANN401
    """``(key prefix, bus)`` of the device's LeRobot motor buses.

    Its own buses have prefix ``""``; buses of sub-devices one level down (the arms of the
    bimanual robots, whose features are prefixed ``left_`` / ``right_``) get the first word
    of the attribute name (``left_arm`` -> ``left_``).
    """
    from lerobot.motors.motors_bus import MotorsBusBase
    from lerobot.robots import Robot
    from lerobot.teleoperators import Teleoperator

    found = []
    for name, value in vars(device).items():
        if isinstance(value, MotorsBusBase):
            found.append(("", value))
        elif isinstance(value, (Robot, Teleoperator)):
            prefix = name.split("_", 1)[0] + "_"
            found += [(prefix + p, bus) for p, bus in motor_buses(value)]
    return found


def device_type(device: Any) -> str:  # noqa: ANN401 - a LeRobot Robot or Teleoperator
    """The type the device was made as (``so101_follower``), as LeRobot's command lines take
    it: its class's ``name`` may be a family's (``so_follower``), and its config's ``type``
    the first of several registered for one class (``so100_follower``)."""
    made_as = _MADE_AS.get(device)
    if made_as is not None:
        return made_as
    try:
        return str(device.config.type)
    except (AttributeError, NotImplementedError):
        return str(device.name)


def _calibration_command(kind: str, type_name: str, config: Any) -> str:  # noqa: ANN401
    prefix = _CLI_PREFIX[kind]
    port = getattr(config, "port", None)
    port_argument = f" --{prefix}.port={port}" if port else ""
    return f"lerobot-calibrate --{prefix}.type={type_name}{port_argument} --{prefix}.id={config.id}"


def _raise_if_calibration_unreadable(
    kind: str,
    type_name: str,
    config: Any,  # noqa: ANN401 - a device config
    error: Exception,
) -> None:
    """A device constructor loads its calibration file: one in ``calibration_dir`` that is not
    LeRobot's calibration JSON is named, with the command that writes it again."""
    import draccus
    from lerobot.motors import MotorCalibration

    directory = getattr(config, "calibration_dir", None)
    path = Path(directory) / f"{config.id}.json" if directory else None
    if path is None or not path.is_file():
        return  # not about the calibration file: the constructor's own error stands
    try:
        with open(path) as file, draccus.config_type("json"):
            draccus.load(dict[str, MotorCalibration], file)
    except Exception as load_error:  # noqa: BLE001 - JSON and draccus errors alike
        raise BridgeError(
            f"calibration file {path} is not a LeRobot calibration ({load_error}); run "
            f"`{_calibration_command(kind, type_name, config)}` to write it again"
        ) from error


def connect(device: Any, attempts: int = CONNECT_ATTEMPTS) -> list[str]:  # noqa: ANN401
    """Connect without interactive calibration; return notes on what was done.

    A failed connection is retried ``attempts`` times in all. BridgeError if it still fails
    (with the last error) or the device is not calibrated (no file). The device is left
    disconnected on failure.
    """
    what = f"LeRobot {_kind_of(device)} {device_type(device)} (id {device.id!r})"
    notes: list[str] = []
    try:
        connect_with_retries(
            lambda: device.connect(calibrate=False),
            lambda: disconnect(device),
            attempts,
            retry_on=Exception,  # serial, SDK and camera errors all land here
            on_retry=lambda attempt, error: notes.append(
                f"connection attempt {attempt} failed, retried: {error}".strip()
            ),
        )
    except Exception as error:  # noqa: BLE001 - the last attempt's error, whatever it is
        tries = f" ({attempts} attempts)" if attempts > 1 else ""
        raise BridgeError(f"cannot connect {what}{tries}: {error}".strip()) from error
    try:
        if not device.is_calibrated:
            for prefix, bus in motor_buses(device):
                if bus.calibration and bus.calibration != bus.read_calibration():
                    bus.disable_torque()  # the calibration lives in EEPROM
                    bus.write_calibration(bus.calibration)
                    notes.append(
                        "wrote the calibration file's values to the motors"
                        + (f" of {prefix.rstrip('_')}" if prefix else "")
                    )
            if notes:
                device.configure()  # again, now calibrated: LeRobot's modes, torque and goals
        if not device.is_calibrated:
            raise BridgeError(
                f"{what} is not calibrated: no calibration file at {device.calibration_fpath}; "
                f"run `{_calibration_command(_kind_of(device), device_type(device), device.config)}` (or set "
                "calibration_dir/id to an existing "
                "file)"
            )
    except BridgeError:
        disconnect(device)
        raise
    except Exception as error:  # noqa: BLE001 - bus errors while checking the calibration
        disconnect(device)
        raise BridgeError(f"cannot check the calibration of {what}: {error}") from error
    return notes


def disconnect(device: Any) -> None:  # noqa: ANN401
    """Disconnect (LeRobot disables torque where its config says so); never raises.

    Also closes buses left open by a connection that failed half-way.
    """
    try:
        if device.is_connected:
            device.disconnect()
    except Exception:  # noqa: BLE001, S110 - best effort on the way out
        pass
    for _, bus in motor_buses(device):
        try:
            if bus.is_connected:
                bus.disconnect(disable_torque=False)
        except Exception:  # noqa: BLE001, S110
            pass


def uncalibrated_motors(device: Any) -> list[str]:  # noqa: ANN401
    """Motors of the device's buses that its calibration file does not cover."""
    return [
        f"{prefix}{name}"
        for prefix, bus in motor_buses(device)
        for name in bus.motors
        if name not in (getattr(bus, "calibration", None) or {})
    ]


def require_calibration_file(device: Any) -> None:  # noqa: ANN401
    """BridgeError unless the calibration file covers every motor (checked without connecting;
    a teleoperator's follower is never connected by the teleop node)."""
    missing = uncalibrated_motors(device)
    if missing:
        raise BridgeError(
            f"LeRobot {_kind_of(device)} {device_type(device)} (id {device.id!r}) has no calibration for "
            f"{missing} in {device.calibration_fpath}; run `{_calibration_command(_kind_of(device), device_type(device), device.config)}`"
        )


def set_torque(device: Any, enabled: bool) -> bool:  # noqa: ANN401
    """Enable or disable the torque of every motor bus of the device; False if it has none."""
    buses = motor_buses(device)
    for _, bus in buses:
        (bus.enable_torque if enabled else bus.disable_torque)()
    return bool(buses)


# --- feature mapping ----------------------------------------------------------------------
@dataclass(frozen=True)
class MotorInfo:
    """What converting one motor's LeRobot value needs: its norm mode and calibration."""

    norm_mode: str  # MotorNormMode value: "degrees", "range_m100_100", "range_0_100"
    range_min: int
    range_max: int
    resolution: int  # encoder ticks per turn


def motor_infos(device: Any) -> dict[str, MotorInfo]:  # noqa: ANN401
    """``MotorInfo`` of every calibrated motor of the device, keyed by its feature key."""
    infos = {}
    for prefix, bus in motor_buses(device):
        calibration = getattr(bus, "calibration", None) or {}
        resolutions = getattr(bus, "model_resolution_table", None)
        if resolutions is None:
            continue
        for name, motor in bus.motors.items():
            if name not in calibration:
                continue
            cal = calibration[name]
            infos[f"{prefix}{name}{POSITION_SUFFIX}"] = MotorInfo(
                norm_mode=str(getattr(motor.norm_mode, "value", motor.norm_mode)),
                range_min=int(cal.range_min),
                range_max=int(cal.range_max),
                resolution=int(resolutions[motor.model]),
            )
    return infos


@dataclass(frozen=True)
class JointConversion:
    """One value: ``ros = scale * (lerobot - center)``, with limits in ROS units."""

    name: str
    key: str
    scale: float
    center: float
    unit: str
    lower: float
    upper: float

    def to_ros(self, value: float) -> float:
        return self.scale * (value - self.center)

    def to_lerobot(self, value: float) -> float:
        return value / self.scale + self.center


def joint_name(key: str) -> str:
    return key.removesuffix(POSITION_SUFFIX)


def conversion_for(key: str, motor: MotorInfo | None, units: str) -> JointConversion:
    """How one feature converts (see the module docstring for the formulas)."""
    if units not in UNITS:
        raise BridgeError(f"units must be one of {list(UNITS)}, got {units!r}")
    name = joint_name(key)
    if motor is None:
        return JointConversion(name, key, 1.0, 0.0, "lerobot", -math.inf, math.inf)
    span = motor.range_max - motor.range_min  # ticks
    if span == 0:
        raise BridgeError(f"calibration of {name} is invalid: range_min == range_max")
    max_res = motor.resolution - 1
    half_range_deg = span / 2 * 360 / max_res
    # center, low, high of the LeRobot value, and degrees per LeRobot unit
    if motor.norm_mode == "degrees":
        lerobot = (0.0, -half_range_deg, half_range_deg, 1.0)
    elif motor.norm_mode == "range_m100_100":
        lerobot = (0.0, -100.0, 100.0, half_range_deg / 100)
    elif motor.norm_mode == "range_0_100":
        lerobot = (50.0, 0.0, 100.0, 2 * half_range_deg / 100)
    else:
        return JointConversion(name, key, 1.0, 0.0, "lerobot", -math.inf, math.inf)
    center, low, high, degrees_per_unit = lerobot
    if units == "lerobot":
        return JointConversion(name, key, 1.0, 0.0, motor.norm_mode, low, high)
    scale = math.radians(degrees_per_unit)
    return JointConversion(
        name, key, scale, center, "rad", scale * (low - center), scale * (high - center)
    )


class JointMap:
    """An ordered set of features as one vector in ROS units, and back."""

    def __init__(self, conversions: Sequence[JointConversion]) -> None:
        if not conversions:
            raise BridgeError("the device has no joint features to map")
        self.conversions = tuple(conversions)
        self.names = tuple(c.name for c in conversions)
        self.keys = tuple(c.key for c in conversions)
        if len(set(self.names)) != len(self.names):
            raise BridgeError(f"joint names are not unique: {list(self.names)}")
        self.limits = JointLimits(
            self.names,
            np.array([c.lower for c in conversions]),
            np.array([c.upper for c in conversions]),
        )

    @classmethod
    def from_features(
        cls, keys: Sequence[str], motors: Mapping[str, MotorInfo], units: str
    ) -> JointMap:
        return cls([conversion_for(key, motors.get(key), units) for key in keys])

    def to_ros(self, values: Mapping[str, Any]) -> np.ndarray:
        missing = [key for key in self.keys if key not in values]
        if missing:
            raise BridgeError(f"values are missing the features {missing}")
        return np.array([c.to_ros(float(values[c.key])) for c in self.conversions])

    def to_lerobot(self, vector: Sequence[float]) -> dict[str, float]:
        vector = np.asarray(vector, dtype=float)
        if vector.shape != (len(self.keys),):
            raise BridgeError(f"expected {len(self.keys)} values, got shape {vector.shape}")
        return {
            c.key: c.to_lerobot(float(v)) for c, v in zip(self.conversions, vector, strict=True)
        }

    def reordered_from(self, names: Sequence[str], vector: Sequence[float]) -> np.ndarray | None:
        """This map's joints picked by name from another ordering; None if one is missing."""
        index = {name: i for i, name in enumerate(names)}
        if any(name not in index for name in self.names):
            return None
        return np.asarray(vector, dtype=float)[[index[name] for name in self.names]]

    def describe(self) -> str:
        return ", ".join(f"{c.name} [{c.unit}]" for c in self.conversions)


def _is_scalar_feature(value: Any) -> bool:  # noqa: ANN401 - a feature type or shape
    return value is float or value is int


def action_keys(device: Any) -> list[str]:  # noqa: ANN401
    """The float action features of a robot or teleoperator, in its order."""
    return [k for k, v in device.action_features.items() if _is_scalar_feature(v)]


def command_map(device: Any, units: str) -> JointMap:  # noqa: ANN401
    """The ``/position_controller/commands`` vector of a device: its float action features,
    converted with its own calibration (a teleoperator is given its follower's map)."""
    return JointMap.from_features(action_keys(device), motor_infos(device), units)


def state_map(robot: Any, units: str) -> JointMap:  # noqa: ANN401
    """The ``/joint_states`` entries of a robot: its float ``<joint>.pos`` observations."""
    keys = [
        k
        for k, v in robot.observation_features.items()
        if _is_scalar_feature(v) and k.endswith(POSITION_SUFFIX)
    ]
    return JointMap.from_features(keys, motor_infos(robot), units)


def camera_shapes(robot: Any) -> dict[str, tuple[int, int, int]]:  # noqa: ANN401
    """``{camera: (height, width, 3)}`` of the robot's image observations."""
    return {
        key: tuple(shape)
        for key, shape in robot.observation_features.items()
        if isinstance(shape, tuple) and len(shape) == 3 and shape[2] == 3
    }


def camera_image(observation: Mapping[str, Any], camera: str, shape: Sequence[int]) -> np.ndarray:
    """One camera's frame from an observation as (H, W, 3) uint8, checked against its shape."""
    if camera not in observation:
        raise BridgeError(f"the observation has no frame of camera {camera!r}")
    pixels = np.asarray(observation[camera])
    if pixels.shape != tuple(shape):
        raise BridgeError(
            f"camera {camera!r} gave a frame of shape {pixels.shape}, expected {tuple(shape)}"
        )
    if pixels.dtype != np.uint8:
        pixels = np.clip(pixels, 0, 255).astype(np.uint8)
    return pixels


def check_same_commands(teleop_keys: Sequence[str], robot_map: JointMap) -> None:
    """A teleoperator can drive a follower only if it produces exactly its action keys."""
    missing = [k for k in robot_map.keys if k not in teleop_keys]
    extra = [k for k in teleop_keys if k not in robot_map.keys]
    if missing or extra:
        raise BridgeError(
            "the teleoperator's actions do not match the follower's: "
            f"missing {missing}, not commanded by the follower {extra}"
        )
