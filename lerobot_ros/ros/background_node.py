"""An rclpy node spinning in a thread of its own context, for code that is not a ROS process
(LeRobot's command lines calling a plugin): started with the project's network defaults,
closed cleanly, also after Ctrl-C."""

from __future__ import annotations

import threading

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node

from lerobot_ros.ros.network import apply_network_defaults


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
