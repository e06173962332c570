"""The servo emulator, driven by dynamixel_sdk and LeRobot's DynamixelMotorsBus as a real bus."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import termios
import time

import dynamixel_sdk as dxl
import pytest
import serial
from lerobot.motors import Motor, MotorCalibration, MotorNormMode
from lerobot.motors.dynamixel import DynamixelMotorsBus
from lerobot.motors.dynamixel.tables import X_SERIES_CONTROL_TABLE

from lerobot_ros.emulators.dynamixel_emulator import DynamixelEmulator
from lerobot_ros.emulators.pty_bus_server import SERVING_PRIORITY
from lerobot_ros.emulators.servo_bus_emulator import EMULATOR_NICE
from lerobot_ros.hardware.dynamixel import control_table
from lerobot_ros.hardware.dynamixel import protocol as p

PRESENT_POSITION, GOAL_POSITION, TORQUE_ENABLE = 132, 116, 64


def test_control_table_agrees_with_lerobot():
    for name, (address, size) in X_SERIES_CONTROL_TABLE.items():
        register = control_table.register(name)
        assert (register.address, register.size) == (address, size), name


def test_ping_unicast_and_broadcast(emulator, sdk):
    port, packet = sdk
    assert packet.ping(port, 1) == (1060, dxl.COMM_SUCCESS, 0)
    assert packet.ping(port, 3) == (1200, dxl.COMM_SUCCESS, 0)
    assert packet.ping(port, 9)[1] == dxl.COMM_RX_TIMEOUT  # nobody there
    found, result = packet.broadcastPing(port)
    assert result == dxl.COMM_SUCCESS
    assert found == {1: [1060, 46], 2: [1060, 46], 3: [1200, 46]}


def test_read_and_write_follow_the_access_rules(emulator, sdk):
    port, packet = sdk
    assert packet.read4ByteTxRx(port, 2, PRESENT_POSITION) == (2048, dxl.COMM_SUCCESS, 0)
    assert packet.read2ByteTxRx(port, 2, 0) == (1060, dxl.COMM_SUCCESS, 0)  # Model_Number

    # EEPROM is writable with torque off...
    assert packet.write1ByteTxRx(port, 2, 11, 4) == (dxl.COMM_SUCCESS, 0)
    assert emulator.servo(2).read_register("Operating_Mode") == 4
    # ...refused with the access error once torque is on, as on a real servo.
    assert packet.write1ByteTxRx(port, 2, TORQUE_ENABLE, 1) == (dxl.COMM_SUCCESS, 0)
    assert emulator.servo(2).torque_enabled
    assert packet.write1ByteTxRx(port, 2, 11, 3) == (dxl.COMM_SUCCESS, p.ERROR_ACCESS)
    assert emulator.servo(2).read_register("Operating_Mode") == 4

    # Read-only registers, out-of-range values and goals beyond the limits are refused.
    assert packet.write4ByteTxRx(port, 1, PRESENT_POSITION, 5)[1] == p.ERROR_ACCESS
    assert packet.write1ByteTxRx(port, 1, 11, 2)[1] == p.ERROR_DATA_RANGE  # no mode 2
    assert packet.write4ByteTxRx(port, 1, 48, 3000)[1] == p.ERROR_NONE  # Max_Position_Limit
    assert packet.write4ByteTxRx(port, 1, GOAL_POSITION, 3500)[1] == p.ERROR_DATA_LIMIT
    assert emulator.servo(1).goal_position == 2048
    assert packet.read4ByteTxRx(port, 1, 600)[2] == p.ERROR_ACCESS  # beyond the table


def test_byte_stuffing_both_ways(emulator, sdk):
    port, packet = sdk
    # Goal_PWM = -1 and Goal_Current = -3 put FF FF FD FF at addresses 100..103.
    assert packet.writeTxRx(port, 1, 100, 4, [0xFF, 0xFF, 0xFD, 0xFF]) == (dxl.COMM_SUCCESS, 0)
    assert emulator.servo(1).read_register("Goal_PWM") == -1
    assert emulator.servo(1).read_register("Goal_Current") == -3
    data, result, error = packet.readTxRx(port, 1, 100, 4)
    assert (data, result, error) == ([0xFF, 0xFF, 0xFD, 0xFF], dxl.COMM_SUCCESS, 0)


def test_sync_read_and_sync_write(emulator, sdk, wait_for):
    port, packet = sdk
    for servo_id, ticks in ((1, 1000), (2, 2000), (3, 3000)):
        emulator.servo(servo_id).set_present_position(ticks)
    reader = dxl.GroupSyncRead(port, packet, PRESENT_POSITION, 4)
    for servo_id in (1, 2, 3):
        assert reader.addParam(servo_id)
    assert reader.txRxPacket() == dxl.COMM_SUCCESS
    assert [reader.getData(i, PRESENT_POSITION, 4) for i in (1, 2, 3)] == [1000, 2000, 3000]
    assert reader.fastSyncRead() == dxl.COMM_SUCCESS  # the fast variant (one shared packet)
    assert [reader.getData(i, PRESENT_POSITION, 4) for i in (1, 2, 3)] == [1000, 2000, 3000]

    writer = dxl.GroupSyncWrite(port, packet, GOAL_POSITION, 4)
    for servo_id in (1, 2, 3):
        writer.addParam(servo_id, list((500 * servo_id).to_bytes(4, "little")))
    assert writer.txPacket() == dxl.COMM_SUCCESS
    assert wait_for(
        lambda: [emulator.servo(i).goal_position for i in (1, 2, 3)] == [500, 1000, 1500]
    )

    bulk = dxl.GroupBulkRead(port, packet)
    assert bulk.addParam(1, PRESENT_POSITION, 4) and bulk.addParam(3, 0, 2)
    assert bulk.txRxPacket() == dxl.COMM_SUCCESS
    assert bulk.getData(1, PRESENT_POSITION, 4) == 1000
    assert bulk.getData(3, 0, 2) == 1200


def test_reg_write_action_bulk_write_reboot_and_factory_reset(emulator, sdk, wait_for):
    port, packet = sdk
    goal = list((1234).to_bytes(4, "little"))
    assert packet.regWriteTxRx(port, 1, GOAL_POSITION, 4, goal) == (dxl.COMM_SUCCESS, 0)
    assert emulator.servo(1).goal_position == 2048  # registered, not applied
    assert emulator.servo(1).read_register("Registered_Instruction") == 1
    assert packet.action(port, dxl.BROADCAST_ID) == dxl.COMM_SUCCESS
    assert wait_for(lambda: emulator.servo(1).goal_position == 1234)

    bulk = dxl.GroupBulkWrite(port, packet)
    assert bulk.addParam(2, 65, 1, [1])  # LED of servo 2
    assert bulk.addParam(3, GOAL_POSITION, 4, list((99).to_bytes(4, "little")))
    assert bulk.txPacket() == dxl.COMM_SUCCESS
    assert wait_for(lambda: emulator.servo(3).goal_position == 99)
    assert emulator.servo(2).read_register("LED") == 1

    # Reboot: RAM back to defaults (LED off, torque off), goal = present position.
    assert packet.write1ByteTxRx(port, 2, TORQUE_ENABLE, 1)[1] == 0
    assert packet.reboot(port, 2) == (dxl.COMM_SUCCESS, 0)
    assert emulator.servo(2).read_register("LED") == 0
    assert not emulator.servo(2).torque_enabled
    # Factory reset (all but the ID): EEPROM defaults, the baud rate back to 57600.
    assert packet.write1ByteTxRx(port, 3, 11, 4)[1] == 0
    assert packet.factoryReset(port, 3, 0x01) == (dxl.COMM_SUCCESS, 0)
    assert emulator.servo(3).read_register("Operating_Mode") == 3
    assert packet.ping(port, 3)[1] == dxl.COMM_RX_TIMEOUT  # now deaf at 1 Mbps
    assert port.setBaudRate(57600)
    assert packet.ping(port, 3)[:2] == (1200, dxl.COMM_SUCCESS)


def test_motion_toward_goal_at_profile_velocity(emulator, sdk, wait_for):
    port, packet = sdk
    servo = emulator.servo(1)
    speed_units = 100  # 22.9 rev/min = 1563 ticks/s
    assert packet.write4ByteTxRx(port, 1, 112, speed_units)[1] == 0  # Profile_Velocity
    assert packet.write4ByteTxRx(port, 1, GOAL_POSITION, 3048)[1] == 0
    time.sleep(0.2)
    assert servo.present_position == 2048  # torque off: the goal alone moves nothing
    assert packet.write1ByteTxRx(port, 1, TORQUE_ENABLE, 1)[1] == 0
    started = time.monotonic()
    time.sleep(0.25)
    position, _, _ = packet.read4ByteTxRx(port, 1, PRESENT_POSITION)
    elapsed = time.monotonic() - started
    expected = 2048 + control_table.ticks_per_second(speed_units) * elapsed
    assert 2048 < position < 3048
    assert abs(position - expected) < 150
    velocity, _, _ = packet.read4ByteTxRx(port, 1, 128)
    assert velocity == speed_units
    assert packet.read1ByteTxRx(port, 1, 122)[0] == 1  # Moving
    assert wait_for(lambda: servo.present_position == 3048, timeout=3.0)
    assert packet.read1ByteTxRx(port, 1, 122)[0] == 0
    assert packet.read4ByteTxRx(port, 1, 128)[0] == 0

    # Going down reports a negative (two's complement) velocity.
    assert packet.write4ByteTxRx(port, 1, GOAL_POSITION, 1048)[1] == 0
    time.sleep(0.1)
    raw_velocity = packet.read4ByteTxRx(port, 1, 128)[0]
    assert raw_velocity - (1 << 32) == -speed_units


def test_homing_offset_and_reverse_drive_mode(emulator, sdk):
    port, packet = sdk
    servo = emulator.servo(2)
    servo.set_present_position(1000)
    # Present_Position = actual position + Homing_Offset
    assert packet.write4ByteTxRx(port, 2, 20, (-300) & 0xFFFFFFFF)[1] == 0
    assert servo.present_position == 700
    assert packet.read4ByteTxRx(port, 2, PRESENT_POSITION)[0] == 700
    # The reverse bit flips the counting direction: actual 1000 reads as -1000 (+ offset).
    assert packet.write1ByteTxRx(port, 2, 10, 1)[1] == 0
    assert servo.present_position == -1300
    # With torque off the shaft stays where it is put, whatever the goal.
    servo.set_present_position(-1200)
    time.sleep(0.1)
    assert servo.present_position == -1200


def test_torque_on_goes_to_the_stored_goal(emulator, sdk, wait_for):
    """A real servo chases its Goal_Position when torque comes on: drivers must set the goal
    to the present position first, which is why the node does."""
    port, packet = sdk
    servo = emulator.servo(1)
    servo.set_present_position(1500)
    assert servo.goal_position == 2048  # stale goal from power-up
    assert packet.write1ByteTxRx(port, 1, TORQUE_ENABLE, 1)[1] == 0
    assert wait_for(lambda: servo.present_position == 2048, timeout=3.0)


def test_corrupted_status_is_detected_by_the_sdk(emulator, sdk):
    port, packet = sdk
    emulator.corrupt_next(1)
    assert packet.read4ByteTxRx(port, 1, PRESENT_POSITION)[1] == dxl.COMM_RX_CORRUPT
    assert packet.read4ByteTxRx(port, 1, PRESENT_POSITION) == (2048, dxl.COMM_SUCCESS, 0)
    emulator.corrupt_next(1, servo_id=2)
    assert packet.ping(port, 1)[1] == dxl.COMM_SUCCESS  # only servo 2's next status
    assert packet.ping(port, 2)[1] == dxl.COMM_RX_CORRUPT
    assert packet.ping(port, 2)[1] == dxl.COMM_SUCCESS


def test_crc_error_in_an_instruction_is_answered_with_the_crc_error(emulator, sdk, wait_for):
    port, _ = sdk
    bad = bytearray(p.build_packet(1, p.WRITE, bytes((GOAL_POSITION, 0, 0, 1, 0, 0))))
    bad[-2] ^= 0xFF
    port.ser.write(bytes(bad))
    assert wait_for(lambda: port.ser.in_waiting >= 11, timeout=2.0)
    (status,) = p.PacketParser().feed(port.ser.read(64))
    assert status.params[0] == p.ERROR_CRC
    assert emulator.servo(1).goal_position == 2048  # nothing written


def test_silent_servo_times_out(emulator, sdk):
    port, packet = sdk
    emulator.silence(2)
    assert packet.ping(port, 2)[1] == dxl.COMM_RX_TIMEOUT
    reader = dxl.GroupSyncRead(port, packet, PRESENT_POSITION, 4)
    for servo_id in (1, 2, 3):
        reader.addParam(servo_id)
    assert reader.txRxPacket() == dxl.COMM_RX_TIMEOUT
    assert packet.write1ByteTxRx(port, 2, TORQUE_ENABLE, 1)[0] == dxl.COMM_RX_TIMEOUT
    assert not emulator.servo(2).torque_enabled  # a cut cable: the servo heard nothing
    emulator.unsilence(2)
    port.ser.reset_input_buffer()  # the answers of servos 1 and 3 to the failed sync read
    assert reader.txRxPacket() == dxl.COMM_SUCCESS


def test_status_return_level_and_baud_rate(emulator, sdk):
    port, packet = sdk
    assert packet.write1ByteTxRx(port, 1, 68, 1)[1] == 0  # Status_Return_Level: reads only
    assert packet.write1ByteTxRx(port, 1, 65, 1)[0] == dxl.COMM_RX_TIMEOUT  # no write status
    assert emulator.servo(1).read_register("LED") == 1  # but the write was done
    assert packet.read1ByteTxRx(port, 1, 65) == (1, dxl.COMM_SUCCESS, 0)
    # A host on another baud rate reaches nobody.
    assert port.setBaudRate(57600)
    assert packet.ping(port, 2)[1] == dxl.COMM_RX_TIMEOUT
    assert port.setBaudRate(1_000_000)
    assert packet.ping(port, 2)[1] == dxl.COMM_SUCCESS


def test_vanished_port_is_a_port_error(emulator, sdk):
    port, packet = sdk
    assert packet.ping(port, 1)[1] == dxl.COMM_SUCCESS
    emulator.vanish()
    with pytest.raises((OSError, serial.SerialException, termios.error)):
        packet.ping(port, 1)
    with pytest.raises((OSError, serial.SerialException)):
        dxl.PortHandler(emulator.pty_path).openPort()


@pytest.mark.skipif(os.geteuid() != 0, reason="raising a priority needs root (CAP_SYS_NICE)")
def test_servos_run_at_a_raised_priority(emulator, sdk):
    port, packet = sdk
    assert packet.ping(port, 1)[1] == dxl.COMM_SUCCESS  # the serving thread is running
    threads = os.listdir(f"/proc/{emulator.pid}/task")
    assert len(threads) >= 2
    nice = {int(tid): os.getpriority(os.PRIO_PROCESS, int(tid)) for tid in threads}
    assert set(nice.values()) == {EMULATOR_NICE}, nice
    # The thread serving the pty is real-time (the main thread answers the test's requests).
    serving = [int(tid) for tid in threads if int(tid) != emulator.pid]
    assert [os.sched_getscheduler(tid) for tid in serving] == [os.SCHED_FIFO] * len(serving)
    # Its own priority, or a higher one inherited from this thread (real-time once an AV1
    # encoder has run in this process as root).
    expected = max(SERVING_PRIORITY, os.sched_getparam(0).sched_priority)
    assert {os.sched_getparam(tid).sched_priority for tid in serving} == {expected}


@pytest.mark.skipif(os.geteuid() != 0, reason="real-time scheduling needs root (CAP_SYS_NICE)")
def test_servos_keep_a_higher_real_time_priority_they_inherit():
    # Started from a real-time thread, the servos stay above their real-time clients.
    policy, param = os.sched_getscheduler(0), os.sched_getparam(0)
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(SERVING_PRIORITY + 20))
    try:
        emulator = DynamixelEmulator([1]).start()
    finally:
        os.sched_setscheduler(0, policy, param)
    try:
        assert emulator.servo_ids == [1]  # started and answering
        threads = [int(tid) for tid in os.listdir(f"/proc/{emulator.pid}/task")]
        priorities = {os.sched_getparam(tid).sched_priority for tid in threads}
        assert priorities == {SERVING_PRIORITY + 20}, priorities
    finally:
        emulator.stop()


def test_unknown_servo_and_bad_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match="duplicates"):
        DynamixelEmulator([1, 1])
    with pytest.raises(ValueError, match=r"\[5\]"):
        DynamixelEmulator([1, 2], models={5: 1200})
    with pytest.raises(ValueError, match="baudrate"):
        DynamixelEmulator([1], baudrate=12345)
    with DynamixelEmulator([4]) as emu, pytest.raises(KeyError, match="4"):
        emu.servo(5)
    precious = tmp_path / "notes.txt"
    precious.write_text("keep me")
    with pytest.raises(FileExistsError, match="not a symlink"):
        DynamixelEmulator([1], link=precious).start()
    assert precious.read_text() == "keep me"


def test_lerobot_bus_connects_calibrates_and_sync_reads(emulator, wait_for):
    motors = {
        "shoulder": Motor(1, "xl430-w250", MotorNormMode.RANGE_M100_100),
        "elbow": Motor(2, "xl430-w250", MotorNormMode.DEGREES),
        "gripper": Motor(3, "xl330-m288", MotorNormMode.RANGE_0_100),
    }
    emulator.servo(1).set_present_position(1500)
    bus = DynamixelMotorsBus(emulator.port, motors)
    bus.connect()  # pings every motor and checks its model
    try:
        bus.configure_motors()
        assert emulator.servo(3).read_register("Return_Delay_Time") == 0
        assert bus.sync_read("Present_Position", normalize=False) == {
            "shoulder": 1500,
            "elbow": 2048,
            "gripper": 2048,
        }
        bus.disable_torque()
        homings = bus.set_half_turn_homings()  # writes Homing_Offset (EEPROM, torque off)
        assert homings["shoulder"] == 2047 - 1500
        assert emulator.servo(1).present_position == 2047
        calibration = {
            name: MotorCalibration(
                id=motor.id,
                drive_mode=0,
                homing_offset=homings[name],
                range_min=1047,
                range_max=3047,
            )
            for name, motor in motors.items()
        }
        bus.write_calibration(calibration)
        assert bus.is_calibrated
        normalized = bus.sync_read("Present_Position")
        assert normalized["shoulder"] == pytest.approx(0.0, abs=0.2)
        bus.enable_torque()
        bus.sync_write("Goal_Position", {"shoulder": 50.0, "elbow": 0.0, "gripper": 100.0})
        assert wait_for(lambda: emulator.servo(1).present_position == 2547, timeout=3.0)
        assert bus.sync_read("Present_Position")["shoulder"] == pytest.approx(50.0)
    finally:
        bus.disconnect()  # disables torque first
    assert not any(emulator.servo(i).torque_enabled for i in (1, 2, 3))


def test_lerobot_bus_reports_a_wrong_model(emulator):
    bus = DynamixelMotorsBus(
        emulator.port, {"gripper": Motor(3, "xl430-w250", MotorNormMode.RANGE_0_100)}
    )
    with pytest.raises(RuntimeError, match="expected 1060, found 1200"):
        bus.connect()
    bus.port_handler.closePort()


def run_command_line(*arguments: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "lerobot_ros.emulators.dynamixel_emulator", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_command_line_serves_on_a_link_until_interrupted(tmp_path, latency_timer_ms):
    link = tmp_path / "ttyDXL"
    process = run_command_line("--ids", "5", "6", "--model", "xl330-m077", "--link", str(link))
    try:
        banner = process.stdout.readline()
        assert "servos {5: xl330-m077, 6: xl330-m077}" in banner and str(link) in banner
        port = dxl.PortHandler(str(link))
        assert port.openPort()
        assert dxl.PacketHandler(2.0).ping(port, 6)[:2] == (1190, dxl.COMM_SUCCESS)
        port.closePort()
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    assert not os.path.lexists(link)


def test_command_line_serves_the_arm_description_at_home(latency_timer_ms):
    from lerobot_ros.hardware.dynamixel.arm import load_arm_config
    from lerobot_ros.resources import config_path
    from lerobot_ros.robots import panda

    process = run_command_line()
    try:
        banner = process.stdout.readline()
        assert "8: xl330-m288" in banner
        port = dxl.PortHandler(banner.rsplit(" on ", 1)[1].strip())
        assert port.openPort()
        packet = dxl.PacketHandler(2.0)
        home = load_arm_config(config_path("dynamixel_arm.yaml")).to_ticks(panda.HOME_POSITION)
        for servo_id, ticks in home.items():
            assert packet.read4ByteTxRx(port, servo_id, PRESENT_POSITION)[:2] == (ticks, 0)
        port.closePort()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_command_line_refuses_bad_arguments():
    process = run_command_line("--ids", "1", "1")
    assert process.wait(timeout=20) == 2
    assert "--ids has duplicates" in process.stderr.read()
