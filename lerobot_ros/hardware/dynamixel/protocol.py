"""DYNAMIXEL Protocol 2.0 framing: CRC-16, byte stuffing, packet building and parsing.

Written from the ROBOTIS Protocol 2.0 specification, independently of ``dynamixel_sdk``, so
the emulator speaking it is a genuine second implementation the SDK can be tested against.

A packet is ``FF FF FD 00 | ID | LEN_L LEN_H | INST | PARAMS... | CRC_L CRC_H`` where LEN
counts the bytes after itself (instruction, parameters, CRC). Inside the body every
``FF FF FD`` is followed by a stuffed ``FD`` so the header never appears in the data; the CRC
(polynomial 0x8005, initial 0, no reflection) covers the stuffed packet without the CRC.
"""

from __future__ import annotations

from dataclasses import dataclass

HEADER = bytes((0xFF, 0xFF, 0xFD, 0x00))
BROADCAST_ID = 0xFE
MAX_ID = 0xFC

# Instructions
PING = 0x01
READ = 0x02
WRITE = 0x03
REG_WRITE = 0x04
ACTION = 0x05
FACTORY_RESET = 0x06
REBOOT = 0x08
CLEAR = 0x10
STATUS = 0x55
SYNC_READ = 0x82
SYNC_WRITE = 0x83
FAST_SYNC_READ = 0x8A
BULK_READ = 0x92
BULK_WRITE = 0x93
FAST_BULK_READ = 0x9A

# Error numbers of a status packet (bits 0-6); bit 7 is the hardware alert.
ERROR_NONE = 0
ERROR_RESULT_FAIL = 1
ERROR_INSTRUCTION = 2
ERROR_CRC = 3
ERROR_DATA_RANGE = 4
ERROR_DATA_LENGTH = 5
ERROR_DATA_LIMIT = 6
ERROR_ACCESS = 7
ERROR_ALERT_BIT = 0x80

# The longest packet a servo accepts; anything claiming more is noise.
MAX_PACKET_LENGTH = 1024


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16(data: bytes | bytearray, crc: int = 0) -> int:
    """CRC-16/BUYPASS (poly 0x8005, MSB first), as Protocol 2.0 uses it."""
    for byte in data:
        crc = ((crc << 8) ^ _CRC_TABLE[((crc >> 8) ^ byte) & 0xFF]) & 0xFFFF
    return crc


def stuff(body: bytes | bytearray) -> bytes:
    """Insert an ``FD`` after every ``FF FF FD`` of the body (instruction onwards)."""
    out = bytearray()
    for byte in body:
        out.append(byte)
        if byte == 0xFD and out[-3:-1] == b"\xff\xff":
            out.append(0xFD)
    return bytes(out)


def unstuff(body: bytes | bytearray) -> bytes:
    """Remove the ``FD`` that follows every ``FF FF FD`` of a stuffed body."""
    out = bytearray()
    index = 0
    while index < len(body):
        byte = body[index]
        out.append(byte)
        if byte == 0xFD and out[-3:-1] == b"\xff\xff" and index + 1 < len(body):
            if body[index + 1] == 0xFD:
                index += 1  # skip the stuffed copy
        index += 1
    return bytes(out)


def build_packet(servo_id: int, instruction: int, params: bytes | bytearray = b"") -> bytes:
    """A complete, stuffed packet with its CRC."""
    body = stuff(bytes((instruction,)) + bytes(params))
    length = len(body) + 2
    packet = HEADER + bytes((servo_id, length & 0xFF, length >> 8)) + body
    crc = crc16(packet)
    return packet + bytes((crc & 0xFF, crc >> 8))


def build_status(servo_id: int, error: int, params: bytes | bytearray = b"") -> bytes:
    """A status packet: instruction 0x55, the error byte, then the parameters."""
    return build_packet(servo_id, STATUS, bytes((error,)) + bytes(params))


@dataclass(frozen=True)
class Packet:
    """A received packet, unstuffed. ``crc_ok`` is False when its CRC did not match."""

    servo_id: int
    instruction: int
    params: bytes
    crc_ok: bool = True


class PacketParser:
    """Splits a byte stream into packets, resynchronising on noise.

    Feed it bytes as they arrive; it returns every complete packet. A partial packet is kept
    until more bytes come, or dropped by :meth:`drop_stale_partial` (the inter-byte timeout
    a real servo applies).
    """

    def __init__(self) -> None:
        self._buffer = bytearray()

    @property
    def pending(self) -> int:
        """Bytes received that are not yet part of a complete packet."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Packet]:
        self._buffer.extend(data)
        packets = []
        while True:
            start = self._buffer.find(HEADER[:3])
            if start < 0:
                # Keep a possible header prefix (FF or FF FF) at the end.
                keep = min(2, len(self._buffer) - len(self._buffer.rstrip(b"\xff")))
                del self._buffer[: len(self._buffer) - keep]
                return packets
            del self._buffer[:start]
            if len(self._buffer) < 7:
                return packets
            if self._buffer[3] != 0x00:  # FF FF FD FD is stuffing, not a header
                del self._buffer[:1]
                continue
            length = self._buffer[5] | (self._buffer[6] << 8)
            if length < 3 or length > MAX_PACKET_LENGTH:
                del self._buffer[:1]
                continue
            total = 7 + length
            if len(self._buffer) < total:
                return packets
            raw = bytes(self._buffer[:total])
            del self._buffer[:total]
            received_crc = raw[-2] | (raw[-1] << 8)
            body = unstuff(raw[7:-2])
            packets.append(
                Packet(
                    servo_id=raw[4],
                    instruction=body[0] if body else 0,
                    params=bytes(body[1:]),
                    crc_ok=crc16(raw[:-2]) == received_crc,
                )
            )

    def drop_stale_partial(self) -> None:
        """Forget a partial packet (its sender stopped mid-packet)."""
        self._buffer.clear()
