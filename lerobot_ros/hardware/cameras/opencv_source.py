"""OpenCV ``VideoCapture`` sources: a camera device (index or ``/dev/videoN``), a network
stream URL, or a video file played frame by frame.

Why not LeRobot's ``OpenCVCamera``: it reads in its own free-running thread (a video file is
decoded as fast as the CPU allows and then fails at its end, with no looping), insists that
``CAP_PROP_FPS`` and the frame size can be *set* (which a video file refuses, so a requested
fps fails to connect), does not expose when a frame was captured, and gives up after ten
failed reads. Here pacing, looping and reconnecting are the caller's (see ``streaming``), and
the source only opens, grabs and decodes.

Intrinsics: an OpenCV camera does not report them, so they come from the ``camera_matrix``
``(fx, fy, cx, cy)`` given for the native image size (a calibration; cx, cy of 0 mean the
image center), and where it is not given from a pinhole with square pixels, the principal point at the image center and the
``horizontal_fov_deg`` field of view. Distortion is not modelled.
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from lerobot_ros.hardware.cameras.frames import Frame, Intrinsics
from lerobot_ros.hardware.cameras.source import CameraError, CameraSource, EndOfStream

DEFAULT_HORIZONTAL_FOV_DEG = 60.0


def parse_target(device: int | str) -> int | str:
    """A device index for ``0`` / ``"0"``, else the path or URL as given."""
    if isinstance(device, bool):
        raise ValueError(f"device must be an index, a device path or a file, got {device!r}")
    if isinstance(device, int):
        if device < 0:
            raise ValueError(f"device index must not be negative, got {device}")
        return device
    text = str(device).strip()
    if not text:
        raise ValueError("device is empty: give a device index (0), a /dev/video path or a file")
    return int(text) if text.isdigit() else text


def is_live(target: int | str) -> bool:
    """Cameras and streams run at their own rate; files are read on demand."""
    return isinstance(target, int) or target.startswith("/dev/") or "://" in target


class OpenCVSource(CameraSource):
    def __init__(
        self,
        device: int | str,
        *,
        loop: bool = True,
        capture_width: int = 0,
        capture_height: int = 0,
        capture_fps: float = 0.0,
        camera_matrix: tuple[float, float, float, float] | None = None,
        horizontal_fov_deg: float = DEFAULT_HORIZONTAL_FOV_DEG,
        timeout_s: float = 2.0,
    ) -> None:
        """``capture_*`` ask a camera device for a mode (0: its default; ignored for files).
        ``loop``: a video file restarts at its end instead of ending the stream.
        ``timeout_s``: how long a device read may block (where the backend supports it)."""
        self.target = parse_target(device)
        self.live = is_live(self.target)
        self.loop = loop
        self.capture_width, self.capture_height = int(capture_width), int(capture_height)
        self.capture_fps = float(capture_fps)
        if camera_matrix is not None and min(camera_matrix[:2]) <= 0:
            raise ValueError(f"camera matrix focal lengths must be positive, got {camera_matrix}")
        self.camera_matrix = camera_matrix
        Intrinsics.from_horizontal_fov(2, 2, horizontal_fov_deg)  # validates the angle now
        self.horizontal_fov_deg = horizontal_fov_deg
        self.timeout_s = float(timeout_s)
        self._capture: cv2.VideoCapture | None = None
        self._intrinsics: Intrinsics | None = None
        self._grab_time = 0.0
        self.frames_read = 0  # since connect (or the last loop of a file)

    def describe(self) -> str:
        if isinstance(self.target, int):
            return f"camera device {self.target}"
        return f"{'camera' if self.live else 'video file'} {self.target}"

    def connect(self) -> None:
        self.disconnect()
        if not self.live and not Path(self.target).is_file():
            raise CameraError(f"{self.describe()} not found")
        capture = cv2.VideoCapture(self.target)
        if not capture.isOpened():
            capture.release()
            what = "no such device or it is busy" if self.live else "OpenCV cannot decode it"
            raise CameraError(f"cannot open {self.describe()} ({what})")
        if self.live:
            self._request_mode(capture)
        self._capture = capture
        self.frames_read = 0

    def _request_mode(self, capture: cv2.VideoCapture) -> None:
        # Best effort, as v4l2 drivers pick the nearest mode they have; the frames say what came.
        if self.capture_width and self.capture_height:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, float(self.capture_width))
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, float(self.capture_height))
        if self.capture_fps > 0:
            capture.set(cv2.CAP_PROP_FPS, self.capture_fps)
        capture.set(cv2.CAP_PROP_READ_TIMEOUT_MSEC, self.timeout_s * 1000)

    def grab(self) -> float:
        if self._capture is None:
            raise CameraError(f"{self.describe()} is not connected")
        if self._capture.grab():
            self.frames_read += 1
            self._grab_time = time.monotonic()
            return self._grab_time
        if self.live:
            raise CameraError(f"{self.describe()} stopped delivering frames")
        if self.frames_read == 0:
            raise CameraError(f"{self.describe()} has no frames OpenCV can decode")
        if not self.loop:
            raise EndOfStream(f"end of {self.describe()} after {self.frames_read} frames")
        # Reopen rather than seek: seeking to frame 0 is unreliable for some codecs.
        self.connect()
        return self.grab()

    def retrieve(self) -> Frame:
        if self._capture is None:
            raise CameraError(f"{self.describe()} is not connected")
        ok, image = self._capture.retrieve()
        if not ok or image is None:
            raise CameraError(f"{self.describe()} returned no image for the grabbed frame")
        color = _to_rgb(image)
        height, width = color.shape[:2]
        if self._intrinsics is None or (self._intrinsics.width, self._intrinsics.height) != (
            width,
            height,
        ):
            self._intrinsics = self._native_intrinsics(width, height)
        return Frame(color=color, capture_time=self._grab_time, intrinsics=self._intrinsics)

    def _native_intrinsics(self, width: int, height: int) -> Intrinsics:
        if self.camera_matrix is None:
            return Intrinsics.from_horizontal_fov(width, height, self.horizontal_fov_deg)
        fx, fy, cx, cy = self.camera_matrix
        # A principal point of 0 means "not given": the image center.
        return Intrinsics(
            width,
            height,
            fx,
            fy,
            cx if cx > 0 else (width - 1) / 2,
            cy if cy > 0 else (height - 1) / 2,
        )

    def disconnect(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


def _to_rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
