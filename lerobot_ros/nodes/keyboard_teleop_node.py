"""``keyboard_teleop_node``: jog the end effector from the keyboard (run it in a terminal).

Keys move a Cartesian target at the grasp point (``teleop.keyboard_jog``); IK gives joint
targets that pass the same safety layer as the policy's actions (joint limits and a bounded
step from the measured joints) and go out on ``/position_controller/commands`` at
``rate_hz``, so the arm holds the last target between key presses.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from typing import Any

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray

from lerobot_ros.features import adapters
from lerobot_ros.features.mapping import StateInput
from lerobot_ros.policy.safety import SafetyLayer
from lerobot_ros.ros import qos, topics
from lerobot_ros.ros.node_main import StartupError, run_node
from lerobot_ros.ros.parameters import declare_node_parameters, live
from lerobot_ros.sim import robot as sim_robot
from lerobot_ros.teleop.keyboard_jog import HELP, JogSettings, KeyboardJog
from lerobot_ros.teleop.terminal import TerminalKeys

JOINTS = StateInput(topics.JOINT_STATES, sim_robot.JOINT_NAMES)
# config/keyboard_teleop_node.yaml: every parameter takes effect when set.
PARAMETER_RULES = {
    "rate_hz": live(low=1.0, high=1000.0),
    "step": live(low=0.0001, high=0.5),
    "yaw_step_deg": live(low=0.01, high=90.0),
    "max_relative_target": live(low=0.0, high=10.0),
}


class KeyboardTeleopNode(Node):
    def __init__(self, keys: Any = None, **node_kwargs: Any) -> None:  # noqa: ANN401
        super().__init__("keyboard_teleop_node", **node_kwargs)
        p = declare_node_parameters(
            self, "keyboard_teleop_node", PARAMETER_RULES, self._apply_parameters
        )
        try:
            self.keys = keys or TerminalKeys(sys.stdin)
        except OSError as error:
            raise StartupError(str(error)) from None
        self.jog = KeyboardJog(
            JogSettings(step=p["step"], yaw_step=math.radians(p["yaw_step_deg"]))
        )
        self.limits = sim_robot.joint_limits()
        self.safety = SafetyLayer(self.limits, p["max_relative_target"] or None)
        self.measured: np.ndarray | None = None
        self.command_pub = self.create_publisher(
            Float64MultiArray, topics.POSITION_COMMANDS, qos.COMMAND
        )
        self.create_subscription(JointState, topics.JOINT_STATES, self.on_joint_states, qos.STATE)
        self.tick_timer = self.create_timer(1.0 / p["rate_hz"], self.on_tick)
        self.get_logger().info(HELP)

    def _apply_parameters(self, changes: dict) -> None:
        """A live ``ros2 param set`` (ranges already checked by the descriptors)."""
        if "rate_hz" in changes:
            self.tick_timer.timer_period_ns = round(1e9 / changes["rate_hz"])
        if "step" in changes:
            self.jog.settings = dataclasses.replace(self.jog.settings, step=changes["step"])
        if "yaw_step_deg" in changes:
            yaw_step = math.radians(changes["yaw_step_deg"])
            self.jog.settings = dataclasses.replace(self.jog.settings, yaw_step=yaw_step)
        if "max_relative_target" in changes:
            self.safety = SafetyLayer(self.limits, changes["max_relative_target"] or None)

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
