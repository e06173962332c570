"""A DYNAMIXEL Protocol 2.0 bus over dynamixel_sdk: typed reads and writes, retries, errors
that say which servo failed and how.

Every failure becomes a :class:`BusError`:

* :class:`PortError`: the serial port cannot be opened or went away (USB unplugged);
* :class:`CommError`: no valid status packet after the retries (timeout or CRC); for a sync
  read the servos that no longer answer a ping are named;
* :class:`ServoError`: a servo answered with an error byte (access, range, hardware alert).

Transient faults (a corrupted or missing status packet) are retried ``retries`` times, with
the input buffer flushed in between so a late answer is not taken for the next one.
"""

from __future__ import annotations

import termios
import threading
import time
from collections.abc import Iterable, Mapping, Sequence

import dynamixel_sdk as dxl
import serial

from lerobot_ros.hardware.dynamixel import control_table as table

PROTOCOL_VERSION = 2.0
# After a failed try, answers still on their way (the rest of a sync read) are let arrive
# and flushed, so the next transaction never takes one of them for its own answer.
SETTLE_S = 0.005
_PORT_EXCEPTIONS = (OSError, serial.SerialException, termios.error)


class BusError(RuntimeError):
    """Any failure on the bus; ``servo_ids`` names the servos concerned (may be empty)."""

    def __init__(self, message: str, servo_ids: Sequence[int] = ()) -> None:
        super().__init__(message)
        self.servo_ids = tuple(servo_ids)


class PortError(BusError):
    """The port cannot be opened, or it disappeared."""


class CommError(BusError):
    """No valid status packet came back (after the retries)."""


class ServoError(BusError):
    """A servo answered with an error in its status packet."""


class _PortHandler(dxl.PortHandler):
    """dynamixel_sdk's port with its own USB latency timer instead of the SDK's global one.

    The SDK waits for a status packet (bytes x time per byte) + 2 x LATENCY_TIMER + 2 ms,
    with LATENCY_TIMER fixed at 16 ms (an FTDI adapter's default latency timer).
    """

    def __init__(self, port_name: str, latency_timer_ms: float) -> None:
        super().__init__(port_name)
        self.latency_timer_ms = latency_timer_ms

    def setPacketTimeout(self, packet_length: int) -> None:  # noqa: N802 - the SDK's name
        self.packet_start_time = self.getCurrentTime()
        self.packet_timeout = (
            self.tx_time_per_byte * packet_length + 2.0 * self.latency_timer_ms + 2.0
        )


class DynamixelBus:
    """One serial port with servos on it. Thread-safe: one transaction at a time.

    ``latency_timer_ms`` sets how long a status packet is waited for (see _PortHandler):
    16 ms as the SDK; more for adapters or hosts that deliver bytes late.
    """

    def __init__(
        self,
        port: str,
        baudrate: int = 1_000_000,
        *,
        retries: int = 2,
        latency_timer_ms: float = 16.0,
    ) -> None:
        if baudrate not in table.BAUD_RATE_VALUES:
            raise ValueError(
                f"baudrate {baudrate} is not a DYNAMIXEL X-series rate; "
                f"one of {sorted(table.BAUD_RATE_VALUES)}"
            )
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries}")
        if not 0 < latency_timer_ms <= 1000:
            raise ValueError(f"latency_timer_ms must be in (0, 1000], got {latency_timer_ms}")
        self.latency_timer_ms = float(latency_timer_ms)
        self.port = port
        self.baudrate = baudrate
        self.retries = retries
        self._port_handler: dxl.PortHandler | None = None
        self._packet = dxl.PacketHandler(PROTOCOL_VERSION)
        self._lock = threading.RLock()
        self.retried = 0  # transactions that needed more than one try, for diagnostics

    # --- port ----------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self._port_handler is not None and self._port_handler.is_open

    def open(self) -> None:
        with self._lock:
            if self.is_open:
                return
            handler = _PortHandler(self.port, self.latency_timer_ms)
            try:
                opened = handler.openPort() and handler.setBaudRate(self.baudrate)
            except _PORT_EXCEPTIONS as error:
                raise PortError(f"cannot open serial port {self.port!r}: {error}") from error
            if not opened:
                raise PortError(f"cannot open serial port {self.port!r} at {self.baudrate} bit/s")
            self._port_handler = handler

    def close(self) -> None:
        with self._lock:
            handler, self._port_handler = self._port_handler, None
            if handler is not None and handler.is_open:
                try:
                    handler.closePort()
                except _PORT_EXCEPTIONS:
                    pass  # it is gone already

    # --- transactions --------------------------------------------------------------------
    def ping(self, servo_id: int) -> int:
        """Model number of the servo."""
        model, _ = self._transact(
            lambda port: self._packet.ping(port, servo_id), f"ping servo {servo_id}", [servo_id]
        )
        return model

    def read(self, servo_id: int, name: str) -> int:
        """One register of one servo (signed registers decoded)."""
        register = table.register(name)
        what = f"read {name} of servo {servo_id}"
        data, _ = self._transact(
            lambda port: self._packet.readTxRx(port, servo_id, register.address, register.size),
            what,
            [servo_id],
        )
        if len(data) != register.size:
            raise CommError(f"{what}: {len(data)} bytes came back, not {register.size}", [servo_id])
        return register.decode(bytes(data))

    def write(self, servo_id: int, name: str, value: int) -> None:
        """Write one register and check the servo's status answer."""
        register = table.register(name)
        payload = list(_encode(register, value, servo_id))
        self._transact(
            lambda port: (
                None,
                *self._packet.writeTxRx(port, servo_id, register.address, register.size, payload),
            ),
            f"write {name}={value} to servo {servo_id}",
            [servo_id],
        )

    def sync_read(
        self, names: Sequence[str], servo_ids: Sequence[int]
    ) -> dict[int, dict[str, int]]:
        """Registers ``names`` (one contiguous block) of every servo, in one transaction."""
        registers = [table.register(name) for name in names]
        start = min(r.address for r in registers)
        length = max(r.address + r.size for r in registers) - start
        with self._lock:
            port = self._require_port()
            reader = dxl.GroupSyncRead(port, self._packet, start, length)
            for servo_id in servo_ids:
                reader.addParam(servo_id)
            what = f"sync read {'/'.join(names)} of servos {list(servo_ids)}"
            self._transact(lambda _port: (None, reader.txRxPacket(), 0), what, servo_ids, sync=True)
            values: dict[int, dict[str, int]] = {}
            for servo_id in servo_ids:
                values[servo_id] = {}
                for r in registers:
                    if not reader.isAvailable(servo_id, r.address, r.size):
                        raise CommError(f"{what}: no {r.name} from servo {servo_id}", [servo_id])
                    raw = reader.getData(servo_id, r.address, r.size)
                    values[servo_id][r.name] = r.decode(raw.to_bytes(r.size, "little"))
            return values

    def sync_write(self, name: str, values: Mapping[int, int]) -> None:
        """Write one register of several servos in one packet (no status answers)."""
        register = table.register(name)
        with self._lock:
            port = self._require_port()
            writer = dxl.GroupSyncWrite(port, self._packet, register.address, register.size)
            for servo_id, value in values.items():
                writer.addParam(servo_id, list(_encode(register, value, servo_id)))
            self._transact(
                lambda _port: (None, writer.txPacket(), 0),
                f"sync write {name} to servos {list(values)}",
                list(values),
            )

    def set_torque(self, servo_ids: Iterable[int], enabled: bool) -> None:
        """Torque on/off servo by servo, each write acknowledged."""
        for servo_id in servo_ids:
            self.write(servo_id, "Torque_Enable", int(enabled))

    def unresponsive(self, servo_ids: Iterable[int]) -> list[int]:
        """The servos that do not answer a ping (to say which one a sync read lost)."""
        silent = []
        for servo_id in servo_ids:
            try:
                self.ping(servo_id)
            except CommError:
                silent.append(servo_id)
            except ServoError:
                pass  # it answered
        return silent

    # --- internals -----------------------------------------------------------------------
    def _require_port(self) -> dxl.PortHandler:
        if not self.is_open:
            raise PortError(f"serial port {self.port!r} is not open")
        return self._port_handler

    def _transact(self, call, what: str, servo_ids: Sequence[int], sync: bool = False):  # noqa: ANN001, ANN202
        """Run ``call(port) -> (value, comm_result, error)`` with retries; raise BusError."""
        with self._lock:
            port = self._require_port()
            result = dxl.COMM_TX_FAIL
            for attempt in range(1 + self.retries):
                if attempt:
                    self.retried += 1
                    time.sleep(SETTLE_S)
                self._flush_input(port)
                try:
                    value, result, error = call(port)
                except _PORT_EXCEPTIONS as exc:
                    port.is_using = False  # the SDK leaves it set when the port raises
                    raise PortError(
                        f"{what}: serial port {self.port!r} failed: {exc}", servo_ids
                    ) from exc
                if result == dxl.COMM_SUCCESS:
                    if error:
                        raise ServoError(
                            f"{what}: servo answered with an error: "
                            f"{self._packet.getRxPacketError(error)} (error byte 0x{error:02x})",
                            servo_ids,
                        )
                    return value, error
                if result not in (dxl.COMM_RX_TIMEOUT, dxl.COMM_RX_CORRUPT, dxl.COMM_PORT_BUSY):
                    break  # not transient
                port.is_using = False
            reason = self._packet.getTxRxResult(result)
            tries = f"after {1 + self.retries} tries" if self.retries else "(no retries)"
            if sync and len(servo_ids) > 1:
                time.sleep(SETTLE_S)
                silent = self.unresponsive(servo_ids)
                named = f"; not answering: servo {silent}" if silent else ""
                raise CommError(f"{what} failed {tries}: {reason}{named}", silent or servo_ids)
            raise CommError(f"{what} failed {tries}: {reason}", servo_ids)

    @staticmethod
    def _flush_input(port: dxl.PortHandler) -> None:
        try:
            port.ser.reset_input_buffer()
        except _PORT_EXCEPTIONS as exc:
            raise PortError(f"serial port {port.port_name!r} failed: {exc}") from exc


def _encode(register: table.Register, value: int, servo_id: int) -> bytes:
    low, high = register.value_range
    if not low <= int(value) <= high:
        raise ValueError(f"{register.name}={value} for servo {servo_id} is outside {low}..{high}")
    return register.encode(int(value))
