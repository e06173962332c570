"""One emulated Feetech STS/SMS servo (the STS3215 of SO-100/SO-101 arms): its control table
as LeRobot defines it, and a simple shaft model.

Register addresses, sizes, sign-magnitude bits, model numbers and baud rates are read from
LeRobot's own table (``lerobot/motors/feetech/tables.py``), so the emulator and
``FeetechMotorsBus`` cannot disagree. Multi-byte values are little-endian, as the STS series
sends them. With torque on, the shaft goes to Goal_Position (clamped to the position limits
when they are set) at Goal_Velocity steps/s (:data:`DEFAULT_SPEED` when 0), reporting
Present_Velocity and Moving; Present_Position = shaft - Homing_Offset, kept in one turn while
Phase bit 4 (angle feedback mode) is clear. With torque off the shaft stays where it is put
(:meth:`FeetechServoModel.set_present_position`: a person moving a leader arm) and its goal
follows it, so torque on holds the arm where it is (Feetech's manual does not say; an SO-101
that jumped at every connect would be known). EEPROM writes
are accepted whatever Lock says (a real servo only keeps them over a power cycle when it is
0). Load, current, temperature and acceleration are not modelled; the model advances lazily,
whenever it is read.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import threading
import time
from collections.abc import Callable
from types import ModuleType

from lerobot_ros.emulators.pty_bus_server import ServoReadout

RESOLUTION = 4096
DEFAULT_SPEED = 3000.0  # steps/s: an STS3215's no-load speed at 7.4 V is about 3070
FIRMWARE = (3, 10)
PHASE_ANGLE_FEEDBACK_BIT = 0x10
EEPROM_END = 40  # addresses below Torque_Enable
_FACTORY = {
    "Return_Delay_Time": 250,  # 500 us, the factory value LeRobot lowers to 0
    "Response_Status_Level": 1,
    "Max_Position_Limit": RESOLUTION - 1,
    "Max_Temperature_Limit": 70,
    "Max_Voltage_Limit": 140,
    "Min_Voltage_Limit": 40,
    "Max_Torque_Limit": 1000,
    "Phase": PHASE_ANGLE_FEEDBACK_BIT,  # LeRobot clears it at configure
    "P_Coefficient": 32,
    "Torque_Limit": 1000,
    "Present_Voltage": 74,
    "Present_Temperature": 30,
    "Lock": 1,
}


@functools.cache
def lerobot_tables() -> ModuleType:
    """LeRobot's Feetech tables module, loaded alone: it is plain data, and importing the
    ``lerobot`` package would import torch into the emulator's process (seconds)."""
    package = importlib.util.find_spec("lerobot")
    if package is None or not package.submodule_search_locations:
        raise ModuleNotFoundError("lerobot is not installed: the Feetech table comes from it")
    path = f"{package.submodule_search_locations[0]}/motors/feetech/tables.py"
    spec = importlib.util.spec_from_file_location("_lerobot_feetech_tables", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def model_names() -> dict[int, str]:
    """Model number -> LeRobot's model name, for the protocol-0 (STS/SMS) models."""
    tables = lerobot_tables()
    return {
        number: name
        for name, number in tables.MODEL_NUMBER_TABLE.items()
        if tables.MODEL_PROTOCOL[name] == 0
    }


class FeetechServoModel(ServoReadout):
    """One servo: its control table and its shaft. Thread-safe through the shared lock."""

    def __init__(
        self,
        servo_id: int,
        model_number: int,
        baudrate: int,
        lock: threading.RLock,
        position: int = 2048,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        tables = lerobot_tables()
        names = model_names()
        if model_number not in names:
            raise ValueError(f"model {model_number} is not an STS/SMS servo; one of {names}")
        if not 0 <= servo_id <= 252:
            raise ValueError(f"servo id must be in 0..252, got {servo_id}")
        name = names[model_number]
        self.registers: dict[str, tuple[int, int]] = dict(tables.MODEL_CONTROL_TABLE[name])
        self.sign_bits: dict[str, int] = dict(tables.MODEL_ENCODING_TABLE[name])
        self.baud_values: dict[int, int] = dict(tables.MODEL_BAUDRATE_TABLE[name])
        if baudrate not in self.baud_values:
            raise ValueError(f"baudrate {baudrate} is not one of {sorted(self.baud_values)}")
        self.model_number = model_number
        self.table_size = max(address + size for address, size in self.registers.values())
        self._lock = lock
        self._clock = clock
        self._memory = bytearray(self.table_size)
        for register, value in _FACTORY.items():
            self._set(register, value)
        self._set("Firmware_Major_Version", FIRMWARE[0])
        self._set("Firmware_Minor_Version", FIRMWARE[1])
        self._set("Model_Number", model_number)
        self._set("ID", servo_id)
        self._set("Baud_Rate", self.baud_values[baudrate])
        self._actual = float(position)  # shaft angle in steps, before Homing_Offset
        self._velocity = 0.0
        self._last_update = clock()
        self._registered: tuple[int, bytes] | None = None
        self.silent = False
        self._refresh_present()

    # --- public, for tests and tools (and ServoReadout's) --------------------------------
    def set_present_position(self, steps: int) -> None:
        """Put the shaft where Present_Position reads ``steps`` (moved by hand)."""
        with self._lock:
            self._advance()
            self._actual = float(int(steps) + self._get("Homing_Offset"))
            self._velocity = 0.0
            self._refresh_present()

    def read_register(self, name: str, size: int | None = None) -> int:
        """Current value of a register, by name (sign-magnitude decoded)."""
        del size  # the table knows it; the argument mirrors the DYNAMIXEL servo's
        with self._lock:
            self._advance()
            return self._get(name)

    def write_register(self, name: str, value: int, size: int | None = None) -> None:
        """Set a register directly, with the same side effects as a write over the bus."""
        del size
        address, size = self.registers[name]
        with self._lock:
            self._advance()
            self._store(address, self._encode(name, value).to_bytes(size, "little"))

    # --- protocol handling (called by the bus server with its lock held) ----------------
    def answers_at(self, host_bps: int | None) -> bool:
        """Whether it hears the host: not silenced and on the host's baud rate."""
        if self.silent:
            return False
        by_value = {value: bps for bps, value in self.baud_values.items()}
        return host_bps is None or by_value.get(self._get("Baud_Rate")) == host_bps

    @property
    def answers_writes(self) -> bool:
        """Response_Status_Level 0: only pings and reads are answered."""
        return self._get("Response_Status_Level") >= 1

    @property
    def return_delay_s(self) -> float:
        return self._get("Return_Delay_Time") * 2e-6

    def read(self, address: int, length: int) -> bytes | None:
        """The bytes a read instruction returns (None: outside the table, no answer)."""
        if length < 1 or address < 0 or address + length > self.table_size:
            return None
        self._advance()
        return bytes(self._memory[address : address + length])

    def write(self, address: int, data: bytes) -> bool:
        """Apply a write instruction; False (nothing written) when outside the table."""
        if not data or address < 0 or address + len(data) > self.table_size:
            return False
        self._advance()
        self._store(address, data)
        return True

    def reg_write(self, address: int, data: bytes) -> bool:
        if not data or address < 0 or address + len(data) > self.table_size:
            return False
        self._registered = (address, bytes(data))
        return True

    def action(self) -> None:
        if self._registered is not None:
            address, data = self._registered
            self._registered = None
            self.write(address, data)

    # --- internals -----------------------------------------------------------------------
    def _encode(self, name: str, value: int) -> int:
        bit = self.sign_bits.get(name)
        if bit is None:
            return int(value) & ((1 << (8 * self.registers[name][1])) - 1)
        return (int(value < 0) << bit) | min(abs(int(value)), (1 << bit) - 1)

    def _get(self, name: str) -> int:
        address, size = self.registers[name]
        raw = int.from_bytes(self._memory[address : address + size], "little")
        bit = self.sign_bits.get(name)
        if bit is None:
            return raw
        magnitude = raw & ((1 << bit) - 1)
        return -magnitude if raw >> bit & 1 else magnitude

    def _set(self, name: str, value: int) -> None:
        address, size = self.registers[name]
        self._memory[address : address + size] = self._encode(name, value).to_bytes(size, "little")

    def _refresh_present(self) -> None:
        present = round(self._actual) - self._get("Homing_Offset")
        if not self._get("Phase") & PHASE_ANGLE_FEEDBACK_BIT:
            present %= RESOLUTION  # angle feedback mode 0: always within one turn
        self._set("Present_Position", present)
        if not self.torque_enabled:  # the goal follows the shaft: torque on holds it there
            self._set("Goal_Position", present)
        self._set("Present_Velocity", round(self._velocity))
        self._set("Moving", int(self._velocity != 0.0))

    def _goal_steps(self) -> float:
        goal = self._get("Goal_Position")
        low, high = self._get("Min_Position_Limit"), self._get("Max_Position_Limit")
        if high > low:  # 0/0: no limits (multi-turn)
            goal = min(max(goal, low), high)
        return float(goal + self._get("Homing_Offset"))

    def _advance(self) -> None:
        now = self._clock()
        dt = max(0.0, now - self._last_update)
        self._last_update = now
        if dt > 0.0 and self.torque_enabled and self._get("Operating_Mode") == 0:
            error = self._goal_steps() - self._actual
            speed = float(abs(self._get("Goal_Velocity")) or DEFAULT_SPEED)
            if abs(error) > speed * dt:
                self._actual += math.copysign(speed * dt, error)
                self._velocity = math.copysign(speed, error)
            else:  # arrives within this interval and stops there
                self._actual = self._goal_steps()
                self._velocity = 0.0
        elif dt > 0.0:
            self._velocity = 0.0
        self._refresh_present()

    def _store(self, address: int, data: bytes) -> None:
        was_on = self.torque_enabled
        self._memory[address : address + len(data)] = data
        if not self.torque_enabled:
            self._velocity = 0.0
        elif not was_on:
            self._last_update = self._clock()  # motion starts now, not at the last read
        self._refresh_present()
