"""Run a lerobot_ros node as its own OS process, with the project's network defaults."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from lerobot_ros.ros.network import apply_network_defaults
from lerobot_ros.ros.stop_request import STOP_SIGNALS

ParameterValue = bool | int | float | str | list


def format_parameter(value: ParameterValue) -> str:
    """A value in the YAML form ``--ros-args -p name:=value`` expects."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ",".join(format_parameter(v) for v in value) + "]"
    if isinstance(value, str):  # quoted: "" and strings like "1.0" or "true" stay strings
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def ros_arguments(
    parameters: Mapping[str, ParameterValue],
    node_name: str | None = None,
    log_level: str | None = None,
) -> list[str]:
    arguments = ["--ros-args"] + (["-r", f"__node:={node_name}"] if node_name else [])
    arguments += ["--log-level", log_level] if log_level else []
    for name, value in parameters.items():
        arguments += ["-p", f"{name}:={format_parameter(value)}"]
    return arguments


class NodeProcess:
    """A node module (``python -m module``) in a child process; stops it on exit."""

    def __init__(
        self,
        module: str,
        parameters: Mapping[str, ParameterValue] | None = None,
        env: Mapping[str, str] | None = None,
        log_path: Path | None = None,
        wrapper: tuple[str, ...] = (),
        stdin: int | IO | None = None,
        node_name: str | None = None,
        inherit_output: bool = False,
        log_level: str | None = None,
    ) -> None:
        """``wrapper`` prefixes the command, e.g. ``("taskset", "-c", "0")`` to pin a core;
        ``stdin`` is the child's standard input (default: this process's, e.g. a terminal);
        ``node_name`` renames the node (several instances of one executable); without
        ``log_path`` the output is dropped, or with ``inherit_output`` goes to ours."""
        self.module = module
        self.command = [
            *wrapper,
            sys.executable,
            "-m",
            module,
            *ros_arguments(parameters or {}, node_name, log_level),
        ]
        self.env = dict(os.environ if env is None else env)
        apply_network_defaults(self.env)
        self.env.setdefault("PYTHONUNBUFFERED", "1")
        self.log_path = log_path
        self.stdin = stdin
        self.inherit_output = inherit_output
        self._log_file: IO | None = None
        self.process: subprocess.Popen | None = None
        self._interrupted = False

    def start(self) -> NodeProcess:
        output = None if self.inherit_output else subprocess.DEVNULL
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log_file = output = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        # The child starts with SIGINT/SIGTERM blocked (a signal mask survives exec) until the
        # node takes them over (lerobot_ros.ros.stop_request): a Ctrl-C while its interpreter
        # starts waits for it instead of ending it with a traceback.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            self.process = subprocess.Popen(
                self.command,
                env=self.env,
                stdin=self.stdin,
                stdout=output,
                stderr=subprocess.STDOUT if output is not None else None,
            )
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        self._interrupted = False
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crash would: no cleanup runs in the node."""
        if self.running:
            self.process.kill()
            self.process.wait()

    def interrupt(self) -> None:
        """SIGINT (a clean shutdown, as Ctrl-C), once; ``stop()`` then waits for it."""
        if self.running and not self._interrupted:
            self.process.send_signal(signal.SIGINT)
            self._interrupted = True

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGINT (clean shutdown), then SIGKILL if it does not exit in time."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.interrupt()
            deadline: float | None = time.monotonic() + timeout
            while self.process.poll() is None:
                try:
                    self.process.wait(None if deadline is None else deadline - time.monotonic())
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    deadline = None
                except KeyboardInterrupt:
                    continue  # another Ctrl-C: the node is stopping already; keep waiting
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        return self.process.returncode

    def log_text(self) -> str:
        return (
            self.log_path.read_text(errors="replace")
            if self.log_path and self.log_path.exists()
            else ""
        )

    def __enter__(self) -> NodeProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def stop_all(processes: Sequence[NodeProcess], timeout: float = 10.0) -> None:
    """Stop nodes together: SIGINT to every one first (they shut down in parallel), then
    SIGKILL to any still running ``timeout`` seconds later."""
    for process in processes:
        process.interrupt()
    deadline = time.monotonic() + timeout
    for process in processes:
        process.stop(timeout=max(0.0, deadline - time.monotonic()))
