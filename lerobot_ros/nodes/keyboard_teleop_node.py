"""``keyboard_teleop_node``: jog the end effector from the keyboard (run it in a terminal).

Keys move a Cartesian target at the grasp point (``teleop.keyboard_jog``); IK gives joint
targets that pass the same safety layer as the policy's actions (joint limits and a bounded
step from the measured joints) and go out on ``/position_controller/commands`` at
``rate_hz``, so the arm holds the last target between key presses.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray

from lerobot_ros.control.joint_commands import JointLimits
from lerobot_ros.features import adapters
from lerobot_ros.features.mapping import StateInput
from lerobot_ros.policy.safety import SafetyLayer
from lerobot_ros.resources import node_defaults
from lerobot_ros.robots import panda
from lerobot_ros.ros import qos, topics
from lerobot_ros.ros.node_main import StartupError, run_node
from lerobot_ros.teleop.keyboard_jog import HELP, JogSettings, KeyboardJog
from lerobot_ros.teleop.terminal import TerminalKeys

JOINTS = StateInput(topics.JOINT_STATES, panda.JOINT_NAMES)


class KeyboardTeleopNode(Node):
    def __init__(self, keys: Any = None, **node_kwargs: Any) -> None:  # noqa: ANN401
        super().__init__("keyboard_teleop_node", **node_kwargs)
        defaults = node_defaults("keyboard_teleop_node")
        p = {name: self.declare_parameter(name, value).value for name, value in defaults.items()}
        if p["rate_hz"] <= 0 or p["step"] <= 0 or p["yaw_step_deg"] <= 0:
            raise StartupError("rate_hz, step and yaw_step_deg must be > 0")
        try:
            self.keys = keys or TerminalKeys(sys.stdin)
        except OSError as error:
            raise StartupError(str(error)) from None
        self.jog = KeyboardJog(
            JogSettings(step=p["step"], yaw_step=math.radians(p["yaw_step_deg"]))
        )
        lower, upper = panda.joint_limits()
        relative = p["max_relative_target"] or None
        self.safety = SafetyLayer(JointLimits(panda.JOINT_NAMES, lower, upper), relative)
        self.measured: np.ndarray | None = None
        self.command_pub = self.create_publisher(
            Float64MultiArray, topics.POSITION_COMMANDS, qos.COMMAND
        )
        self.create_subscription(JointState, topics.JOINT_STATES, self.on_joint_states, qos.STATE)
        self.create_timer(1.0 / p["rate_hz"], self.on_tick)
        self.get_logger().info(HELP)

    def on_joint_states(self, msg: JointState) -> None:
        try:
            self.measured = adapters.state_vector(msg, JOINTS)
        except adapters.InputError as error:
            self.get_logger().error(f"ignored joint state: {error}", throttle_duration_sec=1.0)

    def on_tick(self) -> None:
        keys = self.keys.read()
        if self.measured is None:
            if keys:
                self.get_logger().warning("no /joint_states yet: keys ignored")
            return
        if not self.jog.started:
            self.jog.start_from(self.measured)
        for key in keys:
            if not self.jog.press(key):
                self.get_logger().info(f"unbound key {key!r}; {HELP}", throttle_duration_sec=5.0)
        filtered = self.safety.filter(self.jog.target(), self.measured)
        if filtered.action is None:
            self.get_logger().error(
                f"command refused: {filtered.reason}", throttle_duration_sec=1.0
            )
            return
        self.command_pub.publish(Float64MultiArray(data=filtered.action.tolist()))

    def destroy_node(self) -> None:
        if hasattr(self, "keys") and hasattr(self.keys, "close"):
            self.keys.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    from rclpy.executors import SingleThreadedExecutor

    return run_node("keyboard_teleop_node", KeyboardTeleopNode, SingleThreadedExecutor, args)


if __name__ == "__main__":
    sys.exit(main())
