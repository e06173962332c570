"""Fixtures for the hardware drivers: emulated DYNAMIXEL servos on a pseudo-terminal."""

from __future__ import annotations

import time
from collections.abc import Callable

import dynamixel_sdk as dxl
import pytest

from lerobot_ros.emulators.dynamixel_emulator import DynamixelEmulator

# The SDK waits 2 x LATENCY_TIMER + 2 ms (34 ms) for a status packet. On a loaded test
# machine the emulator process is sometimes not scheduled that fast, so tests wait as for an
# adapter with a 60 ms latency timer; what they check does not depend on timing.
TEST_LATENCY_TIMER_MS = 60


@pytest.fixture
def latency_timer_ms(monkeypatch) -> int:
    """The latency timer tests use: set in dynamixel_sdk (for direct SDK and LeRobot use) and
    returned for DynamixelBus(latency_timer_ms=...)."""
    monkeypatch.setattr(dxl.port_handler, "LATENCY_TIMER", TEST_LATENCY_TIMER_MS)
    return TEST_LATENCY_TIMER_MS


@pytest.fixture
def emulator(latency_timer_ms):
    """Three servos: two XL430-W250 (ids 1, 2) and an XL330-M288 (id 3)."""
    with DynamixelEmulator([1, 2, 3], 1060, models={3: 1200}) as emu:
        yield emu


@pytest.fixture
def sdk(emulator):
    """(PortHandler, PacketHandler) of dynamixel_sdk opened on the emulator's port."""
    port = dxl.PortHandler(emulator.port)
    assert port.openPort()
    yield port, dxl.PacketHandler(2.0)
    if port.is_open:
        try:
            port.closePort()
        except OSError:
            pass


def _wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


@pytest.fixture
def wait_for():
    """``wait_for(condition, timeout=5.0)``: poll until true (sync writes get no status)."""
    return _wait_for
