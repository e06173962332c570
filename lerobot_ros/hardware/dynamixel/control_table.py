"""The DYNAMIXEL X-series control table (Protocol 2.0): addresses, sizes, access, defaults.

One table for the driver and the emulator, so both agree on every address. Values follow
the ROBOTIS e-Manual pages of the XL430-W250 and XL330-M288/M077 (and match LeRobot's
``X_SERIES_CONTROL_TABLE``, which a test checks). Defaults are the factory ones except the
baud rate, which LeRobot-configured arms (and this package) run at 1 Mbps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EEPROM_END = 64  # addresses below are EEPROM: writable only while torque is off
RESOLUTION = 4096  # encoder ticks per turn on every X-series model
TICKS_PER_RADIAN = RESOLUTION / (2.0 * math.pi)
VELOCITY_UNIT_RPM = 0.229  # one unit of Present_Velocity / Profile_Velocity / Velocity_Limit

# Model_Number register values (LeRobot's MODEL_NUMBER_TABLE has the same).
MODEL_NUMBERS: dict[str, int] = {
    "xl430-w250": 1060,
    "xl330-m288": 1200,
    "xl330-m077": 1190,
    "xm430-w350": 1020,
    "xm540-w270": 1120,
    "xc430-w150": 1070,
}
MODEL_NAMES: dict[int, str] = {number: name for name, number in MODEL_NUMBERS.items()}

# Baud_Rate register value -> bit/s.
BAUD_RATES: dict[int, int] = {
    0: 9_600,
    1: 57_600,
    2: 115_200,
    3: 1_000_000,
    4: 2_000_000,
    5: 3_000_000,
    6: 4_000_000,
    7: 4_500_000,
}
BAUD_RATE_VALUES: dict[int, int] = {bps: value for value, bps in BAUD_RATES.items()}

# Operating_Mode values
CURRENT_CONTROL = 0
VELOCITY_CONTROL = 1
POSITION_CONTROL = 3
EXTENDED_POSITION_CONTROL = 4
CURRENT_BASED_POSITION_CONTROL = 5
PWM_CONTROL = 16
OPERATING_MODES = (
    CURRENT_CONTROL,
    VELOCITY_CONTROL,
    POSITION_CONTROL,
    EXTENDED_POSITION_CONTROL,
    CURRENT_BASED_POSITION_CONTROL,
    PWM_CONTROL,
)


@dataclass(frozen=True)
class Register:
    """One control-table item."""

    name: str
    address: int
    size: int
    writable: bool
    default: int = 0
    minimum: int | None = None  # None: the full range of its size (signed if ``signed``)
    maximum: int | None = None
    signed: bool = False

    @property
    def eeprom(self) -> bool:
        return self.address < EEPROM_END

    @property
    def value_range(self) -> tuple[int, int]:
        bits = 8 * self.size
        full = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if self.signed else (0, (1 << bits) - 1)
        return (
            full[0] if self.minimum is None else self.minimum,
            full[1] if self.maximum is None else self.maximum,
        )

    def encode(self, value: int) -> bytes:
        """Little-endian bytes of ``value`` (two's complement when signed)."""
        return int(value).to_bytes(self.size, "little", signed=self.signed and value < 0)

    def decode(self, data: bytes) -> int:
        return int.from_bytes(data[: self.size], "little", signed=self.signed)


def _r(
    name: str, address: int, size: int, writable: bool = True, default: int = 0, **kw
) -> Register:  # noqa: ANN003
    return Register(name, address, size, writable, default, **kw)


REGISTERS: tuple[Register, ...] = (
    # EEPROM
    _r("Model_Number", 0, 2, False),
    _r("Model_Information", 2, 4, False),
    _r("Firmware_Version", 6, 1, False, 46),
    _r("ID", 7, 1, True, 1, maximum=252),
    _r("Baud_Rate", 8, 1, True, 3, maximum=7),
    _r("Return_Delay_Time", 9, 1, True, 250, maximum=254),
    _r("Drive_Mode", 10, 1, True, 0, maximum=13),
    _r("Operating_Mode", 11, 1, True, POSITION_CONTROL, maximum=16),
    _r("Secondary_ID", 12, 1, True, 255),
    _r("Protocol_Type", 13, 1, True, 2, minimum=1, maximum=2),
    _r("Homing_Offset", 20, 4, True, 0, minimum=-1_044_479, maximum=1_044_479, signed=True),
    _r("Moving_Threshold", 24, 4, True, 10, maximum=1023),
    _r("Temperature_Limit", 31, 1, True, 72, maximum=100),
    _r("Max_Voltage_Limit", 32, 2, True, 140, minimum=60, maximum=140),
    _r("Min_Voltage_Limit", 34, 2, True, 60, minimum=60, maximum=140),
    _r("PWM_Limit", 36, 2, True, 885, maximum=885),
    _r("Current_Limit", 38, 2, True, 1750, maximum=1750),
    _r("Acceleration_Limit", 40, 4, True, 32767, maximum=32767),
    _r("Velocity_Limit", 44, 4, True, 265, maximum=2047),
    _r("Max_Position_Limit", 48, 4, True, 4095, maximum=4095),
    _r("Min_Position_Limit", 52, 4, True, 0, maximum=4095),
    _r("Shutdown", 63, 1, True, 52),
    # RAM
    _r("Torque_Enable", 64, 1, True, 0, maximum=1),
    _r("LED", 65, 1, True, 0, maximum=1),
    _r("Status_Return_Level", 68, 1, True, 2, maximum=2),
    _r("Registered_Instruction", 69, 1, False),
    _r("Hardware_Error_Status", 70, 1, False),
    _r("Velocity_I_Gain", 76, 2, True, 1000, maximum=16383),
    _r("Velocity_P_Gain", 78, 2, True, 100, maximum=16383),
    _r("Position_D_Gain", 80, 2, True, 4000, maximum=16383),
    _r("Position_I_Gain", 82, 2, True, 0, maximum=16383),
    _r("Position_P_Gain", 84, 2, True, 640, maximum=16383),
    _r("Feedforward_2nd_Gain", 88, 2, True, 0, maximum=16383),
    _r("Feedforward_1st_Gain", 90, 2, True, 0, maximum=16383),
    _r("Bus_Watchdog", 98, 1, True, 0, maximum=127),
    _r("Goal_PWM", 100, 2, True, 885, minimum=-885, maximum=885, signed=True),
    _r("Goal_Current", 102, 2, True, 1750, minimum=-1750, maximum=1750, signed=True),
    _r("Goal_Velocity", 104, 4, True, 0, minimum=-2047, maximum=2047, signed=True),
    _r("Profile_Acceleration", 108, 4, True, 0, maximum=32767),
    _r("Profile_Velocity", 112, 4, True, 0, maximum=32767),
    _r("Goal_Position", 116, 4, True, 0, minimum=-1_048_575, maximum=1_048_575, signed=True),
    _r("Realtime_Tick", 120, 2, False),
    _r("Moving", 122, 1, False),
    _r("Moving_Status", 123, 1, False),
    _r("Present_PWM", 124, 2, False, signed=True),
    _r("Present_Current", 126, 2, False, signed=True),
    _r("Present_Velocity", 128, 4, False, signed=True),
    _r("Present_Position", 132, 4, False, signed=True),
    _r("Velocity_Trajectory", 136, 4, False, signed=True),
    _r("Position_Trajectory", 140, 4, False, signed=True),
    _r("Present_Input_Voltage", 144, 2, False, 120),
    _r("Present_Temperature", 146, 1, False, 30),
)
TABLE_SIZE = 148  # bytes of the emulated table (through Present_Temperature and a spare)

BY_NAME: dict[str, Register] = {register.name: register for register in REGISTERS}
BY_ADDRESS: dict[int, Register] = {register.address: register for register in REGISTERS}

# Defaults that differ per model (factory values from each model's e-Manual page).
MODEL_DEFAULTS: dict[int, dict[str, int]] = {
    1060: {},  # XL430-W250: the table's defaults
    1200: {  # XL330-M288
        "Max_Voltage_Limit": 70,
        "Min_Voltage_Limit": 35,
        "Temperature_Limit": 70,
        "Velocity_Limit": 445,
        "Position_D_Gain": 0,
        "Position_P_Gain": 400,
        "Velocity_I_Gain": 1600,
        "Velocity_P_Gain": 180,
        "Present_Input_Voltage": 50,
    },
    1190: {  # XL330-M077
        "Max_Voltage_Limit": 70,
        "Min_Voltage_Limit": 35,
        "Temperature_Limit": 70,
        "Velocity_Limit": 1620,
        "Position_D_Gain": 0,
        "Position_P_Gain": 400,
        "Velocity_I_Gain": 1600,
        "Velocity_P_Gain": 180,
        "Present_Input_Voltage": 50,
    },
}


def register(name_or_address: str | int) -> Register:
    """The register of a name (``"Goal_Position"``) or start address; KeyError names it."""
    table = BY_NAME if isinstance(name_or_address, str) else BY_ADDRESS
    try:
        return table[name_or_address]
    except KeyError:
        raise KeyError(f"no X-series register {name_or_address!r}") from None


def model_name(model_number: int) -> str:
    return MODEL_NAMES.get(model_number, f"model {model_number}")


def ticks_per_second(velocity_units: float) -> float:
    """Encoder ticks per second of a velocity in 0.229 rev/min units."""
    return velocity_units * VELOCITY_UNIT_RPM / 60.0 * RESOLUTION
