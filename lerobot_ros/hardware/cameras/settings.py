"""A camera node's parameters, checked once, and the source they describe.

Every bad value is a ValueError naming the parameter, so a node refuses to start with a
message the user can act on (``run_node`` turns it into exit code 2).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lerobot_ros.hardware.cameras.frames import Intrinsics
from lerobot_ros.hardware.cameras.opencv_source import OpenCVSource, parse_target
from lerobot_ros.hardware.cameras.realsense_source import RealSenseSource
from lerobot_ros.hardware.cameras.source import CameraSource

SOURCE_TYPES = ("opencv", "realsense")


@dataclass(frozen=True)
class CameraSettings:
    camera_name: str
    source: str
    device: int | str  # opencv: index, /dev path, URL or video file
    serial_number: str  # realsense ('' = the first one found)
    fps: float
    width: int
    height: int
    loop: bool
    depth: bool
    capture_width: int
    capture_height: int
    capture_fps: float
    camera_matrix: tuple[float, float, float, float] | None
    horizontal_fov_deg: float
    reconnect_min_s: float
    reconnect_max_s: float
    timeout_s: float

    @classmethod
    def from_parameters(cls, p: Mapping[str, Any]) -> CameraSettings:
        """From the node's parameter values (the keys of config/camera_node.yaml)."""
        name = _text(p, "camera_name")
        if not name or "/" in name or " " in name:
            raise ValueError(f"camera_name must be a plain name like 'front', got {name!r}")
        source = _text(p, "source").lower()
        if source not in SOURCE_TYPES:
            raise ValueError(f"unknown source {p['source']!r}: expected one of {SOURCE_TYPES}")
        fps = _number(p, "fps")
        if not (math.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be positive, got {p['fps']}")
        sizes = {
            key: _integer(p, key) for key in ("width", "height", "capture_width", "capture_height")
        }
        for key, value in sizes.items():
            if value < 0:
                raise ValueError(f"{key} must not be negative (0 = native size), got {value}")
        capture_fps = _number(p, "capture_fps")
        if capture_fps < 0:
            raise ValueError(f"capture_fps must not be negative (0 = default), got {capture_fps}")
        fx, fy, cx, cy = (_number(p, k) for k in ("fx", "fy", "cx", "cy"))
        if min(fx, fy, cx, cy) < 0:
            raise ValueError(f"fx, fy, cx, cy must not be negative, got {(fx, fy, cx, cy)}")
        if fy and not fx:
            raise ValueError("fy is set but fx is not: set fx (and fy for non-square pixels)")
        camera_matrix = (fx, fy or fx, cx, cy) if fx else None
        fov = _number(p, "horizontal_fov_deg")
        try:
            Intrinsics.from_horizontal_fov(2, 2, fov)
        except ValueError as error:
            raise ValueError(f"horizontal_fov_deg: {error}") from None
        reconnect_min, reconnect_max = _number(p, "reconnect_min_s"), _number(p, "reconnect_max_s")
        if not 0 < reconnect_min <= reconnect_max:
            raise ValueError(
                f"need 0 < reconnect_min_s <= reconnect_max_s, got {reconnect_min}, {reconnect_max}"
            )
        timeout = _number(p, "timeout_s")
        if not timeout > 0:
            raise ValueError(f"timeout_s must be positive, got {timeout}")
        device: int | str = p["device"]
        if source == "opencv":
            try:
                device = parse_target(device)
            except ValueError as error:
                raise ValueError(f"device: {error}") from None
        depth = _flag(p, "depth")
        if depth and source != "realsense":
            raise ValueError("depth is only available from a realsense source")
        return cls(
            camera_name=name,
            source=source,
            device=device,
            serial_number=_text(p, "serial_number"),
            fps=fps,
            width=sizes["width"],
            height=sizes["height"],
            loop=_flag(p, "loop"),
            depth=depth,
            capture_width=sizes["capture_width"],
            capture_height=sizes["capture_height"],
            capture_fps=capture_fps,
            camera_matrix=camera_matrix,
            horizontal_fov_deg=fov,
            reconnect_min_s=reconnect_min,
            reconnect_max_s=reconnect_max,
            timeout_s=timeout,
        )


def _number(p: Mapping[str, Any], key: str) -> float:
    value = p[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number, got {value!r}")
    return float(value)


def _integer(p: Mapping[str, Any], key: str) -> int:
    value = p[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ValueError(f"{key} must be a whole number, got {value!r}")
    return int(value)


def _flag(p: Mapping[str, Any], key: str) -> bool:
    if not isinstance(p[key], bool):
        raise ValueError(f"{key} must be true or false, got {p[key]!r}")
    return p[key]


def _text(p: Mapping[str, Any], key: str) -> str:
    """Strings; a number is taken as its digits (``serial_number:=123`` parses as an int)."""
    value = p[key]
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{key} must be text, got {value!r}")
    return str(value).strip()


def make_source(
    settings: CameraSettings, find_realsense_device: Callable[[], Any] | None = None
) -> CameraSource:
    """A new, unconnected source for ``settings``. ``find_realsense_device`` replaces the
    lookup of a connected camera (tests pass a ``pyrealsense2.software_device``)."""
    if settings.source == "opencv":
        return OpenCVSource(
            settings.device,
            loop=settings.loop,
            capture_width=settings.capture_width,
            capture_height=settings.capture_height,
            capture_fps=settings.capture_fps,
            camera_matrix=settings.camera_matrix,
            horizontal_fov_deg=settings.horizontal_fov_deg,
            timeout_s=settings.timeout_s,
        )
    return RealSenseSource(
        settings.serial_number,
        depth=settings.depth,
        capture_width=settings.capture_width,
        capture_height=settings.capture_height,
        capture_fps=int(round(settings.capture_fps)),
        timeout_s=settings.timeout_s,
        find_device=find_realsense_device,
    )
