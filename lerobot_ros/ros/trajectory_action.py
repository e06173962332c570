"""The action interface of ros2_control's arm and gripper controllers, for MoveIt.

:class:`ControllerActionServers` attaches two action servers to a node that owns a
:class:`JointCommandArbiter`:

* ``/arm_controller/follow_joint_trajectory`` (control_msgs/action/FollowJointTrajectory)
  for the arm joints: goals are checked and judged by lerobot_ros/control/trajectory_goals.py
  (error codes, tolerances, goal_time_tolerance with control_msgs' meaning); feedback
  (desired / actual / error) at a steady rate; a cancel makes the arm hold where it is and
  ends the goal CANCELED; a new valid goal aborts the running one (INVALID_GOAL, "preempted");
* ``/gripper_controller/gripper_cmd`` (control_msgs/action/GripperCommand) for one finger
  joint (lerobot_ros/control/gripper_goals.py: reached_goal, stalled, max_effort).

Arm and gripper goals run at the same time: their plans are merged into one trajectory for
the arbiter. A command arriving on the node's topics takes the joints over; the node calls
:meth:`ControllerActionServers.preempt` and the goals are aborted.

Execution is driven by the node's control loop: it calls :meth:`update` every control step,
with its own clock (sim time in the sim), so nothing ever blocks or sleeps in an executor
callback and goals follow a paused or stepped sim. Why not an execute callback: it would
have to await the goal's end, and in rclpy 9.1 the EventsExecutor resumes a waiting
coroutine over and over (measured: a whole core busy for as long as the goal runs). So a
goal stays ACCEPTED while the arm moves (feedback flows and cancel works as usual), and
``goal_handle.execute()`` is called once its outcome is known, with a callback that sets
the terminal state and returns the result at once. Action clients (MoveIt, ``ros2 action
send_goal``, rclpy/rclcpp clients) wait for the result and do not mind; a status monitor
sees ACCEPTED instead of EXECUTING during the motion.

control_msgs versions: written against Jazzy's control_msgs 5.x, and for Kilted's 6.x. The
goal definitions match (docs.ros.org, both distributions); 6.3 added to
FollowJointTrajectory's feedback the index of the trajectory point being executed toward
(ros-controls/control_msgs#67). Feedback is filled by looking at the message's fields:
``desired``/``actual``/``error`` where they exist, and an integer field whose name contains
``index`` where there is one, so the same code serves either installation. The tests run
against a stand-in with Jazzy's field lists (test/interfaces/control_msgs, built by
scripts/setup.sh where no ROS install provides control_msgs); no Kilted control_msgs was
available to test against.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from control_msgs.action import FollowJointTrajectory, GripperCommand
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.action.server import ServerGoalHandle
from rclpy.node import Node
from trajectory_msgs.msg import JointTrajectoryPoint

from lerobot_ros.control.gripper_goals import GripperMonitor, GripperOutcome, GripperSettings
from lerobot_ros.control.joint_commands import CommandError, JointCommandArbiter
from lerobot_ros.control.trajectory_goals import (
    ErrorCode,
    GoalPoint,
    GoalRejected,
    JointTolerance,
    TrajectoryGoal,
    TrajectoryMonitor,
    TrajectorySettings,
    merge_segments,
    validate_trajectory_goal,
)
from lerobot_ros.ros import topics
from lerobot_ros.ros.conversions import seconds_to_time, time_to_seconds

# (positions, velocities, efforts) of all the arbiter's joints, in its limits' order.
Measurement = tuple[np.ndarray, np.ndarray, np.ndarray]

_INTEGER_TYPES = {"int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"}


def trajectory_goal_from_msg(goal: FollowJointTrajectory.Goal) -> TrajectoryGoal:
    """The parts of a FollowJointTrajectory goal the controller uses, in plain types."""
    trajectory = goal.trajectory
    multi_dof = list(goal.multi_dof_trajectory.joint_names)
    for tolerance in (*goal.component_path_tolerance, *goal.component_goal_tolerance):
        multi_dof.append(tolerance.joint_name)
    return TrajectoryGoal(
        joint_names=list(trajectory.joint_names),
        points=[
            GoalPoint(
                time_to_seconds(p.time_from_start),
                list(p.positions),
                list(p.velocities),
                list(p.accelerations),
            )
            for p in trajectory.points
        ],
        stamp=time_to_seconds(trajectory.header.stamp),
        path_tolerance=[_tolerance(t) for t in goal.path_tolerance],
        goal_tolerance=[_tolerance(t) for t in goal.goal_tolerance],
        goal_time_tolerance=time_to_seconds(goal.goal_time_tolerance),
        multi_dof_joint_names=sorted(set(multi_dof)),
    )


def _tolerance(msg) -> JointTolerance:  # noqa: ANN001 - control_msgs/JointTolerance
    return JointTolerance(msg.name, msg.position, msg.velocity, msg.acceleration)


def _point(positions: np.ndarray, velocities: np.ndarray, seconds: float) -> JointTrajectoryPoint:
    point = JointTrajectoryPoint(
        positions=np.asarray(positions, dtype=float).tolist(),
        velocities=np.asarray(velocities, dtype=float).tolist(),
    )
    duration = seconds_to_time(max(seconds, 0.0))
    point.time_from_start.sec, point.time_from_start.nanosec = duration.sec, duration.nanosec
    return point


def trajectory_feedback(
    monitor: TrajectoryMonitor, now: float, positions: np.ndarray, velocities: np.ndarray
) -> FollowJointTrajectory.Feedback:
    """Feedback with the fields this control_msgs version has (see the module docstring)."""
    goal = monitor.goal
    columns = list(goal.columns)
    desired, desired_velocity = monitor.desired(now)
    actual, actual_velocity = np.asarray(positions)[columns], np.asarray(velocities)[columns]
    elapsed = now - goal.start_time
    feedback = FollowJointTrajectory.Feedback()
    fields = FollowJointTrajectory.Feedback.get_fields_and_field_types()
    feedback.header.stamp = seconds_to_time(now)
    feedback.joint_names = list(goal.joint_names)
    points = {
        "desired": _point(desired, desired_velocity, elapsed),
        "actual": _point(actual, actual_velocity, elapsed),
        "error": _point(desired - actual, desired_velocity - actual_velocity, elapsed),
    }
    for name, point in points.items():
        if name in fields:
            setattr(feedback, name, point)
    for name, type_name in fields.items():
        if "index" in name and type_name in _INTEGER_TYPES:
            setattr(feedback, name, monitor.next_point_index(now))
    return feedback


@dataclass
class _ArmGoal:
    handle: ServerGoalHandle
    monitor: TrajectoryMonitor
    next_feedback: float = field(default=-np.inf)


@dataclass
class _GripperGoal:
    handle: ServerGoalHandle
    monitor: GripperMonitor
    next_feedback: float = field(default=-np.inf)


def _complete(handle: ServerGoalHandle, terminal: str, result: object, logger) -> object:  # noqa: ANN001
    """Execute callback of a goal whose outcome is known: set it and return the result."""
    try:
        if terminal == "succeed":
            handle.succeed()
        elif terminal == "canceled" and handle.is_cancel_requested:
            handle.canceled()
        else:
            handle.abort()
    except Exception as error:  # an invalid state transition must not take the node down
        logger.error(f"could not set the goal's final state ({terminal}): {error}")
    return result


class ControllerActionServers:
    """FollowJointTrajectory (arm) and GripperCommand (gripper) servers on ``node``.

    ``now`` is the node's control clock in seconds (sim time for the sim), ``measured``
    returns the joints' (positions, velocities, efforts) in ``arbiter.limits`` order, and
    ``velocity_limits`` (same order) bounds trajectory segments and the finger's speed.
    ``refuse_reason`` returns why goals cannot run right now (e.g. lockstep), or None.
    The owner calls :meth:`update` every control step before ``arbiter.update``, and
    :meth:`preempt` when a command from elsewhere (a topic, a reset) takes the joints over.
    """

    def __init__(
        self,
        node: Node,
        arbiter: JointCommandArbiter,
        *,
        arm_joints: tuple[str, ...],
        gripper_joint: str | None,
        now: Callable[[], float],
        measured: Callable[[], Measurement],
        velocity_limits: np.ndarray,
        refuse_reason: Callable[[], str | None] = lambda: None,
        trajectory_settings: TrajectorySettings | None = None,
        gripper_settings: GripperSettings | None = None,
        feedback_period: float = 0.05,
        arm_action: str = topics.FOLLOW_JOINT_TRAJECTORY,
        gripper_action: str = topics.GRIPPER_COMMAND,
    ) -> None:
        names = arbiter.limits.names
        missing = [j for j in (*arm_joints, gripper_joint) if j is not None and j not in names]
        if missing:
            raise ValueError(f"controller joints {missing} are not among the robot's {names}")
        if len(velocity_limits) != len(names) or not np.all(np.asarray(velocity_limits) > 0):
            raise ValueError(f"need {len(names)} positive velocity limits, got {velocity_limits}")
        if not feedback_period > 0:
            raise ValueError(f"feedback_period must be > 0 s, got {feedback_period}")
        self._node = node
        self._logger = node.get_logger()
        self._arbiter = arbiter
        self._now = now
        self._measured = measured
        self._velocity_limits = np.asarray(velocity_limits, dtype=float)
        self._refuse_reason = refuse_reason
        self._feedback_period = float(feedback_period)
        self._arm_settings = trajectory_settings or TrajectorySettings(tuple(arm_joints))
        if self._arm_settings.joints != tuple(arm_joints):
            raise ValueError("trajectory_settings.joints must be arm_joints")
        self._gripper_settings = None
        if gripper_joint is not None:
            self._gripper_settings = gripper_settings or GripperSettings(gripper_joint)
            if self._gripper_settings.joint != gripper_joint:
                raise ValueError("gripper_settings.joint must be gripper_joint")
        self._arm_action, self._gripper_action = arm_action, gripper_action
        self._arm: _ArmGoal | None = None
        self._gripper: _GripperGoal | None = None

        self._servers = [
            ActionServer(
                node,
                FollowJointTrajectory,
                arm_action,
                execute_callback=self._default_execute(FollowJointTrajectory),
                goal_callback=lambda _goal: GoalResponse.ACCEPT,
                handle_accepted_callback=self._on_arm_goal,
                cancel_callback=self._on_arm_cancel,
            )
        ]
        if self._gripper_settings is not None:
            self._servers.append(
                ActionServer(
                    node,
                    GripperCommand,
                    gripper_action,
                    execute_callback=self._default_execute(GripperCommand),
                    goal_callback=lambda _goal: GoalResponse.ACCEPT,
                    handle_accepted_callback=self._on_gripper_goal,
                    cancel_callback=self._on_gripper_cancel,
                )
            )

    @property
    def busy(self) -> bool:
        """Whether an arm or gripper goal is running."""
        return self._arm is not None or self._gripper is not None

    # --- goal life cycle --------------------------------------------------------------------
    def _default_execute(self, action_type: type) -> Callable[[ServerGoalHandle], object]:
        # Every execute() call here passes its own callback, so this one never runs; rclpy
        # requires one all the same.
        def abort(handle: ServerGoalHandle) -> object:
            handle.abort()
            return action_type.Result()

        return abort

    def _finish(self, handle: ServerGoalHandle, terminal: str, result: object) -> None:
        handle.execute(lambda h: _complete(h, terminal, result, self._logger))

    def _finish_arm(self, goal_handle: ServerGoalHandle, code: ErrorCode, message: str) -> None:
        result = FollowJointTrajectory.Result(error_code=int(code), error_string=message)
        terminal = "succeed" if code == ErrorCode.SUCCESSFUL else "abort"
        # (rclpy loggers refuse one call site logging at two severities: two calls.)
        if code == ErrorCode.SUCCESSFUL:
            self._logger.info(f"{self._arm_action}: {message}")
        else:
            self._logger.warning(f"{self._arm_action}: {code.name}: {message}")
        self._finish(goal_handle, terminal, result)

    def _gripper_result(self, outcome: GripperOutcome) -> GripperCommand.Result:
        return GripperCommand.Result(
            position=float(outcome.position),
            effort=float(outcome.effort),
            stalled=bool(outcome.stalled),
            reached_goal=bool(outcome.reached_goal),
        )

    def _finger_state(self) -> tuple[float, float, float]:
        positions, velocities, efforts = self._measured()
        column = self._arbiter.limits.names.index(self._gripper_settings.joint)
        return float(positions[column]), float(velocities[column]), float(efforts[column])

    def _abort_gripper(self, goal_handle: ServerGoalHandle, message: str) -> None:
        position, _, effort = self._finger_state()
        self._logger.warning(f"{self._gripper_action}: aborted: {message}")
        outcome = GripperOutcome(False, position, effort, False, False, message)
        self._finish(goal_handle, "abort", self._gripper_result(outcome))

    def _recompose(self, now: float) -> None:
        """Command the arbiter with the merged plans of the running goals (none: hold)."""
        segments = [g.monitor.segment for g in (self._arm, self._gripper) if g is not None]
        names, points = merge_segments(segments, now)
        try:
            self._arbiter.command_trajectory(names if points else [], points, now)
        except CommandError as error:  # the goals were validated: a bug if it happens
            self._logger.error(f"could not command the merged goals: {error}")
            self.preempt(f"internal error commanding the goals: {error}")

    def _on_arm_goal(self, goal_handle: ServerGoalHandle) -> None:
        now = self._now()
        reason = self._refuse_reason()
        if reason is not None:
            self._finish_arm(goal_handle, ErrorCode.INVALID_GOAL, reason)
            return
        try:
            accepted = validate_trajectory_goal(
                trajectory_goal_from_msg(goal_handle.request),
                self._arm_settings,
                self._arbiter.limits,
                self._arbiter.target,
                now,
                self._velocity_limits,
            )
        except GoalRejected as rejection:
            self._finish_arm(goal_handle, rejection.code, str(rejection))
            return
        monitor = TrajectoryMonitor(accepted, self._arbiter.limits, self._arbiter.target)
        if self._arm is not None:
            self._finish_arm(self._arm.handle, ErrorCode.INVALID_GOAL, "preempted by a newer goal")
        self._arm = _ArmGoal(goal_handle, monitor)
        self._recompose(now)
        self._logger.info(
            f"{self._arm_action}: executing {len(accepted.points)} points for "
            f"{list(accepted.joint_names)}, {accepted.end_time - now:.2f} s"
        )

    def _on_arm_cancel(self, goal_handle: ServerGoalHandle) -> CancelResponse:
        if self._arm is None or self._arm.handle is not goal_handle:
            return CancelResponse.REJECT  # already finishing
        self._arm = None
        self._recompose(self._now())  # the arm holds its current target
        message = "canceled: the arm holds where it was"
        self._logger.info(f"{self._arm_action}: {message}")
        result = FollowJointTrajectory.Result(
            error_code=int(ErrorCode.SUCCESSFUL), error_string=message
        )
        # The server marks the goal CANCELING right after this returns; the execute callback
        # runs later, from the executor, and ends it CANCELED.
        self._finish(goal_handle, "canceled", result)
        return CancelResponse.ACCEPT

    def _on_gripper_goal(self, goal_handle: ServerGoalHandle) -> None:
        now = self._now()
        reason = self._refuse_reason()
        if reason is not None:
            self._abort_gripper(goal_handle, reason)
            return
        command = goal_handle.request.command
        column = self._arbiter.limits.names.index(self._gripper_settings.joint)
        try:
            monitor = GripperMonitor(
                self._gripper_settings,
                float(command.position),
                self._arbiter.limits,
                self._arbiter.target,
                now,
                float(self._velocity_limits[column]),
            )
        except ValueError as error:
            self._abort_gripper(goal_handle, str(error))
            return
        if monitor.clamped:
            self._logger.warning(
                f"{self._gripper_action}: position {monitor.requested} is beyond the "
                f"finger's travel: moving to {monitor.target}"
            )
        if self._gripper is not None:
            self._abort_gripper(self._gripper.handle, "preempted by a newer goal")
        self._gripper = _GripperGoal(goal_handle, monitor)
        self._recompose(now)

    def _on_gripper_cancel(self, goal_handle: ServerGoalHandle) -> CancelResponse:
        if self._gripper is None or self._gripper.handle is not goal_handle:
            return CancelResponse.REJECT
        self._gripper = None
        self._recompose(self._now())
        position, _, effort = self._finger_state()
        outcome = GripperOutcome(False, position, effort, False, False, "canceled")
        self._finish(goal_handle, "canceled", self._gripper_result(outcome))
        return CancelResponse.ACCEPT

    # --- driven by the owner's control loop -----------------------------------------------
    def update(self) -> None:
        """Judge the running goals and publish their feedback (call every control step)."""
        if not self.busy:
            return
        try:
            self._update()
        except Exception as error:  # a bug here must end the goals, not the control loop
            self._logger.error(f"action goals failed: {error!r}")
            self.preempt(f"internal error: {error!r}")

    def _update(self) -> None:
        now = self._now()
        positions, velocities, efforts = self._measured()
        arm = self._arm
        if arm is not None:
            if now >= arm.next_feedback:
                arm.handle.publish_feedback(
                    trajectory_feedback(arm.monitor, now, positions, velocities)
                )
                arm.next_feedback = max(arm.next_feedback + self._feedback_period, now)
            outcome = arm.monitor.check(now, positions, velocities)
            if outcome is not None:
                self._arm = None
                if not outcome.succeeded:
                    self._recompose(now)  # stop following a plan the arm cannot keep to
                self._finish_arm(arm.handle, outcome.code, outcome.message)
        gripper = self._gripper
        if gripper is not None:
            column = gripper.monitor.column
            position, velocity, effort = (
                float(positions[column]),
                float(velocities[column]),
                float(efforts[column]),
            )
            if now >= gripper.next_feedback:
                reached = gripper.monitor.reached(position)
                gripper.handle.publish_feedback(
                    GripperCommand.Feedback(
                        position=position, effort=effort, stalled=False, reached_goal=reached
                    )
                )
                gripper.next_feedback = max(gripper.next_feedback + self._feedback_period, now)
            outcome = gripper.monitor.check(now, position, velocity, effort)
            if outcome is not None:
                self._gripper = None
                if outcome.succeeded:
                    self._logger.info(f"{self._gripper_action}: {outcome.message}")
                else:
                    self._logger.warning(f"{self._gripper_action}: {outcome.message}")
                terminal = "succeed" if outcome.succeeded else "abort"
                self._finish(gripper.handle, terminal, self._gripper_result(outcome))

    def preempt(self, reason: str) -> None:
        """Abort the running goals: ``reason`` (e.g. a topic command) now drives the joints.

        The arbiter is not touched: whoever preempts has just commanded it.
        """
        arm, gripper = self._arm, self._gripper
        self._arm = self._gripper = None
        if arm is not None:
            self._finish_arm(arm.handle, ErrorCode.INVALID_GOAL, f"preempted: {reason}")
        if gripper is not None:
            self._abort_gripper(gripper.handle, f"preempted: {reason}")

    def destroy(self) -> None:
        self.preempt("the node is shutting down")
        for server in self._servers:
            server.destroy()
