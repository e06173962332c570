"""Protocol 2.0 framing of the emulator, checked against dynamixel_sdk's own implementation."""

from __future__ import annotations

import random

from dynamixel_sdk.protocol2_packet_handler import Protocol2PacketHandler

from lerobot_ros.hardware.dynamixel import protocol


def sdk_packet(servo_id: int, instruction: int, params: bytes) -> bytes:
    """The bytes dynamixel_sdk puts on the wire for this packet (its stuffing and CRC)."""
    handler = Protocol2PacketHandler()
    body = [instruction, *params]
    packet = [0xFF, 0xFF, 0xFD, 0x00, servo_id, (len(body) + 2) & 0xFF, (len(body) + 2) >> 8]
    packet += body + [0, 0] + [0] * 64
    packet = handler.addStuffing(packet)
    total = packet[5] + (packet[6] << 8) + 7
    crc = handler.updateCRC(0, packet, total - 2)
    return bytes(packet[: total - 2] + [crc & 0xFF, crc >> 8])


def test_crc_matches_the_sdk_table():
    handler = Protocol2PacketHandler()
    rng = random.Random(0)
    for _ in range(300):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
        assert protocol.crc16(data) == handler.updateCRC(0, list(data), len(data))
    # The e-Manual's example: ping of ID 1 is FF FF FD 00 01 03 00 01 19 4E.
    assert protocol.build_packet(1, protocol.PING) == bytes.fromhex("fffffd0001030001194e")


def test_packets_with_header_bytes_in_the_data_are_stuffed_like_the_sdk():
    params = bytes((0x74, 0x00, 0xFF, 0xFF, 0xFD, 0x00, 0xFF, 0xFF, 0xFD))
    ours = protocol.build_packet(7, protocol.WRITE, params)
    assert ours == sdk_packet(7, protocol.WRITE, params)
    assert ours.count(b"\xff\xff\xfd\xfd") == 2
    (parsed,) = protocol.PacketParser().feed(ours)
    assert (parsed.servo_id, parsed.instruction, parsed.params, parsed.crc_ok) == (
        7,
        protocol.WRITE,
        params,
        True,
    )


def test_parser_resynchronises_on_noise_split_reads_and_bad_crcs():
    good = protocol.build_packet(3, protocol.READ, bytes((132, 0, 4, 0)))
    bad = bytearray(protocol.build_packet(4, protocol.PING))
    bad[-1] ^= 0x55
    stream = b"\x00\xff\x12\xff\xff" + good + bytes(bad) + good
    parser = protocol.PacketParser()
    packets = []
    for i in range(0, len(stream), 5):  # arrives in small chunks, as from a serial port
        packets += parser.feed(stream[i : i + 5])
    assert [(pk.servo_id, pk.crc_ok) for pk in packets] == [(3, True), (4, False), (3, True)]
    assert parser.pending == 0


def test_status_packet_layout():
    status = protocol.build_status(2, protocol.ERROR_ACCESS, b"\x01\x02")
    (parsed,) = protocol.PacketParser().feed(status)
    assert parsed.instruction == protocol.STATUS
    assert parsed.params == bytes((protocol.ERROR_ACCESS, 1, 2))
