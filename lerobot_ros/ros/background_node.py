"""An rclpy node spinning in a thread of its own context, for code that is not a ROS process
(LeRobot's command lines calling a plugin): started with the project's network defaults,
closed cleanly, also after Ctrl-C."""

from __future__ import annotations

import atexit
import sys
import threading

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node

from lerobot_ros.ros.network import apply_network_defaults
from lerobot_ros.ros.node_main import end_process

# Modules carrying a Fast DDS of their own. Beside ROS's, the two copies share singletons
# (GNU unique symbols) and the process crashes in their C++ static destructors at exit:
# pyrealsense2 2.56, which LeRobot's command lines import for their RealSense cameras.
OWN_FAST_DDS_MODULES = ("pyrealsense2",)


class BackgroundNode:
    def __init__(self, name: str) -> None:
        apply_network_defaults()
        self.context = rclpy.Context()
        rclpy.init(context=self.context, args=[])
        try:
            self.node: Node = rclpy.create_node(name, context=self.context)
            self.executor = SingleThreadedExecutor(context=self.context)
            self.executor.add_node(self.node)
        except Exception:
            rclpy.shutdown(context=self.context)
            raise
        self._thread = threading.Thread(target=self._spin, name=f"{name}-spin", daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        while self.context.ok():
            try:
                self.executor.spin_once(timeout_sec=0.1)
            except Exception:  # noqa: BLE001 - the context went down while spinning
                if self.context.ok():
                    raise
                return

    def now(self) -> float:
        """The node's clock, in seconds."""
        return self.node.get_clock().now().nanoseconds / 1e9

    def close(self) -> None:
        """Stop spinning and release the node and its context (idempotent)."""
        if self.context.ok():
            rclpy.shutdown(context=self.context)
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
        self.executor.shutdown()
        self.node.destroy_node()
        if any(module in sys.modules for module in OWN_FAST_DDS_MODULES):
            _exit_before_static_destructors()


def _exit_status() -> int:
    """The status the interpreter is exiting with: 1 after an uncaught exception (130 for
    Ctrl-C), else 0 (a ``sys.exit(code)`` leaves no trace an atexit handler can read)."""
    uncaught = getattr(sys, "last_exc", None)
    if uncaught is None:
        return 0
    return 130 if isinstance(uncaught, KeyboardInterrupt) else 1


def _end_without_static_destructors() -> None:
    atexit.unregister(_end_without_static_destructors)
    end_process(_exit_status())  # runs the other atexit handlers, then leaves at once


def _exit_before_static_destructors() -> None:
    """At the interpreter's exit, end the process once every atexit handler has run and the
    streams are flushed, skipping the C++ static destructors that would crash it. Registered
    after a node closes, so it runs before the handlers registered earlier and then runs
    them itself."""
    atexit.unregister(_end_without_static_destructors)
    atexit.register(_end_without_static_destructors)
