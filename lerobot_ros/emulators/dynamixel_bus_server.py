"""A chain of :class:`ServoModel` answering DYNAMIXEL Protocol 2.0 on a pseudo-terminal.

:class:`BusServer` opens a pty and serves it from a thread as a chain of servos would: ping
(also broadcast), read, write, reg write/action, sync and bulk read/write (also the fast
variants), reboot, factory reset, clear; stuffed packets with real CRCs, status packets with
error bytes, Status_Return_Level and Return_Delay_Time honoured, servos on another baud rate
than the host deaf. Faults (bad CRCs, a silent servo, the port vanishing) are switched on
through its methods. :class:`~lerobot_ros.emulators.dynamixel_emulator.DynamixelEmulator` runs
one in a child process; the emulator's command line runs one in its own.
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

from lerobot_ros.emulators.dynamixel_servo_model import ServoModel
from lerobot_ros.hardware.dynamixel import protocol as p

# A servo drops a partial instruction packet after this long without its remaining bytes.
INTER_BYTE_TIMEOUT_S = 0.05
# Return delays shorter than this are waited for without sleeping (a sleep overshoots them).
_SPIN_DELAY_S = 0.002


def _termios_speeds() -> dict[int, int]:
    """termios speed constant (``termios.B57600``) -> bit/s, for every rate the OS knows."""
    return {
        getattr(termios, name): int(name[1:])
        for name in dir(termios)
        if name.startswith("B") and name[1:].isdigit()
    }


_TERMIOS_SPEEDS = _termios_speeds()


class BusServer:
    """Serves servos on a pty from a background thread (see the module doc)."""

    def __init__(
        self,
        servo_specs: Iterable[tuple[int, int]],
        baudrate: int = 1_000_000,
        positions: dict[int, int] | None = None,
        link: str | os.PathLike | None = None,
    ) -> None:
        """``servo_specs``: (id, model number) of each servo, in bus order."""
        positions = dict(positions or {})
        self.lock = threading.RLock()
        self.servos = [
            ServoModel(servo_id, model, baudrate, self.lock, position=positions.get(servo_id, 2048))
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

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> BusServer:
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
        self._thread = threading.Thread(target=self._serve, name="dynamixel-bus", daemon=True)
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
        parser = p.PacketParser()
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
                    self._handle(packet)
                except OSError:
                    return  # the pty went away while answering

    def _reply(self, servo: ServoModel, error: int, params: bytes = b"") -> None:
        packet = bytearray(p.build_status(servo.id, error | servo.alert, params))
        self._maybe_corrupt(servo.id, packet)
        self._send(bytes(packet), servo.return_delay_s)

    def _maybe_corrupt(self, servo_id: int, packet: bytearray) -> None:
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

    def _handle(self, packet: p.Packet) -> None:
        with self.lock:
            self.packets_handled += 1
            host_bps = self._host_bps()
            hearing = [servo for servo in self.servos if servo.answers_at(host_bps)]
            if packet.servo_id == p.BROADCAST_ID:
                if packet.crc_ok:
                    self._handle_broadcast(packet, hearing)
                return
            target = next((s for s in hearing if s.id == packet.servo_id), None)
            if target is None:
                return
            if not packet.crc_ok:
                self._reply(target, p.ERROR_CRC)
                return
            self._handle_unicast(packet, target)

    def _handle_unicast(self, packet: p.Packet, servo: ServoModel) -> None:
        inst, params = packet.instruction, packet.params
        level = servo.status_return_level
        if inst == p.PING:
            self._reply(servo, p.ERROR_NONE, servo.ping_params())
        elif inst == p.READ:
            if len(params) != 4:
                error, data = p.ERROR_DATA_LENGTH, b""
            else:
                error, data = servo.read(_word(params, 0), _word(params, 2))
            if level >= 1:
                self._reply(servo, error, data)
        else:
            error = self._execute(servo, inst, params)
            if level >= 2:
                self._reply(servo, error)

    @staticmethod
    def _execute(servo: ServoModel, inst: int, params: bytes) -> int:
        """Instructions that write or act; returns the status error."""
        if inst in (p.WRITE, p.REG_WRITE):
            if len(params) < 3:
                return p.ERROR_DATA_LENGTH
            address, data = _word(params, 0), params[2:]
            return servo.write(address, data) if inst == p.WRITE else servo.reg_write(address, data)
        if inst == p.ACTION:
            return servo.action()
        if inst == p.REBOOT:
            servo.reboot()
            return p.ERROR_NONE
        if inst == p.FACTORY_RESET:
            return servo.factory_reset(params[0]) if len(params) == 1 else p.ERROR_DATA_LENGTH
        if inst == p.CLEAR:
            if params != bytes((0x01, 0x44, 0x58, 0x4C, 0x22)):
                return p.ERROR_DATA_RANGE
            return servo.clear_multi_turn()
        return p.ERROR_INSTRUCTION

    def _handle_broadcast(self, packet: p.Packet, hearing: list[ServoModel]) -> None:
        inst, params = packet.instruction, packet.params
        by_id = {servo.id: servo for servo in hearing}
        if inst == p.PING:
            for servo in sorted(hearing, key=lambda s: s.id):
                self._reply(servo, p.ERROR_NONE, servo.ping_params())
        elif inst in (p.WRITE, p.REG_WRITE, p.ACTION, p.REBOOT, p.FACTORY_RESET, p.CLEAR):
            for servo in hearing:
                self._execute(servo, inst, params)
        elif inst in (p.SYNC_READ, p.FAST_SYNC_READ) and len(params) >= 5:
            address, length = _word(params, 0), _word(params, 2)
            requests = [(servo_id, address, length) for servo_id in params[4:]]
            self._answer_reads(requests, by_id, fast=inst == p.FAST_SYNC_READ)
        elif inst in (p.BULK_READ, p.FAST_BULK_READ) and len(params) % 5 == 0:
            requests = [
                (params[i], _word(params, i + 1), _word(params, i + 3))
                for i in range(0, len(params), 5)
            ]
            self._answer_reads(requests, by_id, fast=inst == p.FAST_BULK_READ)
        elif inst == p.SYNC_WRITE and len(params) >= 4:
            address, length = _word(params, 0), _word(params, 2)
            block = params[4:]
            if length == 0 or len(block) % (length + 1):
                return
            for i in range(0, len(block), length + 1):
                servo = by_id.get(block[i])
                if servo is not None:
                    servo.write(address, block[i + 1 : i + 1 + length])
        elif inst == p.BULK_WRITE:
            index = 0
            while index + 5 <= len(params):
                servo_id = params[index]
                address, length = _word(params, index + 1), _word(params, index + 3)
                data = params[index + 5 : index + 5 + length]
                index += 5 + length
                if len(data) == length and servo_id in by_id:
                    by_id[servo_id].write(address, data)

    def _answer_reads(
        self, requests: list[tuple[int, int, int]], by_id: dict[int, ServoModel], fast: bool
    ) -> None:
        """Sync/bulk read: each listed servo answers in turn. A fast read is one shared
        packet, so a missing servo spoils all of it."""
        if not fast:
            for servo_id, address, length in requests:
                servo = by_id.get(servo_id)
                if servo is not None and servo.status_return_level >= 1:
                    error, data = servo.read(address, length)
                    self._reply(servo, error, data)
            return
        if not requests or any(servo_id not in by_id for servo_id, _, _ in requests):
            return
        # One status packet (ID 0xFE) in which every servo appends ERR ID DATA CRC; each CRC
        # covers the packet so far, so the last one is the packet's own CRC.
        segments = []
        for servo_id, address, length in requests:
            servo = by_id[servo_id]
            error, data = servo.read(address, length)
            segments.append(bytes((error | servo.alert, servo_id)) + data.ljust(length, b"\0"))
        length_field = 1 + sum(len(segment) + 2 for segment in segments)
        packet = bytearray(p.HEADER)
        packet += bytes((p.BROADCAST_ID, length_field & 0xFF, length_field >> 8, p.STATUS))
        for segment in segments:
            packet += segment
            crc = p.crc16(packet)
            packet += bytes((crc & 0xFF, crc >> 8))
        self._maybe_corrupt(requests[-1][0], packet)
        self._send(bytes(packet), by_id[requests[0][0]].return_delay_s)


def _word(data: bytes, index: int) -> int:
    return data[index] | (data[index + 1] << 8)
