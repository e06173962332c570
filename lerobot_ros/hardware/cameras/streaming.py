"""Run a camera source at a requested rate in its own thread, reconnecting when it fails.

* Pacing. A live camera runs at its own rate: every frame is grabbed (so none goes stale in
  the driver's buffers) and only those on the requested rate's time grid are retrieved and
  handed on; the rest are dropped undecoded. A video file is read one frame per tick, so it
  plays at the requested rate whatever rate it was recorded at.
* Reconnecting. A source that cannot be opened or stops delivering is logged (with the
  reason and when the next try is), closed, and reopened with exponential backoff; the
  backoff resets once frames flow again. Nothing a source raises ends the thread.
* End of stream. A video file played once (``loop`` false) ends the stream: logged, no retry.

No ROS here: the node passes ``on_frame`` (which publishes) and its logger.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from lerobot_ros.hardware.cameras.frames import Frame, resize_frame
from lerobot_ros.hardware.cameras.source import CameraError, CameraSource, EndOfStream


class Logger(Protocol):
    """What the stream logs through: an rclpy logger or a ``logging.Logger``."""

    def info(self, message: str) -> object: ...

    def warning(self, message: str) -> object: ...

    def error(self, message: str) -> object: ...


class Backoff:
    """Delays ``initial, 2*initial, 4*initial, ...`` capped at ``maximum``."""

    def __init__(self, initial: float = 0.5, maximum: float = 5.0) -> None:
        if initial <= 0 or maximum < initial:
            raise ValueError(
                f"reconnect delays must satisfy 0 < min <= max, got min {initial}, max {maximum}"
            )
        self.initial, self.maximum = initial, maximum
        self._next = initial

    def next_delay(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self.maximum)
        return delay

    def reset(self) -> None:
        self._next = self.initial


class FramePacer:
    """Which frames of a free-running camera to keep for ``fps``.

    Keeps the first frame at or after each tick of an ``fps`` grid, allowing half a period
    of earliness so a camera at 30 Hz paced to 20 Hz keeps 2 of every 3 frames (20 Hz)
    rather than every other one (15 Hz). After a gap (reconnect) the grid restarts instead
    of bursting to catch up.
    """

    def __init__(self, fps: float) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.period = 1.0 / fps
        self._due: float | None = None

    def accept(self, t: float) -> bool:
        if self._due is None or t - self._due > self.period:
            self._due = t
        if t < self._due - self.period / 2:
            return False
        self._due += self.period
        return True

    def restart(self) -> None:
        self._due = None


class CameraStream:
    """A capture thread: open ``make_source()``, pace, hand frames to ``on_frame``, reconnect.

    ``width``/``height``: the size frames are resized to (0: native, see ``output_size``).
    """

    def __init__(
        self,
        make_source: Callable[[], CameraSource],
        fps: float,
        on_frame: Callable[[Frame], None],
        logger: Logger,
        *,
        width: int = 0,
        height: int = 0,
        backoff: Backoff | None = None,
        name: str = "camera",
    ) -> None:
        self.make_source = make_source
        self.pacer = FramePacer(fps)
        self.on_frame = on_frame
        self.logger = logger
        self.width, self.height = width, height
        self.backoff = backoff or Backoff()
        self.name = name
        self.connected = False
        self.ended = False
        self.frames_out = 0
        self.connections = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- thread control -------------------------------------------------------------------
    def start(self) -> CameraStream:
        self._thread = threading.Thread(target=self.run, name=f"{self.name}_capture", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # --- the loop ---------------------------------------------------------------------------
    def run(self) -> None:
        while not self._stop.is_set():
            source = None
            try:
                source = self.make_source()
                source.connect()
            except Exception as error:  # noqa: BLE001 - any failure to open is retried
                self._close(source)
                self._wait_to_retry(_reason(error))
                continue
            self.connected = True
            self.connections += 1
            self.logger.info(f"{self.name}: streaming from {source.describe()}")
            reason = None
            try:
                self._stream(source)
            except EndOfStream as end:
                self.logger.info(f"{self.name}: {end}; stopped publishing (loop is off)")
                self.ended = True
                return
            except Exception as error:  # noqa: BLE001 - a lost source is reopened
                reason = f"camera lost: {_reason(error)}"
            finally:
                self.connected = False
                self._close(source)
            if reason is not None:
                self._wait_to_retry(reason)

    def _stream(self, source: CameraSource) -> None:
        self.pacer.restart()
        next_tick = time.monotonic()
        while not self._stop.is_set():
            if source.live:
                if not self.pacer.accept(source.grab()):
                    continue
            else:  # on-demand source: one frame per tick of the requested rate
                if self._stop.wait(max(0.0, next_tick - time.monotonic())):
                    return
                next_tick = max(next_tick + self.pacer.period, time.monotonic() - self.pacer.period)
                source.grab()
            frame = resize_frame(source.retrieve(), self.width, self.height)
            self.backoff.reset()  # frames flow again
            try:
                self.on_frame(frame)
            except Exception as error:  # noqa: BLE001 - a failed publish is not a lost camera
                self.logger.error(f"{self.name}: publishing a frame failed: {error}")
            self.frames_out += 1

    def _wait_to_retry(self, reason: str) -> None:
        delay = self.backoff.next_delay()
        self.logger.error(f"{self.name}: {reason}; retrying in {delay:.1f} s")
        self._stop.wait(delay)

    def _close(self, source: CameraSource | None) -> None:
        if source is None:
            return
        try:
            source.disconnect()
        except Exception as error:  # noqa: BLE001 - closing a dead device may fail too
            self.logger.warning(f"{self.name}: closing {source.describe()} failed: {error}")


def _reason(error: Exception) -> str:
    """A source's own errors say what failed; anything else also says what kind of error."""
    return str(error) if isinstance(error, CameraError) else f"{type(error).__name__}: {error}"
