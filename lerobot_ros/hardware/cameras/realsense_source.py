"""Intel RealSense (``pyrealsense2``): rgb8 color and, optionally, z16 depth aligned to color.

Why not LeRobot's ``RealSenseCamera``: it builds ``rs.pipeline()`` on a fresh default context
(so nothing but enumerated USB cameras can ever feed it), does not align depth to color,
and stamps frames with the host time they were read rather than the camera's capture time.

Why sensors and a syncer rather than ``rs.pipeline``: that is what a pipeline does inside,
and it works for any ``rs.device``, including a ``pyrealsense2.software_device`` fed
with injected frames (a software device added to a context with ``add_to`` is not
enumerated by ``query_devices`` nor resolved by a pipeline in librealsense 2.56), so the
whole source runs in tests without a camera. ``find_device`` is the one seam: by default
it picks the camera with the requested serial number (or the first one) from an
``rs.context``.

Stamps: a RealSense frame carries its capture time. In the ``global_time`` domain (D400
default: hardware clock mapped onto the host clock) and ``system_time`` it is host wall
time in ms, so the frame's age is ``time.time() - timestamp`` and its capture time on the
monotonic clock is ``monotonic() - age``. A ``hardware_clock`` stamp has an unknown epoch,
and an implausible age (clock jumps) falls back to the arrival time.

Depth is published in millimetres: ``z16 * depth_units`` (0.001 m on most D400s, 0.0001
on a D405) rescaled to mm, 0 where there is no measurement.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from lerobot_ros.hardware.cameras.frames import Frame, Intrinsics
from lerobot_ros.hardware.cameras.source import CameraError, CameraSource

# A host-clock stamp older than this (or in the future by more than the tolerance) is not
# trusted: the clocks jumped, so the arrival time is the better estimate.
MAX_PLAUSIBLE_AGE_S = 1.0
FUTURE_TOLERANCE_S = 0.05


def capture_time(
    timestamp_ms: float, on_host_clock: bool, wall_now: float, monotonic_now: float
) -> float:
    """Capture time on the monotonic clock of a frame stamped ``timestamp_ms``."""
    if on_host_clock:
        age = wall_now - timestamp_ms / 1000.0
        if -FUTURE_TOLERANCE_S <= age <= MAX_PLAUSIBLE_AGE_S:
            return monotonic_now - max(age, 0.0)
    return monotonic_now


def millimetres(depth: np.ndarray, depth_units_m: float) -> np.ndarray:
    """z16 depth in ``depth_units_m`` metres per unit, as uint16 millimetres (saturating)."""
    if abs(depth_units_m - 0.001) < 1e-9:
        return np.array(depth, dtype=np.uint16, copy=True)
    scaled = np.rint(depth.astype(np.float64) * (depth_units_m * 1000.0))
    return np.clip(scaled, 0, np.iinfo(np.uint16).max).astype(np.uint16)


def _rs() -> Any:
    import pyrealsense2

    return pyrealsense2


def find_device_by_serial(serial_number: str = "") -> Any:
    """The connected RealSense with this serial number (any one for ''), from a new context."""
    rs = _rs()
    devices = list(rs.context().query_devices())
    if not devices:
        raise CameraError("no RealSense camera connected")
    serials = [d.get_info(rs.camera_info.serial_number) for d in devices]
    if not serial_number:
        return devices[0]
    if serial_number not in serials:
        raise CameraError(
            f"no RealSense camera with serial number {serial_number} (found {serials})"
        )
    return devices[serials.index(serial_number)]


class RealSenseSource(CameraSource):
    live = True

    def __init__(
        self,
        serial_number: str = "",
        *,
        depth: bool = False,
        capture_width: int = 0,
        capture_height: int = 0,
        capture_fps: int = 0,
        timeout_s: float = 2.0,
        find_device: Callable[[], Any] | None = None,
    ) -> None:
        """``capture_*`` pick the color stream mode (0: the camera's default);
        ``timeout_s``: no frame for this long means the camera is lost."""
        self.serial_number = str(serial_number)
        self.depth = depth
        self.capture_width, self.capture_height = int(capture_width), int(capture_height)
        self.capture_fps = int(capture_fps)
        self.timeout_s = float(timeout_s)
        self._find_device = find_device or (lambda: find_device_by_serial(self.serial_number))
        self._sensors: list[Any] = []
        self._syncer: Any = None
        self._align: Any = None
        self._frames: Any = None
        self._capture_time = 0.0
        self._intrinsics: Intrinsics | None = None
        self.device_name = ""

    def describe(self) -> str:
        return self.device_name or f"RealSense {self.serial_number or '(first found)'}"

    def connect(self) -> None:
        self.disconnect()
        rs = _rs()
        try:
            device = self._find_device()
            self.device_name = _device_label(device)
            sensors = list(device.query_sensors())
            color_sensor, color_profile = _choose_profile(
                sensors,
                rs.stream.color,
                rs.format.rgb8,
                self.capture_width,
                self.capture_height,
                self.capture_fps,
            )
            chosen = [(color_sensor, color_profile)]
            if self.depth:
                try:  # depth at the color rate, so the syncer pairs every color frame
                    depth_sensor, depth_profile = _choose_profile(
                        sensors, rs.stream.depth, rs.format.z16, 0, 0, color_profile.fps()
                    )
                except CameraError:
                    depth_sensor, depth_profile = _choose_profile(
                        sensors, rs.stream.depth, rs.format.z16, 0, 0, 0
                    )
                if depth_sensor is color_sensor:  # one sensor streaming both (e.g. D405)
                    chosen = [(color_sensor, [color_profile, depth_profile])]
                else:
                    chosen.append((depth_sensor, depth_profile))
            self._syncer = rs.syncer(2)  # newest frames only: a slow reader drops, never lags
            for sensor, profile in chosen:
                sensor.open(profile)
                self._sensors.append(sensor)
                sensor.start(self._syncer)
        except CameraError:
            self.disconnect()
            raise
        except RuntimeError as error:  # pyrealsense2 raises RuntimeError for device errors
            self.disconnect()
            raise CameraError(f"cannot start {self.describe()}: {error}") from error
        self._align = rs.align(rs.stream.color) if self.depth else None
        self._intrinsics = _intrinsics(color_profile)

    def grab(self) -> float:
        if self._syncer is None:
            raise CameraError(f"{self.describe()} is not connected")
        rs = _rs()
        deadline = time.monotonic() + self.timeout_s
        while True:
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0:
                raise CameraError(
                    f"no {'color+depth ' if self.depth else ''}frames from {self.describe()} "
                    f"for {self.timeout_s:g} s"
                )
            try:
                ok, frames = self._syncer.try_wait_for_frames(remaining_ms)
            except RuntimeError as error:
                raise CameraError(f"{self.describe()} failed: {error}") from error
            if not ok:
                continue
            frameset = frames.as_frameset()
            color = frameset.get_color_frame()
            # At start-up the syncer may hand out a set with one stream: wait for a whole one.
            if not color or (self.depth and not frameset.get_depth_frame()):
                continue
            self._frames = frameset
            domain = color.get_frame_timestamp_domain()
            on_host = domain in (rs.timestamp_domain.global_time, rs.timestamp_domain.system_time)
            self._capture_time = capture_time(
                color.get_timestamp(), on_host, time.time(), time.monotonic()
            )
            return self._capture_time

    def retrieve(self) -> Frame:
        if self._frames is None:
            raise CameraError(f"{self.describe()}: retrieve() without a grabbed frame")
        frameset, self._frames = self._frames, None  # release librealsense's buffers promptly
        color_frame = frameset.get_color_frame()
        depth = None
        if self.depth:
            aligned = self._align.process(frameset)
            depth_frame = aligned.get_depth_frame()
            depth = millimetres(np.asanyarray(depth_frame.get_data()), depth_frame.get_units())
            color_frame = aligned.get_color_frame()
        color = np.array(np.asanyarray(color_frame.get_data()), dtype=np.uint8, copy=True)
        return Frame(
            color=color,
            capture_time=self._capture_time,
            intrinsics=self._intrinsics,
            depth_mm=depth,
        )

    def disconnect(self) -> None:
        self._frames = None
        for sensor in self._sensors:
            for stop in (sensor.stop, sensor.close):
                try:
                    stop()
                except RuntimeError:
                    pass  # already stopped, or the device is gone
        self._sensors = []
        self._syncer = None
        self._align = None


def _device_label(device: Any) -> str:
    rs = _rs()
    try:
        return f"{device.get_info(rs.camera_info.name)} {device.get_info(rs.camera_info.serial_number)}"
    except RuntimeError:
        return "RealSense"


def _choose_profile(
    sensors: list[Any], stream: Any, fmt: Any, width: int, height: int, fps: int
) -> tuple[Any, Any]:
    """The sensor and video profile for ``stream`` in ``fmt`` (0 = any width/height/fps),
    the camera's default one first."""
    candidates = []
    available = set()
    for sensor in sensors:
        for profile in sensor.get_stream_profiles():
            if profile.stream_type() != stream or profile.format() != fmt:
                continue
            video = profile.as_video_stream_profile()
            available.add(f"{video.width()}x{video.height()}@{video.fps()}")
            if (
                (not width or video.width() == width)
                and (not height or video.height() == height)
                and (not fps or video.fps() == fps)
            ):
                candidates.append((not video.is_default(), sensor, video))
    if not candidates:
        requested = f"{width or '*'}x{height or '*'}@{fps or '*'}"
        raise CameraError(
            f"the camera has no {stream} {fmt} stream {requested}; it has {sorted(available)}"
        )
    candidates.sort(key=lambda c: c[0])  # stable: defaults first, then the camera's order
    _, sensor, video = candidates[0]
    return sensor, video


def _intrinsics(profile: Any) -> Intrinsics:
    i = profile.get_intrinsics()
    return Intrinsics(i.width, i.height, i.fx, i.fy, i.ppx, i.ppy)
