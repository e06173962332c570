"""``lerobot_robot_node``: any LeRobot robot (so100/so101, koch, ...) behind the topic contract.

The robot is chosen by ``robot_type`` and built from ``robot_config`` (YAML/JSON text or the
path of a YAML/JSON file with the type's LeRobot config fields); the feature mapping and its
units are those of :mod:`lerobot_ros.hardware.lerobot_bridge`. A lifecycle node, shaped like
a ros2_control hardware interface:

* configure: build and connect the robot (``calibrate=False``: calibration comes from
  LeRobot's calibration file; none fails the transition with the command to run), then
  disable torque; ``/joint_states`` and the camera images are published from now on at
  ``fps``, so the arm can be seen (and moved by hand) before it is driven;
* activate: set every goal to the measured position, enable torque, and send the newest
  command each tick, through the safety layer (joint limits from the calibration,
  ``max_relative_target``; LeRobot's own ``max_relative_target`` applies as well);
* deactivate: stop sending; torque stays on, so the motors hold their last goal;
* cleanup / shutdown / exit: disconnect (LeRobot disables torque if its config says so).

Commands: ``/position_controller/commands`` (Float64MultiArray in the robot's action order)
and ``/arm_controller/joint_trajectory`` (interpolated from the current goal), arbitrated by
the :class:`JointCommandArbiter` the sim and dynamixel_node use. A commander silent for
``command_timeout`` is ignored: nothing more is sent and the motors hold their last goal (a
hold at the measured position would open a gripper squeezing an object).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from rclpy.executors import SingleThreadedExecutor
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Float64MultiArray, String
from trajectory_msgs.msg import JointTrajectory

from lerobot_ros.control.joint_commands import CommandError, JointCommandArbiter
from lerobot_ros.hardware import lerobot_bridge as bridge
from lerobot_ros.policy.safety import SafetyLayer
from lerobot_ros.robots import robot_model
from lerobot_ros.ros import conversions, qos, topics
from lerobot_ros.ros.node_main import autostart_lifecycle, destroy_entities, run_node
from lerobot_ros.ros.parameters import configure, declare_node_parameters

NODE_NAME = "lerobot_robot_node"
# config/lerobot_robot_node.yaml: all read by configure (autostart: at start, read-only).
PARAMETER_RULES = {
    "robot_type": configure(),
    "robot_config": configure(),
    "units": configure(choices=tuple(bridge.UNITS)),
    "fps": configure(low=0.1, high=1000.0),
    "command_timeout": configure(low=0.01, high=3600.0),
    "max_relative_target": configure(low=0.0, high=1000.0),
    "robot_description": configure(),
}


class LeRobotRobotNode(LifecycleNode):
    def __init__(self, **node_kwargs: Any) -> None:
        super().__init__(NODE_NAME, **node_kwargs)
        declare_node_parameters(self, NODE_NAME, PARAMETER_RULES)
        self.robot = None
        self.active = False
        self.measured: np.ndarray | None = None  # commanded features as last read, ROS units
        self.reason = "not configured"
        self._io: list = []
        self._timer = None
        self.commands: JointCommandArbiter | None = None  # while active

    # --- lifecycle ------------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        parameter = self._parameter_value
        robot_type = str(parameter("robot_type")).strip()
        try:
            self.fps = float(parameter("fps"))
            self.command_timeout = float(parameter("command_timeout"))
            max_relative = float(parameter("max_relative_target"))
            units = str(parameter("units"))
            if units not in bridge.UNITS:
                raise bridge.BridgeError(
                    f"units must be one of {list(bridge.UNITS)}, got {units!r}"
                )
            if not robot_type:
                raise bridge.BridgeError(
                    "robot_type is not set; known types: "
                    + ", ".join(bridge.known_types(bridge.ROBOT))
                )
            robot = bridge.make_robot(robot_type, parameter("robot_config"))
            notes = bridge.connect(robot)
        except bridge.BridgeError as error:
            return self._fail(str(error))
        self.robot = robot
        try:
            self.state_map = bridge.state_map(robot, units)
            self.command_map = bridge.command_map(robot, units)
            self.cameras = bridge.camera_shapes(robot)
            self.description = self._description(robot_type, str(parameter("robot_description")))
            self.safety = SafetyLayer(self.command_map.limits, max_relative or None)
            bridge.set_torque(robot, False)  # limp until activated
        except Exception as error:  # noqa: BLE001 - bridge errors and bus errors alike
            bridge.disconnect(robot)
            self.robot = None
            return self._fail(str(error))
        for note in notes:
            self.get_logger().warning(f"{robot_type}: {note}")
        self._create_io()
        self.reason = "configured, not active"
        self.get_logger().info(
            f"connected {robot_type} (id {robot.id!r}); joints: {self.command_map.describe()}; "
            f"cameras: {sorted(self.cameras) or 'none'}; {self.fps:g} Hz"
        )
        return TransitionCallbackReturn.SUCCESS

    def _description(self, robot_type: str, path: str) -> str:
        """The URDF for /robot_description: the file given, checked, or one made from the
        robot's motors and their calibrated ranges (joint names and limits in ROS units)."""
        if path:
            robot_model.load_urdf(path)  # a missing or invalid file: a clear error
            return Path(path).read_text()
        joints = [
            robot_model.JointModel(
                c.name,
                "revolute" if np.isfinite([c.lower, c.upper]).all() else "continuous",
                c.lower,
                c.upper,
                velocity=np.inf,
                effort=np.inf,
            )
            for c in self.state_map.conversions
        ]
        return robot_model.urdf_from_joints(robot_type, joints)

    def _parameter_value(self, name: str) -> Any:  # noqa: ANN401 - any parameter type
        return self.get_parameter(name).value

    def _fail(self, reason: str) -> TransitionCallbackReturn:
        self.reason = reason
        self.get_logger().error(f"configure failed: {reason}")
        return TransitionCallbackReturn.FAILURE

    def _create_io(self) -> None:
        self.joint_state_pub = self.create_publisher(JointState, topics.JOINT_STATES, qos.STATE)
        # Latched, as robot_state_publisher's: RViz and policy_node read names and limits.
        self.description_pub = self.create_publisher(String, topics.ROBOT_DESCRIPTION, qos.LATCHED)
        self.description_pub.publish(String(data=self.description))
        self.image_pubs = {
            camera: self.create_publisher(Image, topics.camera_image(camera), qos.IMAGE)
            for camera in self.cameras
        }
        self._io = [
            self.joint_state_pub,
            self.description_pub,
            *self.image_pubs.values(),
            self.create_subscription(
                Float64MultiArray, topics.POSITION_COMMANDS, self.on_position_command, qos.COMMAND
            ),
            self.create_subscription(
                JointTrajectory, topics.JOINT_TRAJECTORY, self.on_trajectory, qos.COMMAND
            ),
        ]
        self.read_errors = 0
        self._timer = self.create_timer(1.0 / self.fps, self.on_tick)

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            observation = self.robot.get_observation()
            held = {k: observation[k] for k in self.command_map.keys if k in observation}
            if held:
                self.robot.send_action(held)  # goal = where the arm is: no jump on torque on
            bridge.set_torque(self.robot, True)
        except Exception as error:  # noqa: BLE001 - serial errors
            self.reason = f"activate failed: {error}"
            self.get_logger().error(self.reason)
            return TransitionCallbackReturn.FAILURE
        measured = self._measured_command_vector(observation)
        limits = self.command_map.limits
        start = measured if measured is not None else (limits.lower + limits.upper) / 2
        self.commands = JointCommandArbiter(
            limits, self.command_timeout, limits.clamp(start)[0], hold_measured_on_timeout=False
        )
        self.active = True
        self.reason = "active"
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.active = False
        self.commands = None
        self.reason = "configured, not active"
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def _release(self) -> None:
        self.active = False
        destroy_entities(self, [self._timer, *self._io])
        self._timer, self._io = None, []
        if self.robot is not None:
            bridge.disconnect(self.robot)
            if self.context.ok():  # not after Ctrl-C: /rosout is gone by then
                self.get_logger().info(f"disconnected {bridge.device_type(self.robot)}")
            self.robot = None
        self.reason = "not configured"

    def destroy_node(self) -> None:
        self._release()  # Ctrl-C / SIGTERM: leave the motors as LeRobot's disconnect does
        super().destroy_node()

    # --- commands -------------------------------------------------------------------------
    def _now(self) -> float:
        return self.get_clock().now().nanoseconds / 1e9

    def on_position_command(self, msg: Float64MultiArray) -> None:
        if not self.active:
            self.get_logger().warning(
                "ignored a position command: not active", throttle_duration_sec=2.0
            )
            return
        try:
            clamped = self.commands.command_positions(msg.data, self._now())
        except CommandError as error:
            self.get_logger().error(
                f"rejected {topics.POSITION_COMMANDS}: {error} (joints, in order: "
                f"{list(self.command_map.names)})"
            )
            return
        if clamped:
            self.get_logger().warning(
                "position command outside the calibrated joint limits: clamped",
                throttle_duration_sec=2.0,
            )

    def on_trajectory(self, msg: JointTrajectory) -> None:
        if not self.active:
            self.get_logger().warning("ignored a trajectory: not active", throttle_duration_sec=2.0)
            return
        try:  # no points: cancel, hold the goal reached so far
            self.commands.command_trajectory(
                msg.joint_names,
                conversions.trajectory_points(msg),
                self._now(),
                conversions.time_to_seconds(msg.header.stamp),
            )
        except CommandError as error:
            self.get_logger().error(f"rejected {topics.JOINT_TRAJECTORY}: {error}")

    # --- the control loop -----------------------------------------------------------------
    def on_tick(self) -> None:
        started = time.perf_counter()
        try:
            observation = self.robot.get_observation()
        except Exception as error:  # noqa: BLE001 - a bus or camera hiccup must not kill the node
            self.read_errors += 1
            self.get_logger().error(
                f"reading {bridge.device_type(self.robot)} failed ({self.read_errors} so far): {error}",
                throttle_duration_sec=2.0,
            )
            return
        stamp = self.get_clock().now().to_msg()
        self.joint_state_pub.publish(
            conversions.joint_state(
                stamp, self.state_map.names, self.state_map.to_ros(observation), [], []
            )
        )
        for camera, shape in self.cameras.items():
            try:
                pixels = bridge.camera_image(observation, camera, shape)
            except bridge.BridgeError as error:
                self.get_logger().error(str(error), throttle_duration_sec=2.0)
                continue
            self.image_pubs[camera].publish(
                conversions.rgb_image(pixels, stamp, f"{camera}_camera_optical_frame")
            )
        self.measured = self._measured_command_vector(observation)
        if self.active:
            was_holding = self.commands.holding
            target = self.commands.update(self._now(), self.measured)
            if not was_holding:  # holding: the motors keep their last goal, nothing to send
                self._send(target)
        elapsed = time.perf_counter() - started
        if elapsed > 1.0 / self.fps:
            self.get_logger().warning(
                f"a control tick took {elapsed * 1e3:.1f} ms, more than 1/fps",
                throttle_duration_sec=5.0,
            )

    def _measured_command_vector(self, observation: dict) -> np.ndarray | None:
        """The measured value of each commanded feature, in ROS units (None if not observed)."""
        if not all(key in observation for key in self.command_map.keys):
            return None
        return self.command_map.to_ros(observation)

    def _send(self, target: np.ndarray) -> None:
        filtered = self.safety.filter(target, self.measured)
        if filtered.action is None:
            self.get_logger().error(
                f"command not sent: {filtered.reason}", throttle_duration_sec=2.0
            )
            return
        if filtered.clamped:
            self.get_logger().warning(
                "command limited by max_relative_target", throttle_duration_sec=2.0
            )
        try:
            self.robot.send_action(self.command_map.to_lerobot(filtered.action))
        except Exception as error:  # noqa: BLE001 - a bus hiccup must not kill the node
            self.get_logger().error(
                f"sending to {bridge.device_type(self.robot)} failed: {error}",
                throttle_duration_sec=2.0,
            )


def main(args: list[str] | None = None) -> int:
    return run_node(
        NODE_NAME, LeRobotRobotNode, SingleThreadedExecutor, args, on_created=autostart_lifecycle
    )


if __name__ == "__main__":
    sys.exit(main())
