"""What a camera source hands out: a frame (color, optional aligned depth, capture time) and
its pinhole intrinsics, plus resizing that keeps the two consistent."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics (pixels, OpenCV/ROS convention: pixel centers at integer coordinates)
    of images ``width`` x ``height``."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float

    @classmethod
    def from_horizontal_fov(cls, width: int, height: int, fov_deg: float) -> Intrinsics:
        """Square pixels, principal point at the image center, as the sim's cameras."""
        if not 0.0 < fov_deg < 180.0:
            raise ValueError(f"horizontal field of view must be in (0, 180) degrees, got {fov_deg}")
        focal = (width / 2) / math.tan(math.radians(fov_deg) / 2)
        return cls(width, height, focal, focal, (width - 1) / 2, (height - 1) / 2)

    def resized(self, width: int, height: int) -> Intrinsics:
        """The same camera seen through an image scaled to ``width`` x ``height``."""
        sx, sy = width / self.width, height / self.height
        # Scale pixel edges, not centers: center c of the old image sits at (c + 0.5) * s - 0.5.
        return Intrinsics(
            width,
            height,
            self.fx * sx,
            self.fy * sy,
            (self.cx + 0.5) * sx - 0.5,
            (self.cy + 0.5) * sy - 0.5,
        )

    @property
    def pinhole(self) -> tuple[float, float, float, float]:
        """``(fx, fy, cx, cy)``, as lerobot_ros.ros.conversions.camera_info takes them."""
        return self.fx, self.fy, self.cx, self.cy


@dataclass(frozen=True)
class Frame:
    """One capture. ``capture_time`` is on the ``time.monotonic()`` clock, so a node can turn
    it into a stamp on its own clock (``now - (monotonic() - capture_time)``)."""

    color: np.ndarray  # (H, W, 3) uint8, RGB
    capture_time: float
    intrinsics: Intrinsics
    depth_mm: np.ndarray | None = None  # (H, W) uint16 millimetres aligned to color; 0 = no data

    @property
    def width(self) -> int:
        return int(self.color.shape[1])

    @property
    def height(self) -> int:
        return int(self.color.shape[0])


def output_size(native_width: int, native_height: int, width: int, height: int) -> tuple[int, int]:
    """Size to publish: the native size when both are 0, the aspect ratio kept when one is 0."""
    if width < 0 or height < 0:
        raise ValueError(f"image size must not be negative, got {width}x{height}")
    if width == 0 and height == 0:
        return native_width, native_height
    if width == 0:
        width = max(1, round(native_width * height / native_height))
    elif height == 0:
        height = max(1, round(native_height * width / native_width))
    return width, height


def resize_frame(frame: Frame, width: int, height: int) -> Frame:
    """``frame`` scaled to ``width`` x ``height`` (0 = see :func:`output_size`), with its
    intrinsics; depth uses nearest neighbour so no depth is invented across object edges."""
    width, height = output_size(frame.width, frame.height, width, height)
    if (width, height) == (frame.width, frame.height):
        return frame
    shrinking = width * height < frame.width * frame.height
    color = cv2.resize(
        frame.color,
        (width, height),
        interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR,
    )
    depth = None
    if frame.depth_mm is not None:
        depth = cv2.resize(frame.depth_mm, (width, height), interpolation=cv2.INTER_NEAREST)
    return replace(
        frame, color=color, depth_mm=depth, intrinsics=frame.intrinsics.resized(width, height)
    )
