"""``sim_node``: the MuJoCo pick-cube simulation behind the lerobot_ros topic contract.

It is the clock of its graph: every stamp is sim time and ``/clock`` is published after
each control step. Runs freely in real time at ``control_hz``, or paused and advanced by
the ``/sim/step`` service, or in lockstep (``lockstep:=true``): one control step per
accepted command, for deterministic evaluation as fast as the policy runs.

Besides the command topics it serves MoveIt's controller actions,
/arm_controller/follow_joint_trajectory (the 7 arm joints) and
/gripper_controller/gripper_cmd (panda_finger_joint1, m), see
lerobot_ros/ros/trajectory_action.py. Goals advance with the sim's control steps in sim
time, so they also play out step by step while paused. In lockstep mode they are refused
(aborted, INVALID_GOAL): there the sim only steps on topic commands, and those take the
joints over. A topic command or an episode reset aborts running goals.
"""

from __future__ import annotations

import sys

import numpy as np
from builtin_interfaces.msg import Time
from rclpy.experimental import EventsExecutor
from rclpy.node import Node
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import CameraInfo, Image, JointState
from std_msgs.msg import Float64MultiArray, String
from std_srvs.srv import SetBool
from trajectory_msgs.msg import JointTrajectory
from visualization_msgs.msg import MarkerArray

from lerobot_ros.control.joint_commands import CommandError, JointCommandArbiter
from lerobot_ros.interfaces import ResetEpisode, StepSimulation, TaskStatus
from lerobot_ros.ros import conversions, qos, topics
from lerobot_ros.ros.node_main import run_node
from lerobot_ros.ros.parameters import declare_node_parameters, live, start
from lerobot_ros.ros.trajectory_action import ControllerActionServers
from lerobot_ros.sim import robot as sim_robot
from lerobot_ros.sim.episodes import STEP_LIMIT, episode_end
from lerobot_ros.sim.pick_cube import PickCubeSim, SimConfig

WORLD_FRAME = "world"
# /sim/step runs its steps inside the service callback: a bound keeps the node answering.
MAX_STEPS_PER_CALL = 10_000
# What each parameter of config/sim_node.yaml takes and when it is read (the others: at start).
PARAMETER_RULES = {
    "control_hz": live(low=1.0, high=1000.0),
    "image_width": start(low=1, high=4096),
    "image_height": start(low=1, high=4096),
    "command_timeout": live(low=0.01, high=3600.0),
    "max_episode_steps": live(low=1, high=2**31 - 1),
    "seed": start(low=0, high=2**31 - 1),
}


class SimNode(Node):
    def __init__(self, **node_kwargs) -> None:
        super().__init__("sim_node", **node_kwargs)
        p = declare_node_parameters(self, "sim_node", PARAMETER_RULES, self._apply_parameters)
        control_hz, width, height = p["control_hz"], p["image_width"], p["image_height"]
        # An empty list on the command line (cameras:=[]) arrives without a type, as None.
        self.cameras = tuple(p["cameras"] or ())
        timeout, max_steps = p["command_timeout"], p["max_episode_steps"]
        self.seed = int(p["seed"])
        self.paused = bool(p["start_paused"])
        self.lockstep = bool(p["lockstep"])
        unknown = sorted(set(self.cameras) - set(sim_robot.CAMERA_NAMES))
        if unknown:
            raise ValueError(
                f"unknown cameras {unknown}; available: {list(sim_robot.CAMERA_NAMES)}"
            )

        self.sim = PickCubeSim(
            SimConfig(
                image_width=int(width),
                image_height=int(height),
                control_hz=float(control_hz),
                max_episode_steps=int(max_steps),
            )
        )
        self.limits = sim_robot.joint_limits()
        self.sim.reset(self.seed)
        self.episode_index = 0
        self.default_max_steps = int(max_steps)
        self.max_steps = self.default_max_steps
        self._success = False
        # The core restarts its time at every reset; the graph's clock must never go back
        # (TF buffers, recorders and bags break), so episodes are laid end to end.
        self._time_offset = 0.0
        self.commands = JointCommandArbiter(self.limits, float(timeout), self.sim.joint_positions())
        self.actions = ControllerActionServers(
            self,
            self.commands,
            arm_joints=sim_robot.ARM_JOINT_NAMES,
            gripper_joint=sim_robot.GRIPPER_JOINT_NAME,
            now=lambda: self.sim_time,
            measured=lambda: (
                self.sim.joint_positions(),
                self.sim.joint_velocities(),
                self.sim.joint_efforts(),
            ),
            velocity_limits=sim_robot.velocity_limits(),
            refuse_reason=self._action_refusal,
        )

        self.clock_pub = self.create_publisher(Clock, topics.CLOCK, qos.STATE)
        self.joint_pub = self.create_publisher(JointState, topics.JOINT_STATES, qos.STATE)
        self.status_pub = self.create_publisher(TaskStatus, topics.TASK_STATUS, qos.TASK_STATUS)
        self.marker_pub = self.create_publisher(MarkerArray, topics.SCENE_MARKERS, qos.STATE)
        self.image_pubs = {
            c: self.create_publisher(Image, topics.camera_image(c), qos.IMAGE) for c in self.cameras
        }
        self.info_pubs = {
            c: self.create_publisher(CameraInfo, topics.camera_info(c), qos.IMAGE)
            for c in self.cameras
        }
        # Messages whose content never changes are built once; each tick only stamps them.
        self._camera_infos = {
            camera: conversions.camera_info(
                Time(),
                sim_robot.camera_frame_id(camera),
                int(width),
                int(height),
                self.sim.camera_intrinsics(camera),
            )
            for camera in self.cameras
        }
        self._markers = conversions.box_markers(self.sim.scene_objects(), Time(), WORLD_FRAME)
        description_pub = self.create_publisher(String, topics.ROBOT_DESCRIPTION, qos.LATCHED)
        description_pub.publish(String(data=sim_robot.robot_description()))
        self._description_pub = description_pub  # keep it alive: it serves late joiners

        self.create_subscription(
            Float64MultiArray, topics.POSITION_COMMANDS, self.on_position_command, qos.COMMAND
        )
        self.create_subscription(
            JointTrajectory, topics.JOINT_TRAJECTORY, self.on_trajectory, qos.COMMAND
        )
        self.create_service(ResetEpisode, topics.TASK_RESET, self.on_reset)
        self.create_service(SetBool, topics.SIM_PAUSE, self.on_pause)
        self.create_service(StepSimulation, topics.SIM_STEP, self.on_step)
        self.tick_timer = self.create_timer(1.0 / float(control_hz), self.on_tick)

        self.publish_state()
        self.get_logger().info(
            f"sim ready: {control_hz:g} Hz, cameras {list(self.cameras)} at {width}x{height}, "
            f"seed {self.seed}, {'paused' if self.paused else 'running'}"
            f"{', lockstep (one step per command)' if self.lockstep else ''}"
        )

    def _apply_parameters(self, changes: dict) -> None:
        """A live ``ros2 param set`` (ranges already checked by the descriptors)."""
        if "control_hz" in changes:
            control_hz = float(changes["control_hz"])
            self.sim.set_control_hz(control_hz)
            self.tick_timer.timer_period_ns = round(1e9 / control_hz)
        if "command_timeout" in changes:
            self.commands.timeout = float(changes["command_timeout"])
        if "max_episode_steps" in changes:
            steps = int(changes["max_episode_steps"])
            if self.max_steps == self.default_max_steps:  # not an episode's own limit
                self.max_steps = steps
            self.default_max_steps = steps
        self.get_logger().info(f"parameters set: {changes}")

    @property
    def sim_time(self) -> float:
        """Seconds on this graph's clock (monotonic across resets)."""
        return self._time_offset + self.sim.time

    # --- commands -------------------------------------------------------------------------
    def on_position_command(self, msg: Float64MultiArray) -> None:
        try:
            clamped = self.commands.command_positions(msg.data, self.sim_time)
        except CommandError as error:
            self.get_logger().error(f"rejected {topics.POSITION_COMMANDS}: {error}")
            return
        if clamped:
            self.get_logger().warning(
                "position command outside joint limits: clamped", throttle_duration_sec=1.0
            )
        self.actions.preempt(f"a command on {topics.POSITION_COMMANDS} took the joints over")
        self._step_if_lockstep()

    def on_trajectory(self, msg: JointTrajectory) -> None:
        start = conversions.time_to_seconds(msg.header.stamp)
        try:
            plan = self.commands.command_trajectory(
                msg.joint_names, conversions.trajectory_points(msg), self.sim_time, start_time=start
            )
        except CommandError as error:
            self.get_logger().error(f"rejected {topics.JOINT_TRAJECTORY}: {error}")
            return
        if plan is not None and plan.clamped:
            self.get_logger().warning(
                "trajectory outside joint limits: clamped", throttle_duration_sec=1.0
            )
        self.actions.preempt(f"a trajectory on {topics.JOINT_TRAJECTORY} took the joints over")
        self._step_if_lockstep()

    def _action_refusal(self) -> str | None:
        if self.lockstep:
            return (
                "sim_node runs in lockstep mode (lockstep:=true), where the sim steps only on "
                "topic commands: action goals need the real-time mode"
            )
        return None

    @property
    def episode_over(self) -> bool:
        return episode_end(self.sim.episode_step, self.max_steps, self._success) is not None

    def _step_if_lockstep(self) -> None:
        # Lockstep: the command itself is the step request, so no command is ever raced by
        # a step (as a service call on another channel could be). As a gym env, an episode
        # that ended (success or step limit) takes no more steps until the next reset.
        if self.lockstep and not self.paused and not self.episode_over:
            self.advance()

    # --- services -------------------------------------------------------------------------
    def on_reset(
        self, request: ResetEpisode.Request, response: ResetEpisode.Response
    ) -> ResetEpisode.Response:
        seed = (
            int(request.seed) if request.use_seed else int(np.random.SeedSequence().entropy % 2**31)
        )
        if seed < 0:
            response.success, response.message = False, f"seed must be >= 0, got {seed}"
            return response
        self.seed = seed
        self.max_steps = int(request.max_episode_steps) or self.default_max_steps
        self._time_offset = self.sim_time + 1.0 / self.sim.config.control_hz
        self.actions.preempt("the episode was reset")
        self.sim.reset(seed)
        self.episode_index += 1
        self.commands.reset(self.sim.joint_positions())
        self.publish_state()
        response.success, response.message = (
            True,
            f"episode {self.episode_index} reset with seed {seed}",
        )
        response.episode_index, response.seed = self.episode_index, seed
        return response

    def on_pause(self, request: SetBool.Request, response: SetBool.Response) -> SetBool.Response:
        self.paused = bool(request.data)
        response.success, response.message = True, "paused" if self.paused else "running"
        return response

    def on_step(
        self, request: StepSimulation.Request, response: StepSimulation.Response
    ) -> StepSimulation.Response:
        if not self.paused:
            response.success, response.message = (
                False,
                f"simulation is running: pause it first ({topics.SIM_PAUSE})",
            )
        elif request.num_steps > MAX_STEPS_PER_CALL:
            response.success, response.message = (
                False,
                f"num_steps {request.num_steps} is more than {MAX_STEPS_PER_CALL} per call: "
                "step in smaller batches",
            )
        else:
            for _ in range(max(1, request.num_steps)):
                self.advance()
            response.success, response.message = True, f"stepped {max(1, request.num_steps)}"
        response.sim_time = conversions.seconds_to_time(self.sim_time)
        return response

    # --- stepping -------------------------------------------------------------------------
    def on_tick(self) -> None:
        if not self.paused and not self.lockstep:
            self.advance()

    def advance(self) -> None:
        self.actions.update()  # may command the arbiter: before it picks this step's target
        target = self.commands.update(self.sim_time, self.sim.joint_positions())
        self.sim.set_joint_targets(target)
        self.sim.step()
        self.publish_state()

    def publish_state(self) -> None:
        stamp = conversions.seconds_to_time(self.sim_time)
        self.clock_pub.publish(Clock(clock=stamp))
        self.joint_pub.publish(
            conversions.joint_state(
                stamp,
                sim_robot.JOINT_NAMES,
                self.sim.joint_positions(),
                self.sim.joint_velocities(),
                self.sim.joint_efforts(),
            )
        )
        for camera in self.cameras:
            # Rendering is most of a step's cost: a camera nobody watches is not rendered (a
            # lockstep eval subscribes to images only for the episodes it films).
            if self.image_pubs[camera].get_subscription_count():
                frame = sim_robot.camera_frame_id(camera)
                self.image_pubs[camera].publish(
                    conversions.rgb_image(self.sim.render(camera), stamp, frame)
                )
            info = self._camera_infos[camera]
            info.header.stamp = stamp
            self.info_pubs[camera].publish(info)
        state = self.sim.task_state()
        status = TaskStatus(
            episode_index=self.episode_index, seed=self.seed, step=self.sim.episode_step
        )
        status.header.stamp = stamp
        status.reward, status.success = float(state.reward), bool(state.success)
        self._success = status.success  # episode_over reads it: one task_state() per step
        end = episode_end(self.sim.episode_step, self.max_steps, status.success)
        status.truncated = end == STEP_LIMIT
        self.status_pub.publish(status)
        self.marker_pub.publish(
            conversions.update_box_markers(self._markers, self.sim.scene_objects(), stamp)
        )

    def destroy_node(self) -> None:
        if hasattr(self, "actions"):  # not when __init__ failed part-way
            self.actions.destroy()
        if hasattr(self, "sim"):
            self.sim.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    # The events executor costs a fraction of the default one per wake-up, which at 30 Hz
    # with two cameras is a visible share of the control loop (see bench/bench_sim.py).
    return run_node("sim_node", SimNode, EventsExecutor, args)


if __name__ == "__main__":
    sys.exit(main())
