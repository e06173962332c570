"""DYNAMIXEL X-series servos emulated behind a pseudo-terminal: the arm without the arm.

:class:`DynamixelEmulator` serves a chain of emulated servos (see
:mod:`~lerobot_ros.emulators.dynamixel_servo_model` for what a servo does and
:mod:`~lerobot_ros.emulators.dynamixel_bus_server` for the protocol it speaks) on a pty, so
anything that opens a serial port (``dynamixel_sdk.PortHandler``, LeRobot's
``DynamixelMotorsBus``, the ``dynamixel_node``) talks to it through :attr:`~DynamixelEmulator.port`
as it would to a U2D2, with real Protocol 2.0 packets. It is the mock hardware of the real
graph (like ros2_control's mock components) and the serial peer of the driver tests.

The servos run in a child process, reached and faulted as every emulated bus is (see
:mod:`~lerobot_ros.emulators.servo_bus_emulator`).

From a shell (the ``dynamixel_emulator`` executable), serving until Ctrl-C: the servos of
config/dynamixel_arm.yaml at the Panda's home pose, for ``dynamixel_node port:=/tmp/ttyDXL``,
or any ids and model::

    python -m lerobot_ros.emulators.dynamixel_emulator --link /tmp/ttyDXL
    python -m lerobot_ros.emulators.dynamixel_emulator --ids 1 2 3 --model xl330-m288
"""

from __future__ import annotations

import argparse
import sys

from lerobot_ros.emulators.dynamixel_bus_server import BusServer
from lerobot_ros.emulators.servo_bus_emulator import (
    ServoBusEmulator,
    answer_promptly,
    serve_until_stopped,
)
from lerobot_ros.hardware.dynamixel import control_table as table
from lerobot_ros.hardware.dynamixel import protocol as p


class DynamixelEmulator(ServoBusEmulator):
    """Emulated DYNAMIXEL servos on a pseudo-terminal (XL430 unless told). A context manager."""

    bus = "dynamixel"
    default_model = 1060
    max_id = p.MAX_ID

    def _check_baudrate(self, baudrate: int) -> None:
        if baudrate not in table.BAUD_RATE_VALUES:
            raise ValueError(
                f"baudrate {baudrate} is not an X-series rate; "
                f"one of {sorted(table.BAUD_RATE_VALUES)}"
            )


# --- command line ------------------------------------------------------------------------
def _model_number(text: str) -> int:
    """A model number (``1060``) or name (``xl430-w250``)."""
    if text.isdigit():
        return int(text)
    try:
        return table.MODEL_NUMBERS[text.lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(
            f"unknown model {text!r}; a number or one of {sorted(table.MODEL_NUMBERS)}"
        ) from None


def _arm_servos(path: str | None) -> tuple[list[tuple[int, int]], dict[int, int]]:
    """(id, model) of an arm description's servos, and their ticks at the robot's home pose."""
    from lerobot_ros.hardware.dynamixel.arm import load_arm_config
    from lerobot_ros.resources import config_path

    config = load_arm_config(path or config_path("dynamixel_arm.yaml"))
    positions: dict[int, int] = {}
    if config.robot is not None:
        from lerobot_ros.robots import home_position

        home = home_position(config.robot)
        positions = config.to_ticks([home[name] for name in config.names])
    return [(j.servo_id, j.model_number) for j in config.joints], positions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="dynamixel_emulator",
        description="Serve emulated DYNAMIXEL X-series servos (Protocol 2.0) on a pseudo-terminal "
        "until Ctrl-C. By default the servos of config/dynamixel_arm.yaml (the Panda joints, "
        "at the home pose): mock hardware for dynamixel_node.",
    )
    parser.add_argument(
        "--arm-config", help="serve the servos of this arm description (default: the package's)"
    )
    parser.add_argument("--ids", type=int, nargs="+", help="serve these servo ids instead")
    parser.add_argument(
        "--model", type=_model_number, default=1060, help="model of --ids (number or name)"
    )
    parser.add_argument("--baudrate", type=int, default=1_000_000, help="servo baud rate")
    parser.add_argument("--link", help="also reach the port through this symlink")
    args = parser.parse_args(argv)
    try:
        if args.ids is not None:
            if args.arm_config:
                raise ValueError("give --ids or --arm-config, not both")
            if len(set(args.ids)) != len(args.ids):
                raise ValueError(f"--ids has duplicates: {args.ids}")
            specs, positions = [(servo_id, args.model) for servo_id in args.ids], {}
        else:
            specs, positions = _arm_servos(args.arm_config)
        answer_promptly()
        server = BusServer(
            specs, args.baudrate, positions=positions, link=args.link, realtime=True
        ).start()
    except (ValueError, OSError) as error:
        print(f"dynamixel_emulator: {error}", file=sys.stderr)
        return 2
    servos = ", ".join(f"{servo_id}: {table.model_name(model)}" for servo_id, model in specs)
    return serve_until_stopped(
        server, "dynamixel_emulator", f"servos {{{servos}}} at {args.baudrate} bit/s"
    )


if __name__ == "__main__":
    sys.exit(main())
