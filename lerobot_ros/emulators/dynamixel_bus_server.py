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

from lerobot_ros.emulators.dynamixel_servo_model import ServoModel
from lerobot_ros.emulators.pty_bus_server import PtyBusServer
from lerobot_ros.hardware.dynamixel import protocol as p


class BusServer(PtyBusServer):
    """Serves DYNAMIXEL servos on a pty from a background thread (see the module doc)."""

    thread_name = "dynamixel-bus"
    servo_class = ServoModel

    def _new_parser(self) -> p.PacketParser:
        return p.PacketParser()

    def _reply(self, servo: ServoModel, error: int, params: bytes = b"") -> None:
        packet = bytearray(p.build_status(servo.id, error | servo.alert, params))
        self._maybe_corrupt(servo.id, packet)
        self._send(bytes(packet), servo.return_delay_s)

    def _handle(self, packet: p.Packet) -> None:
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
            self._sync_write(by_id, _word(params, 0), _word(params, 2), params[4:])
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
