"""Ctrl-C and SIGTERM as a request to stop, never as an exception.

Python's default SIGINT handler raises KeyboardInterrupt wherever the main thread is: inside
an rclpy callback called from C++ that ends the process with "terminate called" (SIGABRT),
inside ``destroy_node`` it leaves the node half torn down. A process that installs these
handlers only records the request; its spin loop sees it and tears down in order, and
further signals (a second Ctrl-C, ``launch``'s own SIGINT after the terminal's) are counted
and otherwise ignored. Standard library only: a node process installs it before its heavy
imports (see lerobot_ros/nodes/__init__.py).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """Set by SIGINT/SIGTERM once :meth:`install` ran; waited on by spin loops."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signals_received = 0
        self.installed = False
        # While a node process imports and builds its node nothing needs undoing yet: a
        # signal then ends it at once (exit 0) instead of after seconds of imports and
        # policy loading (launchers escalate to SIGKILL after a few). Not for hardware
        # nodes once they touch the hardware: they stop through their shutdown policy.
        self.exit_at_once = False

    def install(self, exit_at_once: bool = False) -> StopRequest:
        """Take over SIGINT and SIGTERM (main thread only; a no-op elsewhere)."""
        self.exit_at_once = exit_at_once
        if threading.current_thread() is threading.main_thread():
            for number in STOP_SIGNALS:
                signal.signal(number, self._on_signal)
            # Our runner starts nodes with these blocked (launching.processes): from now on
            # a pending one is ours to handle.
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
            self.installed = True
        return self

    def _on_signal(self, number: int, frame: object) -> None:
        self.signals_received += 1
        if self.exit_at_once:
            os._exit(0)
        self._event.set()

    def ignore_from_now(self) -> None:
        """Ignore these signals for the rest of the process (its teardown is done): Python's
        exit restores the default action for a handler written in Python, so a late Ctrl-C
        during the interpreter's exit would still end it with -SIGINT."""
        if threading.current_thread() is threading.main_thread():
            for number in STOP_SIGNALS:
                signal.signal(number, signal.SIG_IGN)

    def set(self) -> None:
        """Request a stop from code (as a signal would)."""
        self._event.set()

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)


# One per process: signals are process-wide.
STOP = StopRequest()


def install_stop_handlers(exit_at_once: bool = False) -> StopRequest:
    """The process's stop request, with SIGINT/SIGTERM routed to it (installed once;
    ``exit_at_once``: see StopRequest)."""
    return STOP if STOP.installed else STOP.install(exit_at_once)


def started_as_node(argv: list[str] | None = None) -> bool:
    """Whether this interpreter was started to run one of our nodes: ``python -m
    lerobot_ros.nodes.<node>`` (the launch-free runner) or its console script (``ros2 run``,
    ``ros2 launch``)."""
    argv = list(sys.orig_argv if argv is None else argv)
    nodes_dir = Path(__file__).resolve().parent.parent / "nodes"
    node_names = {p.stem for p in nodes_dir.glob("*_node.py")}
    for index, arg in enumerate(argv[1:], start=1):
        if arg == "--ros-args":
            break
        if arg == "-m":
            package, _, module = (argv[index + 1] if index + 1 < len(argv) else "").rpartition(".")
            return package == "lerobot_ros.nodes" and module in node_names
        if not arg.startswith("-"):
            return os.path.basename(arg) in node_names
    return False
