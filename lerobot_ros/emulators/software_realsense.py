"""A RealSense without hardware: a ``pyrealsense2.software_device`` with a color and a depth
sensor, fed by a thread that injects frames at a set rate (``on_video_frame``).

``RealSenseSource(find_device=lambda: camera.device)`` streams from it through the same
librealsense code paths (sensor open/start, syncer matching, align, frame timestamps) as
from a real camera, so the RealSense side is tested without one. Frames carry
``system_time`` stamps (host wall time in ms, as a D400's ``global_time`` stamps) taken
``latency_s`` before injection, like a real camera's transfer delay.

Color frame ``n`` is uniform ``(n % 256, 7, 200)`` (R, G, B): the red channel tells frames
apart and the constant G, B tell RGB from BGR. Depth is ``depth_m`` everywhere.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np


def _rs() -> Any:
    import pyrealsense2

    return pyrealsense2


class SoftwareRealSense:
    def __init__(
        self,
        color_size: tuple[int, int] = (80, 60),
        depth_size: tuple[int, int] = (64, 48),
        fps: int = 30,
        depth_units: float = 0.001,
        depth_m: float = 1.0,
        latency_s: float = 0.05,
        serial_number: str = "000000000001",
        horizontal_fov_deg: float = 70.0,
    ) -> None:
        rs = _rs()
        self.fps, self.depth_units, self.latency_s = fps, depth_units, latency_s
        self.color_size, self.depth_size = color_size, depth_size
        self.device = rs.software_device()
        self.device.register_info(rs.camera_info.name, "Software RealSense")
        self.device.register_info(rs.camera_info.serial_number, serial_number)
        self._depth_sensor = self.device.add_sensor("Stereo Module")
        self._color_sensor = self.device.add_sensor("RGB Camera")
        self._depth_sensor.add_read_only_option(rs.option.depth_units, depth_units)
        self.depth_profile = self._add_stream(
            self._depth_sensor, rs.stream.depth, rs.format.z16, 2, depth_size, 0, horizontal_fov_deg
        )
        self.color_profile = self._add_stream(
            self._color_sensor,
            rs.stream.color,
            rs.format.rgb8,
            3,
            color_size,
            1,
            horizontal_fov_deg,
        )
        identity = rs.extrinsics()
        identity.rotation = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
        identity.translation = [0.0, 0.0, 0.0]
        self.depth_profile.register_extrinsics_to(self.color_profile, identity)
        # Pair depth and color frames of the same frame number, as a D400 does.
        self.device.create_matcher(rs.matchers.dlr_c)
        self.depth_raw = np.full(
            (depth_size[1], depth_size[0]), round(depth_m / depth_units), np.uint16
        )
        self.frames_injected = 0
        self._running = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _add_stream(
        self,
        sensor: Any,
        stream: Any,
        fmt: Any,
        bpp: int,
        size: tuple[int, int],
        uid: int,
        fov_deg: float,
    ) -> Any:
        rs = _rs()
        width, height = size
        intrinsics = rs.intrinsics()
        intrinsics.width, intrinsics.height = width, height
        intrinsics.fx = intrinsics.fy = (width / 2) / np.tan(np.radians(fov_deg) / 2)
        intrinsics.ppx, intrinsics.ppy = (width - 1) / 2, (height - 1) / 2
        intrinsics.model = rs.distortion.none
        intrinsics.coeffs = [0.0] * 5
        video = rs.video_stream()
        video.type, video.index, video.uid = stream, 0, uid
        video.width, video.height, video.fps, video.bpp, video.fmt = (
            width,
            height,
            self.fps,
            bpp,
            fmt,
        )
        video.intrinsics = intrinsics
        return sensor.add_video_stream(video).as_video_stream_profile()

    def color_pixels(self, n: int) -> np.ndarray:
        width, height = self.color_size
        pixels = np.empty((height, width, 3), np.uint8)
        pixels[...] = (n % 256, 7, 200)
        return pixels

    # --- injection --------------------------------------------------------------------------
    def start(self) -> SoftwareRealSense:
        """Inject frames at ``fps`` until ``stop()``; ``pause()``/``resume()`` in between."""
        self._running.set()
        self._thread = threading.Thread(target=self._inject_loop, name="software_realsense")
        self._thread.daemon = True
        self._thread.start()
        return self

    def pause(self) -> None:
        """The camera goes silent, as when unplugged."""
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()
        if self._thread is not None:
            self._thread.join(5.0)

    def _inject_loop(self) -> None:
        period = 1.0 / self.fps
        next_tick = time.monotonic()
        while not self._stop.is_set():
            self._running.wait()
            next_tick = max(next_tick + period, time.monotonic())
            time.sleep(max(0.0, next_tick - time.monotonic()))
            if self._stop.is_set() or not self._running.is_set():
                continue
            self.inject(self.frames_injected + 1)

    def inject(self, n: int) -> None:
        """Color and depth frame number ``n``, stamped ``latency_s`` ago."""
        rs = _rs()
        stamp_ms = (time.time() - self.latency_s) * 1000.0
        for sensor, profile, pixels, bpp in (
            (self._depth_sensor, self.depth_profile, self.depth_raw, 2),
            (self._color_sensor, self.color_profile, self.color_pixels(n), 3),
        ):
            frame = rs.software_video_frame()
            frame.pixels = pixels
            frame.bpp = bpp
            frame.stride = pixels.shape[1] * bpp
            frame.timestamp = stamp_ms
            frame.domain = rs.timestamp_domain.system_time
            frame.frame_number = n
            frame.profile = profile
            if bpp == 2:
                frame.depth_units = self.depth_units
            try:
                sensor.on_video_frame(frame)
            except RuntimeError:
                pass  # the sensor is closed (the reader is reconnecting): the frame is lost
        self.frames_injected = n
