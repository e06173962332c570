"""The Feetech servo emulator, driven by the feetech-servo-sdk (scservo_sdk) and LeRobot's
FeetechMotorsBus as an SO-101's bus would be."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import termios
import threading
import time

import pytest
import scservo_sdk as scs
import serial
from lerobot.motors import Motor, MotorCalibration, MotorNormMode
from lerobot.motors.feetech import FeetechMotorsBus
from lerobot.motors.feetech.tables import STS_SMS_SERIES_CONTROL_TABLE

from lerobot_ros.emulators.feetech_bus_server import (
    PING,
    READ,
    PacketParser,
    status_packet,
)
from lerobot_ros.emulators.feetech_emulator import STS3215, FeetechEmulator
from lerobot_ros.emulators.feetech_servo_model import (
    DEFAULT_SPEED,
    FeetechServoModel,
    lerobot_tables,
)

PRESENT_POSITION = STS_SMS_SERIES_CONTROL_TABLE["Present_Position"][0]
GOAL_POSITION = STS_SMS_SERIES_CONTROL_TABLE["Goal_Position"][0]
TORQUE_ENABLE = STS_SMS_SERIES_CONTROL_TABLE["Torque_Enable"][0]
MODEL_NUMBER = STS_SMS_SERIES_CONTROL_TABLE["Model_Number"][0]


@pytest.fixture
def feetech():
    """Three STS3215 servos (ids 1-3), the first at 1000 steps, the others mid-turn."""
    with FeetechEmulator([1, 2, 3], positions={1: 1000}) as emulator:
        yield emulator


@pytest.fixture
def scservo(feetech):
    """(PortHandler, PacketHandler) of the feetech-servo-sdk on the emulator's port."""
    port = scs.PortHandler(feetech.port)
    assert port.openPort() and port.setBaudRate(1_000_000)
    yield port, scs.PacketHandler(0)
    if port.is_open:
        try:
            port.closePort()
        except OSError:
            pass


def so_bus(port: str, ids=(1, 2, 3)) -> FeetechMotorsBus:
    motors = {f"joint{i}": Motor(i, "sts3215", MotorNormMode.RANGE_M100_100) for i in ids}
    return FeetechMotorsBus(port, motors)


def test_the_table_is_lerobots():
    assert lerobot_tables().MODEL_CONTROL_TABLE["sts3215"] == STS_SMS_SERIES_CONTROL_TABLE
    assert lerobot_tables().MODEL_NUMBER_TABLE["sts3215"] == STS3215


def test_a_goal_is_reached_at_the_modelled_speed_reporting_motion_on_the_way():
    now = [0.0]
    servo = FeetechServoModel(1, STS3215, 1_000_000, threading.RLock(), 1000, lambda: now[0])
    servo.write_register("Torque_Enable", 1)
    now[0] = 5.0  # holding still: time alone moves nothing
    servo.write_register("Goal_Position", 1000 + round(DEFAULT_SPEED))  # one second away
    now[0] = 5.5
    assert servo.present_position == 1000 + round(DEFAULT_SPEED / 2)
    assert servo.moving and servo.present_velocity == round(DEFAULT_SPEED)
    now[0] = 6.5
    assert servo.present_position == 1000 + round(DEFAULT_SPEED)
    assert not servo.moving and servo.present_velocity == 0


def test_packets_split_anywhere_with_noise_and_bad_checksums():
    read = bytes((0xFF, 0xFF, 2, 4, READ, PRESENT_POSITION, 2))
    read += bytes((~sum(read[2:]) & 0xFF,))
    ping = bytes((0xFF, 0xFF, 3, 2, PING, ~(3 + 2 + PING) & 0xFF))
    parser = PacketParser()
    stream = b"\x00\x17\xff" + read + ping[:-1] + bytes((ping[-1] ^ 0x55,))
    packets = [packet for byte in stream for packet in parser.feed(bytes((byte,)))]
    assert [(p.servo_id, p.instruction, p.params, p.checksum_ok) for p in packets] == [
        (2, READ, bytes((PRESENT_POSITION, 2)), True),
        (3, PING, b"", False),
    ]
    assert status_packet(1, 0, b"\x10\x27") == bytes((0xFF, 0xFF, 1, 4, 0, 0x10, 0x27, 0xC3))


def test_ping_read_write_and_a_servo_that_is_not_there(feetech, scservo):
    port, packet = scservo
    assert packet.ping(port, 2) == (STS3215, scs.COMM_SUCCESS, 0)
    assert packet.ping(port, 9)[1] == scs.COMM_RX_TIMEOUT
    assert packet.read2ByteTxRx(port, 1, PRESENT_POSITION) == (1000, scs.COMM_SUCCESS, 0)
    assert packet.read2ByteTxRx(port, 3, MODEL_NUMBER) == (STS3215, scs.COMM_SUCCESS, 0)
    assert packet.write1ByteTxRx(port, 2, TORQUE_ENABLE, 1) == (scs.COMM_SUCCESS, 0)
    assert feetech.servo(2).torque_enabled


def test_corrupted_status_silent_servo_and_vanished_port(feetech, scservo):
    port, packet = scservo
    feetech.corrupt_next(1, servo_id=1)
    assert packet.read2ByteTxRx(port, 1, PRESENT_POSITION)[1] == scs.COMM_RX_CORRUPT
    assert packet.read2ByteTxRx(port, 1, PRESENT_POSITION)[1] == scs.COMM_SUCCESS
    feetech.silence(2)  # a cut cable: it hears nothing and answers nothing
    assert packet.ping(port, 2)[1] == scs.COMM_RX_TIMEOUT
    assert packet.ping(port, 3)[1] == scs.COMM_SUCCESS
    feetech.unsilence(2)
    assert packet.ping(port, 2)[1] == scs.COMM_SUCCESS
    feetech.vanish()  # the USB adapter is unplugged
    with pytest.raises((OSError, serial.SerialException, termios.error)):
        packet.ping(port, 1)
    assert feetech.servo(1).present_position == 1000  # the servos stay inspectable


def test_lerobot_bus_connects_calibrates_and_moves_the_servos(feetech, wait_for):
    bus = so_bus(feetech.port)
    bus.connect()  # broadcast ping, model numbers, firmware versions
    try:
        bus.configure_motors()  # Return_Delay_Time, accelerations, Phase bit 4 cleared
        assert feetech.servo(1).read_register("Return_Delay_Time") == 0
        assert not feetech.servo(1).read_register("Phase") & 0x10
        assert bus.sync_read("Present_Position", normalize=False) == {
            "joint1": 1000,
            "joint2": 2048,
            "joint3": 2048,
        }

        # lerobot-calibrate: half-turn homing (Present = Actual - Homing_Offset), then ranges.
        offsets = bus.set_half_turn_homings()
        assert offsets == {"joint1": 1000 - 2047, "joint2": 1, "joint3": 1}
        assert feetech.servo(1).read_register("Homing_Offset") == -1047  # sign-magnitude
        assert bus.sync_read("Present_Position", normalize=False)["joint1"] == 2047
        calibration = {
            name: MotorCalibration(motor.id, 0, offsets[name], 1000, 3000)
            for name, motor in bus.motors.items()
        }
        bus.write_calibration(calibration)
        assert bus.read_calibration() == calibration and bus.is_calibrated

        # Torque on holds where the arm is; a sync write moves it at the modelled speed.
        bus.enable_torque()
        assert feetech.servo(1).goal_position == 2047
        sent = time.monotonic()
        bus.sync_write("Goal_Position", {"joint1": 2600, "joint2": 3500}, normalize=False)
        assert wait_for(lambda: feetech.servo(1).present_position == 2600)
        # Not sooner than the modelled speed allows, to the step read (a wait only delays it).
        assert time.monotonic() - sent >= (2600 - 2047 - 1) / DEFAULT_SPEED
        # Goals beyond the calibrated range stop at its end, as the servo's limits do.
        assert wait_for(lambda: feetech.servo(2).present_position == 3000)
        assert bus.sync_read("Present_Velocity", normalize=False)["joint1"] == 0

        # Torque off: a person moves the arm, the bus reads it.
        bus.disable_torque()
        feetech.servo(3).set_present_position(1234)
        assert bus.read("Present_Position", "joint3", normalize=False) == 1234
    finally:
        bus.disconnect(disable_torque=True)
    assert not any(feetech.servo(n).torque_enabled for n in (1, 2, 3))


def test_lerobot_bus_names_a_missing_servo(feetech):
    bus = so_bus(feetech.port, ids=(1, 2, 3, 4))
    with pytest.raises(RuntimeError, match="4"):
        bus.connect()


def test_unknown_models_and_bad_arguments_are_named():
    with pytest.raises(ValueError, match="duplicates"):
        FeetechEmulator([1, 1])
    with pytest.raises(ValueError, match="not an STS rate"):
        FeetechEmulator([1], baudrate=12345)
    with pytest.raises(ValueError, match="not an STS/SMS servo"):
        with FeetechEmulator([1], model_number=1060):
            pass


def test_command_line_serves_an_so101_on_a_link_until_interrupted(tmp_path):
    link = tmp_path / "ttySO101"
    process = subprocess.Popen(
        [sys.executable, "-m", "lerobot_ros.emulators.feetech_emulator", "--link", str(link)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        banner = process.stdout.readline()
        assert "sts3215 servos [1, 2, 3, 4, 5, 6]" in banner and str(link) in banner, banner
        bus = so_bus(str(link), ids=range(1, 7))
        bus.connect()
        assert set(bus.sync_read("Present_Position", normalize=False).values()) == {2048}
        bus.disconnect(disable_torque=False)
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    assert not os.path.lexists(link)
