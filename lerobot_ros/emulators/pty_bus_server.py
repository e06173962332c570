"""A chain of emulated servos behind a pseudo-terminal: what every servo bus shares.

:class:`PtyBusServer` opens a pty (optionally behind a symlink), reads it from a thread,
drops partial packets after :data:`INTER_BYTE_TIMEOUT_S` of silence, answers after each
servo's return delay, and switches faults on for tests: bad checksums, a silent servo (a cut
cable). The protocol is a subclass's: its packet parser and its ``_handle``
(:mod:`~lerobot_ros.emulators.dynamixel_bus_server`, :mod:`~lerobot_ros.emulators.feetech_bus_server`).
"""

from __future__ import annotations

import contextlib
import os
import select
import termios
import threading
import time
import tty
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

# A servo drops a partial instruction packet after this long without its remaining bytes.
INTER_BYTE_TIMEOUT_S = 0.05
# Return delays shorter than this are waited for without sleeping (a sleep overshoots them).
_SPIN_DELAY_S = 0.002
# SCHED_FIFO priority of a real-time serving thread: above every normal thread, far below the
# kernel's own real-time threads (1-99).
SERVING_PRIORITY = 10


def _termios_speeds() -> dict[int, int]:
    """termios speed constant (``termios.B57600``) -> bit/s, for every rate the OS knows."""
    return {
        getattr(termios, name): int(name[1:])
        for name in dir(termios)
        if name.startswith("B") and name[1:].isdigit()
    }


_TERMIOS_SPEEDS = _termios_speeds()


class ServoReadout:
    """What tests and tools read of an emulated servo, by the register names LeRobot's tables
    use (the model advanced first). A servo model provides ``_lock``, ``_advance`` and
    ``_get``."""

    _lock: threading.RLock

    def _advance(self) -> None:
        raise NotImplementedError

    def _get(self, name: str) -> int:
        raise NotImplementedError

    def _current(self, name: str) -> int:
        with self._lock:
            self._advance()
            return self._get(name)

    @property
    def id(self) -> int:
        return self._get("ID")

    @property
    def present_position(self) -> int:
        return self._current("Present_Position")

    @property
    def present_velocity(self) -> int:
        return self._current("Present_Velocity")

    @property
    def goal_position(self) -> int:
        return self._get("Goal_Position")

    @property
    def torque_enabled(self) -> bool:
        return bool(self._get("Torque_Enable"))

    @property
    def moving(self) -> bool:
        return bool(self._current("Moving"))


class PacketParser(Protocol):
    pending: bool

    def feed(self, data: bytes) -> list[Any]: ...

    def drop_stale_partial(self) -> None: ...


class PtyBusServer:
    """Serves a chain of ``servo_class`` on a pty from a thread."""

    thread_name = "servo-bus"
    servo_class: type = object  # (id, model number, baud rate, lock, position=) -> a servo

    def __init__(
        self,
        servo_specs: Iterable[tuple[int, int]],
        baudrate: int = 1_000_000,
        positions: dict[int, int] | None = None,
        link: str | os.PathLike | None = None,
        realtime: bool = False,
    ) -> None:
        """``servo_specs``: (id, model number) of each servo, in bus order; ``positions``:
        initial Present_Position per id (default 2048, mid-turn); ``realtime``: serve from a
        SCHED_FIFO thread where allowed (root or CAP_SYS_NICE), as a real servo answers
        within microseconds however busy its host is."""
        positions = dict(positions or {})
        self.realtime = realtime
        self.lock = threading.RLock()
        self.servos = [
            self.servo_class(
                servo_id, model, baudrate, self.lock, position=positions.get(servo_id, 2048)
            )
            for servo_id, model in servo_specs
        ]
        self.link = Path(link) if link is not None else None
        self._corrupt_any = 0
        self._corrupt_by_id: dict[int, int] = {}
        self._master: int | None = None
        self._slave: int | None = None
        self.pty_path: str | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake_r, self._wake_w = -1, -1
        self.packets_handled = 0

    # --- the protocol: a subclass's -------------------------------------------------------
    def _new_parser(self) -> PacketParser:
        raise NotImplementedError

    def _handle(self, packet: Any) -> None:  # noqa: ANN401
        raise NotImplementedError

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> PtyBusServer:
        if self._thread is not None:
            raise RuntimeError("bus server already started")
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no line discipline: a plain byte pipe
        self.pty_path = os.ttyname(self._slave)
        self._wake_r, self._wake_w = os.pipe()
        if self.link is not None:
            if self.link.is_symlink() or not self.link.exists():
                with contextlib.suppress(FileNotFoundError):
                    self.link.unlink()
            else:
                raise FileExistsError(f"{self.link} exists and is not a symlink: not replacing it")
            self.link.symlink_to(self.pty_path)
        self._thread = threading.Thread(target=self._serve, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    @property
    def port(self) -> str:
        if self.pty_path is None:
            raise RuntimeError("bus server not started")
        return str(self.link) if self.link is not None else self.pty_path

    def stop(self) -> None:
        """Stop serving and close the pty (its users get I/O errors); idempotent."""
        self._stop.set()
        if self._wake_w >= 0:
            with contextlib.suppress(OSError):
                os.write(self._wake_w, b"x")
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        for fd in (self._master, self._slave, self._wake_r, self._wake_w):
            if fd is not None and fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None
        self._wake_r = self._wake_w = -1
        if self.link is not None and self.link.is_symlink():
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()

    # --- servos and faults ---------------------------------------------------------------
    def servo_index(self, servo_id: int) -> int:
        with self.lock:
            for index, servo in enumerate(self.servos):
                if servo.id == servo_id:
                    return index
            ids = [servo.id for servo in self.servos]
        raise KeyError(f"no emulated servo with id {servo_id}; ids: {ids}")

    def corrupt_next(self, count: int = 1, servo_id: int | None = None) -> None:
        with self.lock:
            if servo_id is None:
                self._corrupt_any += count
            else:
                self.servo_index(servo_id)  # KeyError for an unknown id
                self._corrupt_by_id[servo_id] = self._corrupt_by_id.get(servo_id, 0) + count

    def set_silent(self, servo_id: int, silent: bool) -> None:
        with self.lock:
            self.servos[self.servo_index(servo_id)].silent = silent

    # --- serving -------------------------------------------------------------------------
    def _host_bps(self) -> int | None:
        """The baud rate the host set on the port (a pty keeps it though it ignores it)."""
        try:
            speed = termios.tcgetattr(self._slave)[4]
        except (termios.error, TypeError, OSError):
            return None
        return _TERMIOS_SPEEDS.get(speed)

    def _serve(self) -> None:
        # Woken, it preempts every normal thread: the SDKs give up after about 34 ms, and on a
        # loaded two-core host even a nice -10 thread can wait that long. A higher real-time
        # priority inherited from the starting thread is kept: its clients may have it too.
        if self.realtime and os.sched_getparam(0).sched_priority < SERVING_PRIORITY:
            with contextlib.suppress(OSError, AttributeError):
                os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(SERVING_PRIORITY))
        parser = self._new_parser()
        last_byte = time.monotonic()
        master, wake = self._master, self._wake_r
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([master, wake], [], [], INTER_BYTE_TIMEOUT_S)
            except (OSError, ValueError):
                return
            if wake in ready or self._stop.is_set():
                return
            if not ready:
                if parser.pending:
                    parser.drop_stale_partial()
                continue
            try:
                data = os.read(master, 4096)
            except OSError:
                return
            now = time.monotonic()
            if parser.pending and now - last_byte > INTER_BYTE_TIMEOUT_S:
                parser.drop_stale_partial()
            last_byte = now
            for packet in parser.feed(data):
                try:
                    with self.lock:
                        self.packets_handled += 1
                        self._handle(packet)
                except OSError:
                    return  # the pty went away while answering

    @staticmethod
    def _sync_write(by_id: dict[int, Any], address: int, length: int, block: bytes) -> None:
        """A sync write's ``(id, data of length)`` blocks, each to its servo (a block with a
        wrong length spoils the whole packet, as on a real bus)."""
        if length == 0 or len(block) % (length + 1):
            return
        for i in range(0, len(block), length + 1):
            servo = by_id.get(block[i])
            if servo is not None:
                servo.write(address, block[i + 1 : i + 1 + length])

    def _maybe_corrupt(self, servo_id: int, packet: bytearray) -> None:
        """Spoil the checksum of a status packet when a fault asks for it."""
        if self._corrupt_by_id.get(servo_id, 0) > 0:
            self._corrupt_by_id[servo_id] -= 1
        elif self._corrupt_any > 0:
            self._corrupt_any -= 1
        else:
            return
        packet[-1] ^= 0xFF

    def _send(self, packet: bytes, delay_s: float = 0.0) -> None:
        if delay_s >= _SPIN_DELAY_S:
            time.sleep(delay_s)
        elif delay_s > 0.0:
            deadline = time.perf_counter() + delay_s
            while time.perf_counter() < deadline:
                pass
        view = memoryview(packet)
        while view:
            written = os.write(self._master, view)
            view = view[written:]
