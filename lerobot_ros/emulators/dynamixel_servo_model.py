"""One emulated DYNAMIXEL X-series servo: its control table and a simple shaft model.

With torque on, the position goes to Goal_Position at Profile_Velocity (Velocity_Limit when
0), reporting Present_Velocity, Moving and Moving_Status; Present_Position = actual position
+ Homing_Offset, and the reverse bit of Drive_Mode flips the counting direction, as X-series
do; with torque off the shaft stays where it was put (:meth:`ServoModel.set_present_position`:
a person moving a leader arm). Torque on chases whatever Goal_Position holds, as a real servo
does (drivers set it to the present position first). EEPROM writes with torque on fail with
the access error, position-mode goals outside the position limits with the data limit error.
Acceleration, current and load are not modelled. The model advances lazily, whenever it is
read, so idle servos cost nothing.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from lerobot_ros.emulators.pty_bus_server import ServoReadout
from lerobot_ros.hardware.dynamixel import control_table as table
from lerobot_ros.hardware.dynamixel import protocol as p

FACTORY_BAUD_RATE = table.BAUD_RATE_VALUES[57_600]  # out of the box; LeRobot sets 1 Mbps
_POSITION_MODES = (
    table.POSITION_CONTROL,
    table.EXTENDED_POSITION_CONTROL,
    table.CURRENT_BASED_POSITION_CONTROL,
)


class ServoModel(ServoReadout):
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
        if not 0 <= servo_id <= p.MAX_ID:
            raise ValueError(f"servo id must be in 0..{p.MAX_ID}, got {servo_id}")
        if baudrate not in table.BAUD_RATE_VALUES:
            raise ValueError(
                f"baudrate {baudrate} is not an X-series rate; one of {sorted(table.BAUD_RATE_VALUES)}"
            )
        self._lock = lock
        self._clock = clock
        self.model_number = int(model_number)
        self._memory = bytearray(table.TABLE_SIZE)
        self._factory_defaults(servo_id, table.BAUD_RATE_VALUES[baudrate], keep_id=True)
        # Shaft angle in ticks, before Homing_Offset and Drive_Mode's direction apply.
        self._actual = float(position)
        self._velocity = 0.0  # ticks/s
        self._last_update = clock()
        self._start_time = self._last_update
        self._registered: tuple[int, bytes] | None = None
        self.silent = False
        self._reset_ram()

    # --- public, for tests and tools (and ServoReadout's) --------------------------------
    def set_present_position(self, ticks: int) -> None:
        """Put the shaft where Present_Position reads ``ticks`` (moved by hand)."""
        with self._lock:
            self._advance()
            self._actual = float(self._direction * (int(ticks) - self._get("Homing_Offset")))
            self._velocity = 0.0
            self._refresh_present()

    def read_register(self, name_or_address: str | int, size: int | None = None) -> int:
        """Current value of a register (by name, or by address and size)."""
        address, size, signed = self._locate(name_or_address, size)
        with self._lock:
            self._advance()
            data = bytes(self._memory[address : address + size])
        return int.from_bytes(data, "little", signed=signed)

    def write_register(
        self, name_or_address: str | int, value: int, size: int | None = None
    ) -> None:
        """Set a register directly, bypassing the access rules (as at the factory), with the
        same side effects as a write over the bus (torque, goal, homing, id, ...)."""
        address, size, signed = self._locate(name_or_address, size)
        with self._lock:
            self._advance()
            data = int(value).to_bytes(size, "little", signed=signed and value < 0)
            self._store(address, data)

    # --- protocol handling (called by the emulator with its lock held) ----------------
    def answers_at(self, host_bps: int | None) -> bool:
        """Whether it hears the host: not silenced and on the host's baud rate."""
        if self.silent:
            return False
        return host_bps is None or table.BAUD_RATES.get(self._get("Baud_Rate")) == host_bps

    @property
    def status_return_level(self) -> int:
        return self._get("Status_Return_Level")

    @property
    def return_delay_s(self) -> float:
        return self._get("Return_Delay_Time") * 2e-6

    @property
    def alert(self) -> int:
        return p.ERROR_ALERT_BIT if self._get("Hardware_Error_Status") else 0

    def ping_params(self) -> bytes:
        return bytes(
            (self.model_number & 0xFF, self.model_number >> 8, self._get("Firmware_Version"))
        )

    def read(self, address: int, length: int) -> tuple[int, bytes]:
        """(error, data) of a read instruction."""
        if length < 1 or address + length > table.TABLE_SIZE:
            # The error comes with zeros of the asked length: dynamixel_sdk indexes the data
            # of every successful reception, error or not.
            return p.ERROR_ACCESS, bytes(min(max(length, 0), table.TABLE_SIZE))
        self._advance()
        return p.ERROR_NONE, bytes(self._memory[address : address + length])

    def write(self, address: int, data: bytes) -> int:
        """Apply a write instruction; returns the error (nothing is written on an error)."""
        error = self._check_write(address, data)
        if error == p.ERROR_NONE:
            self._advance()
            self._store(address, data)
        return error

    def reg_write(self, address: int, data: bytes) -> int:
        error = self._check_write(address, data)
        if error == p.ERROR_NONE:
            self._registered = (address, bytes(data))
            self._set("Registered_Instruction", 1)
        return error

    def action(self) -> int:
        if self._registered is None:
            return p.ERROR_RESULT_FAIL
        address, data = self._registered
        self._registered = None
        self._set("Registered_Instruction", 0)
        return self.write(address, data)

    def reboot(self) -> None:
        self._advance()
        self._reset_ram()

    def factory_reset(self, option: int) -> int:
        if self.torque_enabled:
            return p.ERROR_ACCESS
        if option not in (0x01, 0x02, 0xFF):
            return p.ERROR_DATA_RANGE
        # 0xFF: everything (ID back to 1); 0x01: all but the ID; 0x02: all but ID and baud.
        baud = self._get("Baud_Rate") if option == 0x02 else FACTORY_BAUD_RATE
        self._factory_defaults(self.id, baud, keep_id=option != 0xFF)
        self._reset_ram()
        return p.ERROR_NONE

    def clear_multi_turn(self) -> int:
        if self.torque_enabled or self.moving:
            return p.ERROR_RESULT_FAIL
        self._actual = float(round(self._actual) % table.RESOLUTION)
        self._refresh_present()
        return p.ERROR_NONE

    # --- internals -----------------------------------------------------------------------
    @staticmethod
    def _locate(name_or_address: str | int, size: int | None) -> tuple[int, int, bool]:
        if isinstance(name_or_address, str):
            register = table.register(name_or_address)
            return register.address, size or register.size, register.signed
        register = table.BY_ADDRESS.get(name_or_address)
        if size is None:
            if register is None:
                raise ValueError(f"address {name_or_address} starts no register: give its size")
            size = register.size
        if name_or_address < 0 or name_or_address + size > table.TABLE_SIZE:
            raise ValueError(f"address {name_or_address} (+{size}) is outside the control table")
        signed = register is not None and register.signed and register.size == size
        return name_or_address, size, signed

    def _get(self, name: str) -> int:
        register = table.BY_NAME[name]
        return register.decode(self._memory[register.address : register.address + register.size])

    def _set(self, name: str, value: int) -> None:
        register = table.BY_NAME[name]
        self._memory[register.address : register.address + register.size] = register.encode(value)

    @property
    def _direction(self) -> int:
        return -1 if self._get("Drive_Mode") & 0x01 else 1

    def _factory_defaults(self, servo_id: int, baud_value: int, keep_id: bool) -> None:
        model_defaults = table.MODEL_DEFAULTS.get(self.model_number, {})
        for register in table.REGISTERS:
            if register.eeprom:
                self._set(register.name, model_defaults.get(register.name, register.default))
        self._set("Model_Number", self.model_number)
        self._set("ID", servo_id if keep_id else 1)
        self._set("Baud_Rate", baud_value)

    def _reset_ram(self) -> None:
        model_defaults = table.MODEL_DEFAULTS.get(self.model_number, {})
        for register in table.REGISTERS:
            if not register.eeprom:
                self._set(register.name, model_defaults.get(register.name, register.default))
        self._velocity = 0.0
        self._registered = None
        self._refresh_present()
        # After power-up the servo holds where it is: the goal starts at the present position.
        self._set("Goal_Position", self._get("Present_Position"))

    def _refresh_present(self) -> None:
        present = round(self._direction * self._actual) + self._get("Homing_Offset")
        self._set("Present_Position", present)
        self._set("Position_Trajectory", present)
        velocity_units = self._direction * self._velocity / table.ticks_per_second(1.0)
        self._set("Present_Velocity", round(velocity_units))
        self._set("Velocity_Trajectory", round(velocity_units))
        moving = abs(velocity_units) > self._get("Moving_Threshold")
        self._set("Moving", int(moving))
        arrived = (
            self._get("Operating_Mode") in _POSITION_MODES
            and abs(self._get("Goal_Position") - present) <= 1
        )
        self._set("Moving_Status", int(arrived) | (int(moving) << 1))
        elapsed_ms = int((self._clock() - self._start_time) * 1000.0)
        self._set("Realtime_Tick", elapsed_ms % 32768)

    def _speed_limit(self) -> float:
        """Ticks/s of a profile move: Profile_Velocity (0: none) capped by Velocity_Limit."""
        limit = self._get("Velocity_Limit") or 2047
        units = min(self._get("Profile_Velocity") or limit, limit)
        return table.ticks_per_second(units)

    def _advance(self) -> None:
        now = self._clock()
        dt = max(0.0, now - self._last_update)
        self._last_update = now
        mode = self._get("Operating_Mode")
        if dt > 0.0 and self.torque_enabled:
            if mode in _POSITION_MODES:
                target = self._direction * (self._get("Goal_Position") - self._get("Homing_Offset"))
                error = target - self._actual
                speed = self._speed_limit()
                if abs(error) > speed * dt:
                    self._actual += math.copysign(speed * dt, error)
                    self._velocity = math.copysign(speed, error)
                else:  # arrives within this interval and stops there
                    self._actual = float(target)
                    self._velocity = 0.0
            elif mode == table.VELOCITY_CONTROL:
                limit = self._get("Velocity_Limit")
                units = max(-limit, min(limit, self._get("Goal_Velocity")))
                self._velocity = self._direction * table.ticks_per_second(units)
                self._actual += self._velocity * dt
            else:  # current and PWM control: no load model, the shaft stays
                self._velocity = 0.0
        elif dt > 0.0:
            self._velocity = 0.0
        self._refresh_present()

    def _check_write(self, address: int, data: bytes) -> int:
        if not data or address < 0 or address + len(data) > table.TABLE_SIZE:
            return p.ERROR_ACCESS
        end = address + len(data)
        torque_on = self.torque_enabled
        for register in table.REGISTERS:
            reg_end = register.address + register.size
            if reg_end <= address or register.address >= end:
                continue
            if register.address < address or reg_end > end:
                return p.ERROR_DATA_LENGTH  # only part of a register
            if not register.writable or (register.eeprom and torque_on):
                return p.ERROR_ACCESS
            offset = register.address - address
            value = register.decode(data[offset : offset + register.size])
            low, high = register.value_range
            if not low <= value <= high:
                return p.ERROR_DATA_RANGE
            if register.name == "Operating_Mode" and value not in table.OPERATING_MODES:
                return p.ERROR_DATA_RANGE
            if register.name == "Goal_Position" and self._get("Operating_Mode") == (
                table.POSITION_CONTROL
            ):
                if not self._get("Min_Position_Limit") <= value <= self._get("Max_Position_Limit"):
                    return p.ERROR_DATA_LIMIT
            if register.name == "Goal_Velocity" and abs(value) > self._get("Velocity_Limit"):
                return p.ERROR_DATA_LIMIT
        return p.ERROR_NONE

    def _store(self, address: int, data: bytes) -> None:
        old_mode = self._get("Operating_Mode")
        old_torque = self.torque_enabled
        self._memory[address : address + len(data)] = data
        mode = self._get("Operating_Mode")
        if mode != old_mode and mode == table.POSITION_CONTROL:
            self._actual = float(round(self._actual) % table.RESOLUTION)  # single-turn again
        if not self.torque_enabled:
            self._velocity = 0.0
        elif not old_torque:
            self._last_update = self._clock()  # motion starts now, not at the last read
        self._refresh_present()
