"""The camera-source interface every backend implements (after LeRobot's ``lerobot.cameras.Camera``:
``connect()`` / ``read()`` / ``disconnect()``), split so frames can be dropped cheaply.

``grab()`` waits for the next frame and returns its capture time; ``retrieve()`` decodes
the grabbed frame (color conversion, depth alignment, copies). A pacer that drops frames of
a fast live camera calls only ``grab()`` for the dropped ones, as OpenCV's grab/retrieve.
"""

from __future__ import annotations

import abc

from lerobot_ros.hardware.cameras.frames import Frame


class CameraError(RuntimeError):
    """The source cannot be opened or stopped delivering frames (unplugged, file missing)."""


class EndOfStream(CameraError):
    """A finite source (a video file played once) has no more frames: not a failure."""


class CameraSource(abc.ABC):
    """One camera. Not thread-safe: one thread connects, grabs and disconnects it."""

    #: True for a camera that runs at its own rate (frames are dropped to pace it); False for
    #: a source that yields frames on demand (a video file, played at the requested rate).
    live: bool = True

    @abc.abstractmethod
    def connect(self) -> None:
        """Open the source; CameraError saying what is missing when it cannot."""

    @abc.abstractmethod
    def grab(self) -> float:
        """Wait for the next frame; its capture time on the ``time.monotonic()`` clock.

        CameraError when no frame comes (timeout, device lost), EndOfStream at a file's end.
        """

    @abc.abstractmethod
    def retrieve(self) -> Frame:
        """The frame the last ``grab()`` got, decoded."""

    @abc.abstractmethod
    def disconnect(self) -> None:
        """Release the device; safe to call more than once and after a failure."""

    @abc.abstractmethod
    def describe(self) -> str:
        """What this source is, for log lines (``video file /x.avi``, ``RealSense 1234``)."""

    def read(self) -> Frame:
        """The next frame (LeRobot's ``Camera.read``)."""
        self.grab()
        return self.retrieve()

    def __enter__(self) -> CameraSource:
        self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.disconnect()
