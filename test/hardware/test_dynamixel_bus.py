"""DynamixelBus over the emulated servos: transactions, retries and the errors it raises."""

from __future__ import annotations

import time

import pytest

from lerobot_ros.hardware.dynamixel.bus import (
    CommError,
    DynamixelBus,
    PortError,
    ServoError,
)


@pytest.fixture
def bus(emulator, latency_timer_ms):
    bus = DynamixelBus(emulator.port, retries=2, latency_timer_ms=latency_timer_ms)
    bus.open()
    yield bus
    bus.close()


def test_ping_read_write(emulator, bus):
    assert bus.ping(1) == 1060
    assert bus.ping(3) == 1200
    assert bus.read(2, "Present_Position") == 2048
    bus.write(2, "Homing_Offset", -48)  # signed register, EEPROM, torque off
    assert bus.read(2, "Homing_Offset") == -48
    assert bus.read(2, "Present_Position") == 2000
    bus.set_torque([1, 2], True)
    assert emulator.servo(1).torque_enabled and emulator.servo(2).torque_enabled
    assert not emulator.servo(3).torque_enabled


def test_sync_read_and_write_several_registers(emulator, bus, wait_for):
    emulator.servo(1).set_present_position(-5)  # negative: two's complement decoded
    emulator.servo(3).set_present_position(4000)
    values = bus.sync_read(["Present_Velocity", "Present_Position"], [1, 2, 3])
    assert values == {
        1: {"Present_Velocity": 0, "Present_Position": -5},
        2: {"Present_Velocity": 0, "Present_Position": 2048},
        3: {"Present_Velocity": 0, "Present_Position": 4000},
    }
    bus.sync_write("Goal_Position", {1: 100, 2: 200, 3: 300})
    assert wait_for(lambda: [emulator.servo(i).goal_position for i in (1, 2, 3)] == [100, 200, 300])


def test_servo_error_names_the_servo_and_the_sdk_text(emulator, bus):
    bus.set_torque([2], True)
    with pytest.raises(ServoError, match=r"servo 2: .*Writing or Reading is not available") as info:
        bus.write(2, "Operating_Mode", 4)  # EEPROM with torque on
    assert info.value.servo_ids == (2,)
    with pytest.raises(ValueError, match="Goal_Position=5000000 for servo 1"):
        bus.write(1, "Goal_Position", 5_000_000)


def test_transient_crc_errors_are_retried(emulator, bus):
    emulator.corrupt_next(2)  # fewer than 1 + retries
    assert bus.sync_read(["Present_Position"], [1, 2, 3])[3]["Present_Position"] == 2048
    assert bus.retried >= 1
    emulator.corrupt_next(1, servo_id=2)
    assert bus.read(2, "Model_Number") == 1060


def test_persistent_errors_raise_comm_error(emulator, bus):
    emulator.corrupt_next(3, servo_id=1)  # every try
    with pytest.raises(CommError, match=r"read Present_Position of servo 1 failed after 3 tries"):
        bus.read(1, "Present_Position")
    assert bus.read(1, "Present_Position") == 2048  # and it recovers


def test_sync_read_names_the_silent_servo(emulator, bus):
    emulator.silence(3)
    with pytest.raises(CommError, match=r"not answering: servo \[3\]") as info:
        bus.sync_read(["Present_Position"], [1, 2, 3])
    assert info.value.servo_ids == (3,)
    with pytest.raises(CommError, match="ping servo 3"):
        bus.ping(3)
    emulator.unsilence(3)
    assert bus.sync_read(["Present_Position"], [1, 2, 3])[3] == {"Present_Position": 2048}


def test_status_timeout_follows_the_latency_timer(emulator, bus):
    emulator.silence(1)
    started = time.monotonic()
    with pytest.raises(CommError, match="There is no status packet"):
        bus.ping(1)
    # Three tries, each waiting 2 x 60 + 2 ms (the SDK's own 16 ms would give 34 ms each).
    assert time.monotonic() - started >= 3 * (2 * bus.latency_timer_ms + 2) / 1000


def test_vanished_port_is_a_port_error(emulator, bus):
    emulator.vanish()
    with pytest.raises(PortError, match="serial port"):
        bus.sync_read(["Present_Position"], [1, 2, 3])
    with pytest.raises(PortError):
        bus.sync_write("Goal_Position", {1: 0})
    bus.close()  # closing a vanished port is fine


def test_opening_a_missing_port_or_bad_settings():
    with pytest.raises(PortError, match="/nonexistent/ttyDXL"):
        DynamixelBus("/nonexistent/ttyDXL").open()
    with pytest.raises(ValueError, match="baudrate 12345"):
        DynamixelBus("/dev/null", baudrate=12345)
    with pytest.raises(PortError, match="not open"):
        DynamixelBus("/dev/null").ping(1)
