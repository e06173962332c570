"""``lerobot_teleop_node``: any LeRobot teleoperator (a leader arm, ...) as a ROS commander.

The teleoperator is chosen by ``teleop_type`` and built from ``teleop_config`` (YAML/JSON
text or the path of a YAML/JSON file with the type's LeRobot config fields). Each tick at
``fps`` it reads ``get_action()`` and publishes it on ``/position_controller/commands`` in the
follower's joint order and units, through the same safety layer as the other commanders.

The follower (``follower_type`` / ``follower_config``, typically the same config file as
``lerobot_robot_node``'s) is built but never connected: its action order and calibration
file define what the numbers on the topic mean, exactly as LeRobot passes a leader's action
to its follower's ``send_action``; its calibrated range gives the joint limits. Without a
follower, the teleoperator's own features and calibration are used.

Lifecycle: configure connects the teleoperator (``calibrate=False``: calibration comes from
LeRobot's calibration file); activate starts publishing; deactivate stops; cleanup and exit
disconnect. With ``max_relative_target`` the step from the measured ``/joint_states`` is
bounded (no joint states yet: limits only).
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from rclpy.executors import SingleThreadedExecutor
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray

from lerobot_ros.hardware import lerobot_bridge as bridge
from lerobot_ros.policy.safety import SafetyLayer
from lerobot_ros.ros import qos, topics
from lerobot_ros.ros.node_main import autostart_lifecycle, destroy_entities, run_node
from lerobot_ros.ros.parameters import configure, declare_node_parameters

NODE_NAME = "lerobot_teleop_node"
# config/lerobot_teleop_node.yaml: all read by configure (autostart: at start, read-only).
PARAMETER_RULES = {
    "teleop_type": configure(),
    "teleop_config": configure(),
    "follower_type": configure(),
    "follower_config": configure(),
    "units": configure(choices=tuple(bridge.UNITS)),
    "fps": configure(low=0.1, high=1000.0),
    "max_relative_target": configure(low=0.0, high=1000.0),
}


class LeRobotTeleopNode(LifecycleNode):
    def __init__(self, **node_kwargs: Any) -> None:
        super().__init__(NODE_NAME, **node_kwargs)
        declare_node_parameters(self, NODE_NAME, PARAMETER_RULES)
        self.teleop = None
        self.reason = "not configured"
        self.measured: np.ndarray | None = None
        self.commands_published = 0
        self._io: list = []
        self._timer = None

    # --- lifecycle ------------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        parameter = self._parameter_value
        teleop_type = str(parameter("teleop_type")).strip()
        follower_type = str(parameter("follower_type")).strip()
        try:
            self.fps = float(parameter("fps"))
            max_relative = float(parameter("max_relative_target"))
            units = str(parameter("units"))
            if units not in bridge.UNITS:
                raise bridge.BridgeError(
                    f"units must be one of {list(bridge.UNITS)}, got {units!r}"
                )
            if not teleop_type:
                raise bridge.BridgeError(
                    "teleop_type is not set; known types: "
                    + ", ".join(bridge.known_types(bridge.TELEOPERATOR))
                )
            if follower_type:
                follower = bridge.make_robot(follower_type, parameter("follower_config"))
                bridge.require_calibration_file(follower)
                self.command_map = bridge.command_map(follower, units)
            teleop = bridge.make_teleoperator(teleop_type, parameter("teleop_config"))
            if follower_type:
                bridge.check_same_commands(bridge.action_keys(teleop), self.command_map)
            else:
                self.command_map = bridge.command_map(teleop, units)
            notes = bridge.connect(teleop)
        except bridge.BridgeError as error:
            return self._fail(str(error))
        self.teleop = teleop
        self.safety = SafetyLayer(self.command_map.limits, max_relative or None)
        for note in notes:
            self.get_logger().warning(f"{teleop_type}: {note}")
        self.command_pub = self.create_publisher(
            Float64MultiArray, topics.POSITION_COMMANDS, qos.COMMAND
        )
        self._io = [
            self.command_pub,
            self.create_subscription(
                JointState, topics.JOINT_STATES, self.on_joint_states, qos.STATE
            ),
        ]
        self.reason = "configured, not active"
        self.get_logger().info(
            f"connected {teleop_type} (id {teleop.id!r}); commands "
            f"{'for ' + follower_type if follower_type else 'in its own units'}: "
            f"{self.command_map.describe()}; {self.fps:g} Hz"
        )
        return TransitionCallbackReturn.SUCCESS

    def _parameter_value(self, name: str) -> Any:  # noqa: ANN401 - any parameter type
        return self.get_parameter(name).value

    def _fail(self, reason: str) -> TransitionCallbackReturn:
        self.reason = reason
        self.get_logger().error(f"configure failed: {reason}")
        return TransitionCallbackReturn.FAILURE

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._timer = self.create_timer(1.0 / self.fps, self.on_tick)
        self.reason = "active"
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_timer()
        self.reason = "configured, not active"
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self.destroy_timer(self._timer)
            self._timer = None

    def _release(self) -> None:
        self._stop_timer()
        destroy_entities(self, self._io)
        if self.teleop is not None:
            bridge.disconnect(self.teleop)
            if self.context.ok():  # not after Ctrl-C: /rosout is gone by then
                self.get_logger().info(f"disconnected {bridge.device_type(self.teleop)}")
            self.teleop = None
        self.reason = "not configured"

    def destroy_node(self) -> None:
        self._release()
        super().destroy_node()

    # --- the loop -------------------------------------------------------------------------
    def on_joint_states(self, msg: JointState) -> None:
        if len(msg.position) == len(msg.name):
            measured = self.command_map.reordered_from(msg.name, msg.position)
            if measured is not None:
                self.measured = measured

    def on_tick(self) -> None:
        try:
            action = self.teleop.get_action()
            command = self.command_map.to_ros(action)
        except Exception as error:  # noqa: BLE001 - a bus hiccup must not kill the node
            self.get_logger().error(
                f"reading {bridge.device_type(self.teleop)} failed: {error}",
                throttle_duration_sec=2.0,
            )
            return
        filtered = self.safety.filter(command, self.measured)
        if filtered.action is None:
            self.get_logger().error(
                f"command not published: {filtered.reason}", throttle_duration_sec=2.0
            )
            return
        if filtered.clamped:
            self.get_logger().warning(
                "command clamped to the joint limits / max_relative_target",
                throttle_duration_sec=2.0,
            )
        self.command_pub.publish(Float64MultiArray(data=filtered.action.tolist()))
        self.commands_published += 1


def main(args: list[str] | None = None) -> int:
    return run_node(
        NODE_NAME, LeRobotTeleopNode, SingleThreadedExecutor, args, on_created=autostart_lifecycle
    )


if __name__ == "__main__":
    sys.exit(main())
