"""A chain of :class:`FeetechServoModel` answering the Feetech SCS protocol (protocol 0, the
STS/SMS series) on a pseudo-terminal.

Packets are ``FF FF ID LEN INST PARAMS... CHECKSUM`` with LEN = parameters + 2 and the
checksum the inverted low byte of the sum from ID on; a status packet puts the error byte
where the instruction was. Served: ping (also broadcast, every servo answering in id order,
as LeRobot's broadcast ping expects), read, write, reg write/action, sync write, and sync
read (each listed servo answers in turn). A packet with a bad checksum is ignored, as a servo
does; writes are answered only at Response_Status_Level 1. :class:`FeetechEmulator
<lerobot_ros.emulators.servo_bus_emulator.FeetechEmulator>` runs one in a child process.
"""

from __future__ import annotations

from dataclasses import dataclass

from lerobot_ros.emulators.feetech_servo_model import FeetechServoModel
from lerobot_ros.emulators.pty_bus_server import PtyBusServer

HEADER = b"\xff\xff"
BROADCAST_ID = 0xFE
PING, READ, WRITE, REG_WRITE, ACTION = 1, 2, 3, 4, 5
SYNC_READ, SYNC_WRITE = 0x82, 0x83


def checksum(body: bytes) -> int:
    """The SCS checksum of ``ID LEN INST/ERR PARAMS``."""
    return ~sum(body) & 0xFF


def status_packet(servo_id: int, error: int, params: bytes = b"") -> bytes:
    body = bytes((servo_id, len(params) + 2, error)) + params
    return HEADER + body + bytes((checksum(body),))


@dataclass(frozen=True)
class Packet:
    servo_id: int
    instruction: int
    params: bytes
    checksum_ok: bool


class PacketParser:
    """Bytes from the host -> instruction packets (stray bytes before a header skipped)."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    @property
    def pending(self) -> bool:
        return bool(self._buffer)

    def drop_stale_partial(self) -> None:
        self._buffer.clear()

    def feed(self, data: bytes) -> list[Packet]:
        self._buffer += data
        packets = []
        while True:
            start = self._buffer.find(HEADER)
            if start < 0:
                del self._buffer[: max(0, len(self._buffer) - 1)]  # keep a lone trailing 0xFF
                return packets
            # FF FF FF ...: the first FF is noise, the header is the last two.
            while start + 2 < len(self._buffer) and self._buffer[start + 2] == 0xFF:
                start += 1
            del self._buffer[:start]
            if len(self._buffer) < 4:
                return packets
            length = self._buffer[3]
            end = 4 + length
            if length < 2:
                del self._buffer[:2]  # no room for an instruction and a checksum: not a packet
                continue
            if len(self._buffer) < end:
                return packets
            body = bytes(self._buffer[2 : end - 1])
            packets.append(
                Packet(
                    servo_id=body[0],
                    instruction=body[2],
                    params=body[3:],
                    checksum_ok=checksum(body) == self._buffer[end - 1],
                )
            )
            del self._buffer[:end]


class FeetechBusServer(PtyBusServer):
    """Serves Feetech servos on a pty from a background thread (see the module doc)."""

    thread_name = "feetech-bus"
    servo_class = FeetechServoModel

    def _new_parser(self) -> PacketParser:
        return PacketParser()

    def _reply(self, servo: FeetechServoModel, params: bytes = b"") -> None:
        packet = bytearray(status_packet(servo.id, 0, params))
        self._maybe_corrupt(servo.id, packet)
        self._send(bytes(packet), servo.return_delay_s)

    def _handle(self, packet: Packet) -> None:
        if not packet.checksum_ok:
            return  # a servo ignores what it cannot trust; the host times out
        host_bps = self._host_bps()
        hearing = [servo for servo in self.servos if servo.answers_at(host_bps)]
        inst, params = packet.instruction, packet.params
        if packet.servo_id == BROADCAST_ID:
            self._handle_broadcast(inst, params, hearing)
            return
        servo = next((s for s in hearing if s.id == packet.servo_id), None)
        if servo is None:
            return
        if inst == PING:
            self._reply(servo)
        elif inst == READ and len(params) == 2:
            data = servo.read(params[0], params[1])
            if data is not None:
                self._reply(servo, data)
        elif inst in (WRITE, REG_WRITE) and len(params) >= 2:
            write = servo.write if inst == WRITE else servo.reg_write
            if write(params[0], params[1:]) and servo.answers_writes:
                self._reply(servo)
        elif inst == ACTION:
            servo.action()
            if servo.answers_writes:
                self._reply(servo)

    def _handle_broadcast(self, inst: int, params: bytes, hearing: list[FeetechServoModel]) -> None:
        by_id = {servo.id: servo for servo in hearing}
        if inst == PING:
            for servo in sorted(hearing, key=lambda s: s.id):
                self._reply(servo)
        elif inst == WRITE and len(params) >= 2:
            for servo in hearing:
                servo.write(params[0], params[1:])
        elif inst == ACTION:
            for servo in hearing:
                servo.action()
        elif inst == SYNC_WRITE and len(params) >= 2:
            self._sync_write(by_id, params[0], params[1], params[2:])
        elif inst == SYNC_READ and len(params) >= 2:
            address, length = params[0], params[1]
            for servo_id in params[2:]:
                servo = by_id.get(servo_id)
                data = servo.read(address, length) if servo is not None else None
                if data is not None:
                    self._reply(servo, data)
