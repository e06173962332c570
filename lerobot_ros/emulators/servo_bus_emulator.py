"""Emulated servo buses behind a pseudo-terminal, served by a child process: what the
DYNAMIXEL and Feetech emulators share.

The servos run in a child process: the servo SDKs wait only tens of milliseconds for a status
packet and busy-poll the port meanwhile, so a server thread sharing the client's interpreter
(and its GIL) would miss that deadline on a loaded machine. :class:`ServoBusEmulator` starts
the child and talks to it over a pipe; :class:`EmulatedServo` reaches one of its servos.
Faults for tests: :meth:`~ServoBusEmulator.corrupt_next` (bad checksums),
:meth:`~ServoBusEmulator.silence` (a servo stops answering: a cut cable) and
:meth:`~ServoBusEmulator.vanish` (the port disappears: the USB adapter is unplugged; the
servos can still be inspected).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from typing import Any

from lerobot_ros.emulators.pty_bus_server import PtyBusServer

MODULE = "lerobot_ros.emulators.servo_bus_emulator"
START_TIMEOUT_S = 20.0
CALL_TIMEOUT_S = 10.0
EMULATOR_NICE = -10

_ERRORS: dict[str, type[Exception]] = {
    "KeyError": KeyError,
    "ValueError": ValueError,
    "TypeError": TypeError,
    "AttributeError": AttributeError,
    "FileExistsError": FileExistsError,
}


class EmulatedServo:
    """One servo of a running :class:`ServoBusEmulator` (reads and writes its state)."""

    def __init__(self, emulator: ServoBusEmulator, index: int) -> None:
        self._emulator = emulator
        self._index = index

    def _call(self, name: str, *args: Any) -> Any:  # noqa: ANN401 - any register value
        return self._emulator._request("servo", self._index, name, list(args))

    @property
    def id(self) -> int:
        return self._call("id")

    @property
    def model_number(self) -> int:
        return self._call("model_number")

    @property
    def present_position(self) -> int:
        return self._call("present_position")

    @property
    def present_velocity(self) -> int:
        return self._call("present_velocity")

    @property
    def goal_position(self) -> int:
        return self._call("goal_position")

    @property
    def torque_enabled(self) -> bool:
        return self._call("torque_enabled")

    @property
    def moving(self) -> bool:
        return self._call("moving")

    def set_present_position(self, ticks: int) -> None:
        """Put the shaft where Present_Position reads ``ticks`` (moved by hand)."""
        self._call("set_present_position", int(ticks))

    def read_register(self, name_or_address: str | int, size: int | None = None) -> int:
        """Current value of a register, by name or by address (and size)."""
        return self._call("read_register", name_or_address, size)

    def write_register(
        self, name_or_address: str | int, value: int, size: int | None = None
    ) -> None:
        """Set a register bypassing the access rules (as at the factory), with the side
        effects of a bus write (torque, goal, homing offset, id, ...)."""
        self._call("write_register", name_or_address, int(value), size)

    def __repr__(self) -> str:
        return f"EmulatedServo(index={self._index})"


class ServoBusEmulator:
    """Emulated servos on a pseudo-terminal, served by a child process (see the module doc).
    A context manager; a subclass names the bus, its id range and its usual model."""

    bus = ""  # "dynamixel" or "feetech": which server the child runs
    default_model = 0
    max_id = 252

    def __init__(
        self,
        servo_ids: Iterable[int],
        model_number: int | None = None,
        *,
        models: dict[int, int] | None = None,
        baudrate: int = 1_000_000,
        positions: dict[int, int] | None = None,
        link: str | os.PathLike | None = None,
    ) -> None:
        """``model_number``: of every servo (default: the bus's usual one); ``models``: model
        number per id where it differs from ``model_number``;
        ``positions``: initial Present_Position per id (default 2048, mid-turn); ``link``: a
        symlink to create to the pty (removed on stop)."""
        ids = [int(servo_id) for servo_id in servo_ids]
        if not ids:
            raise ValueError("servo_ids is empty: an emulator needs at least one servo")
        if len(set(ids)) != len(ids):
            raise ValueError(f"servo_ids has duplicates: {ids}")
        bad = [servo_id for servo_id in ids if not 0 <= servo_id <= self.max_id]
        if bad:
            raise ValueError(f"servo ids must be in 0..{self.max_id}, got {bad}")
        models = {int(k): int(v) for k, v in (models or {}).items()}
        for what, mapping in (("models", models), ("positions", positions or {})):
            unknown = sorted(set(mapping) - set(ids))
            if unknown:
                raise ValueError(f"{what} names ids {unknown} that are not in servo_ids {ids}")
        self._check_baudrate(baudrate)
        model_number = self.default_model if model_number is None else int(model_number)
        self._spec = {
            "bus": self.bus,
            "servos": [[servo_id, models.get(servo_id, model_number)] for servo_id in ids],
            "baudrate": int(baudrate),
            "positions": {str(k): int(v) for k, v in (positions or {}).items()},
            "link": os.fspath(link) if link is not None else None,
        }
        self._process: subprocess.Popen | None = None
        self._replies: queue.Queue[str] = queue.Queue()
        self._lock = threading.Lock()
        self._port: str | None = None
        self._pty_path: str | None = None

    # --- lifecycle -----------------------------------------------------------------------
    def _check_baudrate(self, baudrate: int) -> None:
        """ValueError for a rate the bus's servos cannot run at."""

    def start(self) -> ServoBusEmulator:
        """Start the servos and open the pty; returns self."""
        if self._process is not None:
            raise RuntimeError("emulator already started")
        self._process = subprocess.Popen(
            [sys.executable, "-m", MODULE, json.dumps(self._spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        stdout = self._process.stdout
        threading.Thread(
            target=lambda: [self._replies.put(line) for line in stdout] + [self._replies.put("")],
            name=f"{self.bus}-emulator-replies",
            daemon=True,
        ).start()
        try:
            reply = self._receive(START_TIMEOUT_S)
        except Exception:
            self.stop()  # reap the child whatever went wrong
            raise
        self._port, self._pty_path = reply["port"], reply["pty"]
        return self

    @property
    def port(self) -> str:
        """Serial port to open: the link when one was asked for, else the pty."""
        if self._port is None:
            raise RuntimeError("emulator not started: call start() first")
        return self._port

    @property
    def pid(self) -> int:
        """Process id of the servos' process."""
        if self._process is None:
            raise RuntimeError("emulator not started: call start() first")
        return self._process.pid

    @property
    def pty_path(self) -> str:
        if self._pty_path is None:
            raise RuntimeError("emulator not started: call start() first")
        return self._pty_path

    def stop(self) -> None:
        """Close the pty and end the servos' process (idempotent)."""
        process, self._process = self._process, None
        if process is None:
            return
        try:
            if process.poll() is None:
                process.stdin.write(json.dumps(["stop"]) + "\n")
                process.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass
        try:
            process.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdin, process.stdout):
            try:
                stream.close()
            except (BrokenPipeError, OSError):
                pass

    def vanish(self) -> None:
        """The port disappears under its users (USB unplugged); the servos stay inspectable."""
        self._request("vanish")

    def __enter__(self) -> ServoBusEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- servos and faults ---------------------------------------------------------------
    @property
    def servo_ids(self) -> list[int]:
        return self._request("ids")

    def servo(self, servo_id: int) -> EmulatedServo:
        """The servo answering to ``servo_id`` now; KeyError if there is none."""
        return EmulatedServo(self, self._request("index", int(servo_id)))

    def corrupt_next(self, count: int = 1, servo_id: int | None = None) -> None:
        """The next ``count`` status packets (of ``servo_id``, or of any servo) get a bad CRC."""
        self._request("corrupt", int(count), servo_id)

    def silence(self, servo_id: int) -> None:
        """The servo stops hearing and answering (its cable is cut)."""
        self._request("silent", int(servo_id), True)

    def unsilence(self, servo_id: int) -> None:
        self._request("silent", int(servo_id), False)

    @property
    def packets_handled(self) -> int:
        """Instruction packets received so far (every CRC-checked packet, any servo)."""
        return self._request("packets")

    # --- pipe to the child ---------------------------------------------------------------
    def _request(self, *message: Any) -> Any:  # noqa: ANN401 - whatever the call returns
        with self._lock:
            if self._process is None:
                raise RuntimeError("emulator not running: start() it first")
            try:
                self._process.stdin.write(json.dumps(list(message)) + "\n")
                self._process.stdin.flush()
            except (BrokenPipeError, ValueError) as error:
                raise RuntimeError("the emulator process is gone") from error
            return self._receive(CALL_TIMEOUT_S)["value"]

    def _receive(self, timeout: float) -> dict:
        try:
            line = self._replies.get(timeout=timeout)
        except queue.Empty:
            self._process.kill()
            raise RuntimeError(
                f"the emulator process did not answer within {timeout:g} s"
            ) from None
        if not line:
            code = self._process.poll()
            raise RuntimeError(f"the emulator process ended (exit code {code})")
        reply = json.loads(line)
        if "error" in reply:
            error_type = _ERRORS.get(reply["error"], RuntimeError)
            raise error_type(reply["message"])
        return reply


# --- the child: servos behind a pty, driven by requests on stdin -------------------------
_SERVO_READS = {
    "id",
    "model_number",
    "present_position",
    "present_velocity",
    "goal_position",
    "torque_enabled",
    "moving",
}
_SERVO_CALLS = {"set_present_position", "read_register", "write_register"}


def answer_promptly() -> None:
    """Raise this process's scheduling priority where allowed (root or CAP_SYS_NICE).

    Real servos answer within microseconds however busy the host is; an emulator at normal
    priority once went unanswered for seconds in a full test run while a graph's nodes
    started (several processes importing torch on two cores). Threads started later
    inherit the priority.
    """
    try:
        os.setpriority(os.PRIO_PROCESS, 0, EMULATOR_NICE)
    except OSError:
        pass  # unprivileged: normal priority, as before


def _serve_requests(spec: dict) -> int:
    """Run the bus's server and answer the parent's requests (JSON lines) until stop or EOF."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is the parent's to handle
    answer_promptly()
    # Replies own the real stdout; anything else printed goes to stderr.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

    def send(**reply: Any) -> None:
        out.write(json.dumps(reply) + "\n")
        out.flush()

    try:
        server = _server_class(spec["bus"])(
            [tuple(servo) for servo in spec["servos"]],
            baudrate=spec["baudrate"],
            positions={int(k): v for k, v in spec["positions"].items()},
            link=spec["link"],
            realtime=True,
        ).start()
    except (ValueError, OSError) as error:
        send(error=type(error).__name__, message=str(error))
        return 1
    send(port=server.port, pty=server.pty_path)
    try:
        for line in sys.stdin:
            request = json.loads(line)
            command, args = request[0], request[1:]
            if command == "stop":
                break
            try:
                send(value=_execute(server, command, args))
            except Exception as error:  # noqa: BLE001 - every failure goes back to the caller
                message = error.args[0] if error.args else str(error)
                send(error=type(error).__name__, message=str(message))
    finally:
        server.stop()
    return 0


def _server_class(bus: str) -> type[PtyBusServer]:
    if bus == "feetech":
        from lerobot_ros.emulators.feetech_bus_server import FeetechBusServer

        return FeetechBusServer
    from lerobot_ros.emulators.dynamixel_bus_server import BusServer

    return BusServer


def _execute(server: PtyBusServer, command: str, args: list) -> Any:  # noqa: ANN401
    if command == "servo":
        index, name, call_args = args
        servo = server.servos[index]
        if name in _SERVO_READS:
            return getattr(servo, name)
        if name in _SERVO_CALLS:
            return getattr(servo, name)(*call_args)
        raise AttributeError(f"EmulatedServo has no {name!r}")
    if command == "index":
        return server.servo_index(args[0])
    if command == "ids":
        with server.lock:
            return [servo.id for servo in server.servos]
    if command == "corrupt":
        server.corrupt_next(*args)
        return None
    if command == "silent":
        server.set_silent(*args)
        return None
    if command == "vanish":
        server.stop()
        return None
    if command == "packets":
        return server.packets_handled
    raise ValueError(f"unknown emulator request {command!r}")


def serve_until_stopped(server: PtyBusServer, program: str, what: str) -> int:
    """A command line's loop: serve until Ctrl-C or SIGTERM, then close the pty and the link
    (however early the signal comes) and return 0."""
    stop_requested: list[int] = []  # a plain flag: a handler must not take locks
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda number, _frame: stop_requested.append(number))
    try:
        print(
            f"{program}: {what} on {server.port}"
            + (f" -> {server.pty_path}" if server.link else ""),
            flush=True,
        )
        while not stop_requested:
            time.sleep(0.2)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    # The child: python -m lerobot_ros.emulators.servo_bus_emulator SPEC (JSON)
    sys.exit(_serve_requests(json.loads(sys.argv[1])))
