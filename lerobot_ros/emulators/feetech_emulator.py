"""Feetech STS/SMS servos (SO-100/SO-101 arms: STS3215) emulated behind a pseudo-terminal.

:class:`FeetechEmulator` serves a chain of emulated servos (see
:mod:`~lerobot_ros.emulators.feetech_servo_model` and
:mod:`~lerobot_ros.emulators.feetech_bus_server`) on a pty, so LeRobot's
``FeetechMotorsBus`` (and its ``so101_follower``, ``so101_leader``, ...) talks to it through
:attr:`~lerobot_ros.emulators.servo_bus_emulator.ServoBusEmulator.port` as it would to the
arm's USB adapter, with real protocol-0 packets through the ``feetech-servo-sdk``.

From a shell (the ``feetech_emulator`` executable), serving until Ctrl-C: an SO-101's six
servos (ids 1-6), for ``lerobot_robot_node`` with ``port: /tmp/ttySO101``::

    python -m lerobot_ros.emulators.feetech_emulator --link /tmp/ttySO101
"""

from __future__ import annotations

import argparse
import sys

from lerobot_ros.emulators.feetech_bus_server import FeetechBusServer
from lerobot_ros.emulators.feetech_servo_model import lerobot_tables, model_names
from lerobot_ros.emulators.servo_bus_emulator import (
    ServoBusEmulator,
    answer_promptly,
    serve_until_stopped,
)

STS3215 = 777


class FeetechEmulator(ServoBusEmulator):
    """Emulated Feetech servos on a pseudo-terminal (STS3215 unless told). A context manager."""

    bus = "feetech"
    default_model = STS3215
    max_id = 252

    def _check_baudrate(self, baudrate: int) -> None:
        rates = lerobot_tables().MODEL_BAUDRATE_TABLE["sts3215"]
        if baudrate not in rates:
            raise ValueError(f"baudrate {baudrate} is not an STS rate; one of {sorted(rates)}")


def _model_number(text: str) -> int:
    """A model number (``777``) or LeRobot's model name (``sts3215``)."""
    names = model_names()
    if text.isdigit() and int(text) in names:
        return int(text)
    by_name = {name: number for number, name in names.items()}
    if text.lower() in by_name:
        return by_name[text.lower()]
    raise argparse.ArgumentTypeError(f"unknown model {text!r}; one of {sorted(by_name)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="feetech_emulator",
        description="Serve emulated Feetech STS/SMS servos (protocol 0) on a pseudo-terminal "
        "until Ctrl-C: mock hardware for an SO-100/SO-101 arm under lerobot_robot_node or "
        "LeRobot's own tools.",
    )
    parser.add_argument(
        "--ids", type=int, nargs="+", default=list(range(1, 7)), help="servo ids (1-6)"
    )
    parser.add_argument(
        "--model", type=_model_number, default=STS3215, help="model (number or name: sts3215)"
    )
    parser.add_argument("--baudrate", type=int, default=1_000_000, help="servo baud rate")
    parser.add_argument("--link", help="also reach the port through this symlink")
    args = parser.parse_args(argv)
    try:
        if len(set(args.ids)) != len(args.ids):
            raise ValueError(f"--ids has duplicates: {args.ids}")
        answer_promptly()
        server = FeetechBusServer(
            [(servo_id, args.model) for servo_id in args.ids],
            args.baudrate,
            link=args.link,
            realtime=True,
        ).start()
    except (ValueError, OSError) as error:
        print(f"feetech_emulator: {error}", file=sys.stderr)
        return 2
    name = model_names()[args.model]
    return serve_until_stopped(
        server, "feetech_emulator", f"{name} servos {args.ids} at {args.baudrate} bit/s"
    )


if __name__ == "__main__":
    sys.exit(main())
