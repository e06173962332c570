"""``dynamixel_node``: a DYNAMIXEL arm behind the same topic contract as ``sim_node``.

A lifecycle node, as ros2_control drivers map onto one:

* configure opens the port, pings every servo of the arm description and checks its model
  (a failure fails the transition, with the reason), writes the servo settings with torque
  off, and starts publishing ``/joint_states`` at ``rate_hz`` (also while inactive, so the
  arm can be watched or moved by hand with torque off);
* activate sets every goal to the present position, then enables torque: never a jump;
* deactivate and shutdown disable torque; cleanup closes the port.

While active, ``/position_controller/commands`` and ``/arm_controller/joint_trajectory`` go
through the same :class:`JointCommandArbiter` as in the simulation (validation, clamping to
the limits, trajectory interpolation, command timeout -> hold at the measured position) and
the target is written to the servos every cycle.

Bus faults: a timeout or a corrupted packet is retried (``retries``) and logged, throttled;
``max_consecutive_errors`` failed cycles in a row, or the port disappearing, lose the bus:
no goal is sent any more and ``on_bus_lost`` says what else happens (``hold``: the servos
keep their last goal; ``disable_torque``: torque off where they still listen). It is logged
as an error and reported on ``/diagnostics``; deactivate + activate resumes (goal := present
again). Joint efforts are not measured: ``/joint_states`` carries positions and velocities.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.clock import Clock, ClockType
from rclpy.experimental import EventsExecutor
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory

from lerobot_ros.control.joint_commands import CommandError, JointCommandArbiter
from lerobot_ros.hardware.connecting import connect_with_retries
from lerobot_ros.hardware.dynamixel import control_table
from lerobot_ros.hardware.dynamixel.arm import (
    ON_BUS_LOST,
    ArmConfig,
    ArmConfigError,
    ArmError,
    ArmState,
    DynamixelArm,
    load_arm_config,
)
from lerobot_ros.hardware.dynamixel.bus import BusError, DynamixelBus
from lerobot_ros.resources import config_path
from lerobot_ros.ros import conversions, qos, topics
from lerobot_ros.ros.node_main import autostart_lifecycle, destroy_entities, run_node
from lerobot_ros.ros.parameters import configure, declare_node_parameters
from lerobot_ros.ros.trajectory_action import ControllerActionServers

NODE_NAME = "dynamixel_node"
DEFAULT_ARM_CONFIG = "dynamixel_arm.yaml"
# Once the bus is lost, how often to try reading it again (for /joint_states and the log).
LOST_BUS_PROBE_S = 0.5
LOG_THROTTLE_S = 2.0
# config/dynamixel_node.yaml: all read by configure (autostart: at start, read-only).
PARAMETER_RULES = {
    "port": configure(),
    "baudrate": configure(choices=tuple(sorted(control_table.BAUD_RATE_VALUES))),
    "arm_config": configure(),
    "rate_hz": configure(low=0.1, high=1000.0),
    "command_timeout": configure(low=0.01, high=3600.0),
    "retries": configure(low=0, high=10),
    "connect_attempts": configure(low=1, high=10),
    "latency_timer_ms": configure(low=0.1, high=1000.0),
    "max_consecutive_errors": configure(low=1, high=1_000_000),
    "on_bus_lost": configure(choices=tuple(ON_BUS_LOST)),
}


class DynamixelNode(LifecycleNode):
    def __init__(self, **node_kwargs: Any) -> None:
        super().__init__(NODE_NAME, **node_kwargs)
        declare_node_parameters(self, NODE_NAME, PARAMETER_RULES)
        self.arm: DynamixelArm | None = None
        self.arm_config: ArmConfig | None = None
        self.commands: JointCommandArbiter | None = None
        self.active = False
        self.settings: dict[str, Any] = {}
        self.state_text, self.reason = "unconfigured", "not configured"
        self.level = DiagnosticStatus.OK
        self.last_state: ArmState | None = None
        # The FollowJointTrajectory / GripperCommand servers (lerobot_ros.ros.trajectory_action)
        # attach here: update() each control cycle before the arbiter, preempt() when a topic
        # command takes over. See control_time(), measured() and refuse_reason().
        self.controllers: Any = None
        self._timer = None
        self._io: list = []
        self._last_probe = -np.inf
        self._reported_loss = False
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, topics.DIAGNOSTICS, qos.STATE)
        self.create_timer(
            1.0, self.publish_diagnostics, clock=Clock(clock_type=ClockType.STEADY_TIME)
        )

    # --- lifecycle ------------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            settings = self._read_settings()
            self.arm_config = load_arm_config(settings["arm_config"])
            bus = DynamixelBus(
                settings["port"],
                settings["baudrate"],
                retries=settings["retries"],
                latency_timer_ms=settings["latency_timer_ms"],
            )
            arm = DynamixelArm(
                bus,
                self.arm_config,
                max_consecutive_errors=settings["max_consecutive_errors"],
                on_bus_lost=settings["on_bus_lost"],
            )
            first = self._connect(arm, settings["connect_attempts"])
        except (ArmConfigError, ArmError, BusError, ValueError) as error:
            return self._fail("configure", error)
        self.arm, self.settings = arm, settings
        self.last_state = first
        self.commands = JointCommandArbiter(
            self.arm_config.limits, settings["command_timeout"], first.positions
        )
        self._create_io(settings["rate_hz"])
        self._create_controllers()
        self._reported_loss = False
        self._set_state("inactive", "configured; torque off")
        self.get_logger().info(
            f"{len(self.arm_config.joints)} servos on {bus.port} at {bus.baudrate} bit/s "
            f"(ids {list(self.arm_config.servo_ids)}), {settings['rate_hz']:g} Hz, "
            f"on bus lost: {settings['on_bus_lost']}"
        )
        return TransitionCallbackReturn.SUCCESS

    def _connect(self, arm: DynamixelArm, attempts: int) -> ArmState:
        """Open the port, check and configure the servos, read them once; ``attempts`` in
        all, as a freshly opened adapter or a busy servo can miss packets. The port is
        closed again after each failure."""

        def connect_and_read() -> ArmState:
            arm.connect()
            return arm.read()

        def on_retry(attempt: int, error: Exception) -> None:
            self.get_logger().warning(
                f"connection attempt {attempt} of {attempts} failed, retrying: {error}"
            )

        try:
            return connect_with_retries(
                connect_and_read,
                lambda: arm.close(disable_torque=False),
                attempts,
                retry_on=(ArmError, BusError),
                on_retry=on_retry,
            )
        except (ArmError, BusError) as error:
            if attempts == 1:
                raise
            raise ArmError(f"{error} ({attempts} connection attempts)") from error

    def _create_controllers(self) -> None:
        """MoveIt's FollowJointTrajectory and GripperCommand actions, as on sim_node."""
        names = self.arm_config.names
        gripper = self.arm_config.gripper_joint
        self.controllers = ControllerActionServers(
            self,
            self.commands,
            arm_joints=tuple(name for name in names if name != gripper),
            gripper_joint=gripper,
            now=self.control_time,
            measured=self.measured,
            velocity_limits=self.arm_config.velocity_limits,
            refuse_reason=self.refuse_reason,
        )

    def _destroy_controllers(self) -> None:
        if self.controllers is not None:
            self.controllers.destroy()
            self.controllers = None

    def _read_settings(self) -> dict[str, Any]:
        """Parameters, checked (ranges by their descriptors); ValueError names the bad one."""

        def get(name: str) -> Any:  # noqa: ANN401 - a parameter value
            return self.get_parameter(name).value

        settings = {
            "port": str(get("port")),
            "baudrate": int(get("baudrate")),
            "arm_config": str(get("arm_config") or config_path(DEFAULT_ARM_CONFIG)),
            "rate_hz": float(get("rate_hz")),
            "command_timeout": float(get("command_timeout")),
            "retries": int(get("retries")),
            "connect_attempts": int(get("connect_attempts")),
            "latency_timer_ms": float(get("latency_timer_ms")),
            "max_consecutive_errors": int(get("max_consecutive_errors")),
            "on_bus_lost": str(get("on_bus_lost")),
        }
        checks = [
            ("port", bool(settings["port"]), "a serial port path"),
            ("baudrate", settings["baudrate"] in control_table.BAUD_RATE_VALUES,
             f"one of {sorted(control_table.BAUD_RATE_VALUES)}"),
            ("on_bus_lost", settings["on_bus_lost"] in ON_BUS_LOST, f"one of {list(ON_BUS_LOST)}"),
        ]  # fmt: skip
        for name, ok, expected in checks:
            if not ok:
                raise ValueError(f"parameter {name}={settings[name]!r} must be {expected}")
        return settings

    def _create_io(self, rate_hz: float) -> None:
        self.joint_pub = self.create_publisher(JointState, topics.JOINT_STATES, qos.STATE)
        self._io = [
            self.joint_pub,
            self.create_subscription(
                Float64MultiArray, topics.POSITION_COMMANDS, self.on_position_command, qos.COMMAND
            ),
            self.create_subscription(
                JointTrajectory, topics.JOINT_TRAJECTORY, self.on_trajectory, qos.COMMAND
            ),
        ]
        # Steady clock: the hardware runs in real time whatever the graph's clock does.
        self._timer = self.create_timer(
            1.0 / rate_hz, self.on_tick, clock=Clock(clock_type=ClockType.STEADY_TIME)
        )

    def _destroy_io(self) -> None:
        destroy_entities(self, [self._timer, *self._io])
        self._timer, self._io = None, []

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            held = self.arm.hold_present()  # goal := present, and a lost bus is cleared
            self.commands.reset(held.positions)
            self.arm.enable_torque()
        except (BusError, ArmError) as error:
            self._disable_torque_quietly()
            return self._fail("activate", error, keep="inactive")
        self.last_state = held
        self.active = True
        self._reported_loss = False
        self._set_state("active", "torque on, holding the present position")
        self.get_logger().info("activated: torque on at the present position")
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.active = False
        if self.controllers is not None:
            self.controllers.preempt("deactivated")
        self._disable_torque_quietly()
        self._set_state("inactive", "deactivated; torque off")
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._destroy_controllers()
        self._destroy_io()
        if self.arm is not None:
            self.arm.close(disable_torque=True)
        self.arm, self.commands = None, None
        self._set_state("unconfigured", "not configured")
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.active = False
        self._destroy_controllers()
        self._destroy_io()
        if self.arm is not None:
            self._disable_torque_quietly()
            self.arm.close(disable_torque=False)
            self.arm = None
        self._set_state("finalized", "shut down; torque off")
        return TransitionCallbackReturn.SUCCESS

    def _fail(
        self, transition: str, error: Exception, keep: str = "unconfigured"
    ) -> TransitionCallbackReturn:
        self.get_logger().error(f"{transition} failed: {error}")
        self._set_state(keep, f"{transition} failed: {error}", DiagnosticStatus.ERROR)
        return TransitionCallbackReturn.FAILURE

    def _disable_torque_quietly(self) -> None:
        if self.arm is None:
            return
        try:
            self.arm.disable_torque()
        except BusError as error:
            self.get_logger().error(f"could not disable torque on every servo: {error}")

    def _set_state(self, state_text: str, reason: str, level: bytes = DiagnosticStatus.OK) -> None:
        """What the node is doing, for /diagnostics (sent at once, then every second)."""
        self.state_text, self.reason, self.level = state_text, reason, level
        self.publish_diagnostics()

    # --- commands -------------------------------------------------------------------------
    def on_position_command(self, msg: Float64MultiArray) -> None:
        if not self._accepting(topics.POSITION_COMMANDS):
            return
        try:
            clamped = self.commands.command_positions(msg.data, self.control_time())
        except CommandError as error:
            self.get_logger().error(f"rejected {topics.POSITION_COMMANDS}: {error}")
            return
        if self.controllers is not None:
            self.controllers.preempt(f"{topics.POSITION_COMMANDS} took over")
        if clamped:
            self.get_logger().warning(
                "position command outside joint limits: clamped",
                throttle_duration_sec=LOG_THROTTLE_S,
            )

    def on_trajectory(self, msg: JointTrajectory) -> None:
        if not self._accepting(topics.JOINT_TRAJECTORY):
            return
        start = conversions.time_to_seconds(msg.header.stamp)
        try:
            plan = self.commands.command_trajectory(
                msg.joint_names,
                conversions.trajectory_points(msg),
                self.control_time(),
                start_time=start,
            )
        except CommandError as error:
            self.get_logger().error(f"rejected {topics.JOINT_TRAJECTORY}: {error}")
            return
        if self.controllers is not None:
            self.controllers.preempt(f"{topics.JOINT_TRAJECTORY} took over")
        if plan is not None and plan.clamped:
            self.get_logger().warning(
                "trajectory outside joint limits: clamped", throttle_duration_sec=LOG_THROTTLE_S
            )

    def _accepting(self, topic: str) -> bool:
        reason = self.refuse_reason()
        if reason is not None:
            self.get_logger().warning(
                f"ignored {topic}: {reason}", throttle_duration_sec=LOG_THROTTLE_S
            )
        return reason is None

    # --- control cycle --------------------------------------------------------------------
    def on_tick(self) -> None:
        arm = self.arm
        if arm is None:
            return
        if arm.bus_lost:
            now = time.monotonic()
            if now - self._last_probe < LOST_BUS_PROBE_S:
                return
            self._last_probe = now
        stamp = self.get_clock().now().to_msg()  # when the servos are asked for their state
        try:
            state = arm.read()
        except BusError as error:
            self._bus_failed(error)
            return
        self.last_state = state
        self.joint_pub.publish(
            conversions.joint_state(
                stamp, self.arm_config.names, state.positions, state.velocities, np.zeros(0)
            )
        )
        if not self.active or arm.bus_lost:
            return
        if self.controllers is not None:
            self.controllers.update()
        target = self.commands.update(self.control_time(), state.positions)
        try:
            arm.command(target)
        except BusError as error:
            self._bus_failed(error)

    def _bus_failed(self, error: BusError) -> None:
        arm = self.arm
        if arm.bus_lost and not self._reported_loss:
            self._reported_loss = True
            if arm.on_bus_lost == "hold":
                consequence = "the servos hold their last goal"
            elif arm.torque_disabled_on_loss == list(arm.config.servo_ids):
                consequence = "torque disabled on every servo"
            elif arm.torque_disabled_on_loss:
                consequence = (
                    f"torque disabled on servos {arm.torque_disabled_on_loss}; the others "
                    "did not answer and hold their last goal"
                )
            else:
                consequence = "no servo answered to disable torque: they hold their last goal"
            message = (
                f"bus lost ({arm.lost_reason}): no more goals are sent, {consequence}; "
                "deactivate and activate to resume"
            )
            self.get_logger().error(message)
            if self.controllers is not None:
                self.controllers.preempt("bus lost")
            self._set_state("bus lost", message, DiagnosticStatus.ERROR)
        elif not arm.bus_lost:
            self.get_logger().warning(
                f"bus error ({arm.consecutive_errors}/{arm.max_consecutive_errors} in a row): "
                f"{error}",
                throttle_duration_sec=LOG_THROTTLE_S,
            )

    # --- for the action servers (lerobot_ros.ros.trajectory_action) -------------------------
    def control_time(self) -> float:
        """Seconds on the node's clock: the time base of commands and trajectories."""
        return self.get_clock().now().nanoseconds * 1e-9

    def measured(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(positions, velocities, efforts) in joint order; efforts are not measured (0)."""
        state = self.last_state
        count = len(self.arm_config.joints) if self.arm_config is not None else 0
        if state is None:
            return np.zeros(count), np.zeros(count), np.zeros(count)
        return state.positions.copy(), state.velocities.copy(), np.zeros(count)

    def refuse_reason(self) -> str | None:
        """Why commands cannot run now, or None."""
        if self.arm is None or not self.active:
            return f"{NODE_NAME} is not active"
        if self.arm.bus_lost:
            return f"bus lost: {self.arm.lost_reason}"
        return None

    # --- diagnostics ----------------------------------------------------------------------
    def publish_diagnostics(self) -> None:
        arm = self.arm
        level = self.level
        if level == DiagnosticStatus.OK and arm is not None and arm.consecutive_errors:
            level = DiagnosticStatus.WARN  # retrying: not lost (yet)
        port = str(self.get_parameter("port").value)
        status = DiagnosticStatus(
            level=level,
            name=f"{NODE_NAME}: dynamixel bus",
            message=f"{self.state_text}: {self.reason}",
            hardware_id=port,
        )
        values = {"state": self.state_text, "port": port}
        if arm is not None:
            values |= {
                "torque_enabled": str(arm.torque_enabled).lower(),
                "bus_lost": str(arm.bus_lost).lower(),
                "consecutive_errors": str(arm.consecutive_errors),
                "total_errors": str(arm.total_errors),
                "retried_transactions": str(arm.bus.retried),
                "last_error": arm.last_error or "",
            }
        status.values = [KeyValue(key=k, value=v) for k, v in values.items()]
        array = DiagnosticArray(status=[status])
        array.header.stamp = self.get_clock().now().to_msg()
        self.diagnostics_pub.publish(array)

    def destroy_node(self) -> None:
        if getattr(self, "arm", None) is not None:  # Ctrl-C without a shutdown transition
            self._disable_torque_quietly()
            self.arm.close(disable_torque=False)
            self.arm = None
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    return run_node(NODE_NAME, DynamixelNode, EventsExecutor, args, on_created=autostart_lifecycle)


if __name__ == "__main__":
    sys.exit(main())
