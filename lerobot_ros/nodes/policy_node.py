"""``policy_node``: any LeRobot policy checkpoint acting on a graph through the feature mapping.

A lifecycle node: configure loads the checkpoint and the mapping (a bad path fails the
transition with the reason), activate starts acting, deactivate stops and commands a hold.
Two ways to act:

* real time (default): a timer at the mapping's fps (graph clock, sim time under
  ``use_sim_time``) pops one action per tick from a queue of action chunks; chunks are
  predicted in a worker thread and requested before the queue runs dry, so inference never
  blocks the control timer;
* lockstep: one ``select_action`` per new complete observation (all inputs stamped with the
  same step), for deterministic eval against a lockstep sim, as LeRobot's rollout does.

Both run in ``lerobot_ros.policy.runner.PolicyRunner`` (plain Python, tested without ROS);
this node translates messages, aligns inputs, applies the safety layer and serves the
services and the RunPolicy action.

Inputs are aligned by header stamp (newest sample not newer than the tick, at most
``max_age`` old); a missing, stale or malformed input pauses the policy with the reason on
``/policy/status`` instead of feeding it old data. Every action passes the safety layer.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.action.server import ServerGoalHandle
from rclpy.clock import Clock, ClockType
from rclpy.experimental import EventsExecutor
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.task import Future
from std_msgs.msg import Float64MultiArray
from std_srvs.srv import SetBool
from trajectory_msgs.msg import JointTrajectory

from lerobot_ros.control.joint_commands import JointLimits
from lerobot_ros.features import adapters
from lerobot_ros.features.alignment import InputWatch, NotReady, ObservationAligner
from lerobot_ros.features.mapping import (
    ACTION,
    OBS_ENVIRONMENT_STATE,
    OBS_IMAGES_PREFIX,
    OBS_STATE,
    FeatureMapping,
    MappingError,
    default_mapping_path,
    load_mapping,
    mapping_differences,
)
from lerobot_ros.interfaces import PolicyStatus, ResetPolicy, RunPolicy
from lerobot_ros.policy import run
from lerobot_ros.policy.action_queue import AGGREGATIONS
from lerobot_ros.policy.inference import gym_style_observation
from lerobot_ros.policy.loading import (
    LoadedPolicy,
    PolicyLoadError,
    load_policy,
    shipped_policy_dir,
    trained_mapping,
)
from lerobot_ros.policy.run import PolicyRun
from lerobot_ros.policy.runner import PolicyRunner
from lerobot_ros.policy.safety import SafetyLayer
from lerobot_ros.robots import RobotModelError, from_ros
from lerobot_ros.ros import conversions, qos, topics
from lerobot_ros.ros.message_classes import MESSAGE_CLASSES
from lerobot_ros.ros.node_main import autostart_lifecycle, run_node
from lerobot_ros.ros.parameters import configure, declare_node_parameters, refusal
from lerobot_ros.ros.quiet import stdout_to_log

# When each parameter of config/policy_node.yaml is read (autostart: at start, read-only).
PARAMETER_RULES = {
    "policy_path": configure(),
    "mapping": configure(),
    "robot_description": configure(),
    "device": configure(),
    "lockstep": configure(),
    "refill_below": configure(low=0, high=10_000),
    "refill_from_inference_time": configure(),
    "chunk_aggregation": configure(choices=AGGREGATIONS),
    "temporal_ensemble_coeff": configure(low=-10.0, high=10.0),
    "max_relative_target": configure(low=0.0, high=10.0),
    "input_timeout_s": configure(low=0.1, high=3600.0),
    "wait_for_goal": configure(),
}


class PolicyNode(LifecycleNode):
    def __init__(self, **node_kwargs: Any) -> None:
        super().__init__("policy_node", **node_kwargs)
        declare_node_parameters(self, "policy_node", PARAMETER_RULES)
        self.loaded: LoadedPolicy | None = None
        self.mapping: FeatureMapping | None = None
        self.active = False
        self.runner: PolicyRunner | None = None  # the policy acting, while configured
        self._reset_runtime_state()
        self.status_pub = self.create_publisher(PolicyStatus, topics.POLICY_STATUS, qos.STATE)
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", qos.STATE)
        self.create_service(SetBool, topics.POLICY_ESTOP, self.on_estop)
        self.create_service(ResetPolicy, topics.POLICY_RESET, self.on_reset)
        # Wall-clock (steady) timer: under sim time a paused or lockstep clock stands still,
        # and late subscribers must still learn the node's state.
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.create_timer(1.0, self.publish_heartbeat, clock=steady)
        self.create_timer(0.5, self.check_inputs, clock=steady)
        # RunPolicy goals: the one running (and its end, awaited by execute_run).
        self.run: PolicyRun | None = None
        self._run_handle: ServerGoalHandle | None = None
        self._run_ended: Future | None = None
        self._holding = False  # a goal ended: hold until the next goal or /policy/reset
        ActionServer(
            self,
            RunPolicy,
            topics.POLICY_RUN,
            execute_callback=self.execute_run,
            goal_callback=self.on_run_goal,
            handle_accepted_callback=self.on_run_accepted,
            cancel_callback=lambda _: CancelResponse.ACCEPT,
        )
        self.create_timer(0.1, self.check_run, clock=steady)

    def _reset_runtime_state(self) -> None:
        self._last_tick: int | None = None  # graph-clock tick of the last on_tick
        self.actions_published = 0
        self.last_observation_to_action_s = 0.0
        self.last_acted_stamp = -np.inf
        self.input_errors: dict[str, str] = {}
        self.estopped = False
        self.state_text, self.reason = "inactive", "not configured"
        self.clamped = False

    # --- lifecycle ------------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        policy_path = self.get_parameter("policy_path").value or str(shipped_policy_dir())
        try:
            for name, rule in PARAMETER_RULES.items():
                if problem := refusal(name, self.get_parameter(name).value, rule, None):
                    raise ValueError(problem)
            # LeRobot prints "Loading weights ..." on stdout: a debug line of ours instead.
            with stdout_to_log(self.get_logger().debug):
                self.loaded = load_policy(policy_path, device=self.get_parameter("device").value)
            full_mapping = self._mapping_for(self.loaded)
            # Images reach the policy at the size it was trained on, whatever the file says.
            trained_sizes = {
                key: tuple(feature.shape[1:])
                for key, feature in self.loaded.policy.config.input_features.items()
                if key.startswith(OBS_IMAGES_PREFIX)
            }
            self.mapping = full_mapping.restricted_to(
                self.loaded.input_features | {OBS_STATE}
            ).with_image_sizes(trained_sizes)
            state = self.loaded.policy.config.input_features.get(OBS_STATE)
            if state is not None and state.shape[0] != len(self.mapping.state_names):
                raise MappingError(
                    f"the policy takes {state.shape[0]} {OBS_STATE} values, the mapping gives "
                    f"{len(self.mapping.state_names)} ({list(self.mapping.state_names)})"
                )
            action_dim = self.loaded.policy.config.output_features["action"].shape[0]
            if action_dim != len(self.mapping.action.names):
                raise MappingError(
                    f"the policy outputs {action_dim} actions, the mapping commands {len(self.mapping.action.names)} joints"
                )
            self.robot = from_ros.robot_model(
                self,
                self.get_parameter("robot_description").value,
                full_mapping.robot,
                str(full_mapping.source),
            )
            names = self.mapping.action.names
            lower, upper = self.robot.position_limits(names)  # names a joint it lacks
            max_relative = float(self.get_parameter("max_relative_target").value)
            self.safety = SafetyLayer(JointLimits(names, lower, upper), max_relative or None)
        except (PolicyLoadError, MappingError, RobotModelError, ValueError) as error:
            self.get_logger().error(f"configure failed: {error}")
            self.loaded, self.mapping = None, None
            self.state_text, self.reason = "inactive", f"configure failed: {error}"
            self.publish_status()
            return TransitionCallbackReturn.FAILURE
        self.lockstep = bool(self.get_parameter("lockstep").value)
        self.wait_for_goal = bool(self.get_parameter("wait_for_goal").value)
        self.aligner = ObservationAligner(self.mapping.source_keys, self.mapping.max_age)
        self.converters = adapters.input_converters(self.mapping)
        self.input_topics = {
            key: topic for key, (topic, _) in self.mapping.topic_types().items() if key != ACTION
        }
        self.input_watch = InputWatch(
            self.mapping.source_keys,
            float(self.get_parameter("input_timeout_s").value),
            time.monotonic(),
        )
        self._create_io()
        self.state_text, self.reason = "inactive", "configured, not active"
        self.get_logger().info(
            f"loaded {self.loaded.policy.config.type} from {self.loaded.path} with mapping "
            f"{self.mapping.source} for robot "
            f"{self.robot.name!r} ({self.robot.source}); inputs "
            f"{list(self.mapping.input_keys)}; "
            + (
                "lockstep"
                if self.lockstep
                else f"{self.mapping.fps:g} Hz, chunks merged by {self.runner.actions.aggregation}"
            )
        )
        return TransitionCallbackReturn.SUCCESS

    def _mapping_for(self, loaded: LoadedPolicy) -> FeatureMapping:
        """The mapping parameter, else the one the checkpoint was trained with, else the
        default; a given mapping that would feed the policy differently from its training
        mapping is refused with the differences (train/serve skew)."""
        given = self.get_parameter("mapping").value
        trained = trained_mapping(loaded.path)
        if not given:
            return trained or load_mapping(default_mapping_path())
        mapping = load_mapping(given)
        if trained is not None:
            keys = loaded.input_features | {OBS_STATE}
            differences = mapping_differences(
                trained.restricted_to(keys), mapping.restricted_to(keys)
            )
            if differences:
                raise MappingError(
                    f"{given} contradicts the mapping the policy was trained with "
                    f"({trained.source}): {'; '.join(differences)}. Leave mapping empty to use "
                    "the trained one"
                )
        return mapping

    def _create_io(self) -> None:
        mapping = self.mapping
        types = mapping.topic_types()
        images = {image.key for image in mapping.images}
        self._subscriptions_io = [
            self.create_subscription(
                MESSAGE_CLASSES[types[key][1]],
                self.input_topics[key],
                lambda m, k=key: self.on_input(k, m),
                qos.with_reliability(
                    qos.IMAGE if key in images else qos.STATE, mapping.reliability(key)
                ),
            )
            for key in mapping.source_keys
        ]
        action_type = (
            Float64MultiArray if mapping.action.type == "position_command" else JointTrajectory
        )
        self.action_pub = self.create_publisher(action_type, mapping.action.topic, qos.COMMAND)
        self.runner = PolicyRunner(
            self.loaded,
            int(self.get_parameter("refill_below").value),
            current_tick=lambda: int(round(self._graph_now() * mapping.fps)),
            on_error=lambda error: self.get_logger().error(
                f"inference failed: {type(error).__name__}: {error}"
            ),
            aggregation=self.get_parameter("chunk_aggregation").value,
            ensemble_coeff=float(self.get_parameter("temporal_ensemble_coeff").value),
            control_period_s=(
                1.0 / mapping.fps if self.get_parameter("refill_from_inference_time").value else 0.0
            ),
        )
        self.timer = None

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._restart_episode()
        self.input_watch.restart(time.monotonic())
        self._holding = False
        self.active = self.runner.accepting = True
        if not self.lockstep:
            self.timer = self.create_timer(1.0 / self.mapping.fps, self.on_tick)
        self.state_text, self.reason = "waiting", "waiting for observations"
        self.publish_status()
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._end_run(run.DEACTIVATED)
        self.active = self.runner.accepting = False
        if self.timer is not None:
            self.destroy_timer(self.timer)
            self.timer = None
        self._publish_hold("deactivated")
        self.state_text, self.reason = "inactive", "deactivated"
        self.publish_status()
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._destroy_io()
        self.loaded, self.mapping = None, None
        self.state_text, self.reason = "inactive", "not configured"
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._end_run(run.DEACTIVATED)
        if self.active:
            self._publish_hold("shutting down")
        self.active = False  # the inference worker publishes nothing more
        self._destroy_io()
        return TransitionCallbackReturn.SUCCESS

    def _destroy_io(self) -> None:
        if self.runner is not None:
            self.runner.close()
            self.runner = None
        for subscription in getattr(self, "_subscriptions_io", []):
            self.destroy_subscription(subscription)
        self._subscriptions_io = []

    # --- inputs ---------------------------------------------------------------------------
    def on_input(self, key: str, msg: Any) -> None:  # noqa: ANN401 - any mapped message type
        mapping = self.mapping
        self.input_watch.arrived(key, time.monotonic())
        try:
            value = self.converters[key](msg)
        except adapters.InputError as error:
            self.input_errors[key] = f"malformed: {error}"
            self.get_logger().error(f"ignored {key} message: {error}", throttle_duration_sec=1.0)
            return
        self.input_errors.pop(key, None)
        header = adapters.input_header(msg, mapping.environment_state)
        seconds = (  # headerless: stamped on arrival, on the graph clock
            conversions.time_to_seconds(header.stamp)
            if header is not None
            else self.get_clock().now().nanoseconds / 1e9
        )
        if key == OBS_STATE and seconds <= self.last_acted_stamp:
            # The clock went back (each topic arrives in stamp order): a restarted sim. The
            # new timeline's steps must not look already acted on.
            self.last_acted_stamp = -np.inf
        self.aligner.add(key, seconds, value)
        if self.lockstep and self.active:
            self._act_lockstep()

    def _gym_observation(self, values: dict) -> dict:
        values = self.mapping.compose(values)  # state_extra inputs join observation.state
        images = {image.name: values[image.key] for image in self.mapping.images}
        return gym_style_observation(values[OBS_STATE], values.get(OBS_ENVIRONMENT_STATE), images)

    def _not_ready_reason(self, not_ready: NotReady) -> str:
        reasons = dict(not_ready.reasons)
        reasons.update({k: v for k, v in self.input_errors.items() if k in reasons})
        return "; ".join(f"{key}: {reason}" for key, reason in sorted(reasons.items()))

    # --- acting: lockstep -----------------------------------------------------------------
    def _act_lockstep(self) -> None:
        stamp = self.aligner.newest_common_stamp()
        if stamp is None or stamp <= self.last_acted_stamp or self.estopped or not self.may_act:
            return
        newest = [buffer.newest_stamp for buffer in self.aligner.buffers.values()]
        if any(s != stamp for s in newest):
            return  # the step's other inputs are still on their way
        complete_at = time.perf_counter()
        aligned = self.aligner.sample(stamp)
        if isinstance(aligned, NotReady):
            return
        self.last_acted_stamp = stamp
        action = self.runner.act(self._gym_observation(aligned.values))
        self._publish_action(
            action, aligned.values[OBS_STATE], stamp, complete_at, max(aligned.ages.values())
        )

    # --- acting: real time ----------------------------------------------------------------
    def on_tick(self) -> None:
        now = self.get_clock().now().nanoseconds / 1e9
        tick = int(round(now * self.mapping.fps))
        if self._last_tick is not None and tick < self._last_tick:
            # The clock went back (a restarted sim): queued actions are for the old timeline.
            self.get_logger().warning("clock jumped back: dropping queued actions")
            self._restart_episode()
        self._last_tick = tick
        if self.estopped:
            self.publish_status()
            return
        if not self.may_act:
            self.state_text, self.reason = "waiting", "waiting for a RunPolicy goal"
            self.publish_status()
            return
        aligned = self.aligner.sample(now)
        if isinstance(aligned, NotReady):
            if self.state_text == "no_input":
                pass  # check_inputs names the missing topic; a tick's "no message yet" would not
            elif self.state_text != "paused" or self.reason != self._not_ready_reason(aligned):
                self.get_logger().warning(
                    f"policy paused: {self._not_ready_reason(aligned)}", throttle_duration_sec=2.0
                )
                self.state_text, self.reason = "paused", self._not_ready_reason(aligned)
            self._restart_episode()  # resume from fresh observations, never from an old plan
            self.publish_status()
            return
        action = self.runner.tick(tick, lambda: self._gym_observation(aligned.values))
        if action is None:
            self.state_text, self.reason = "waiting", "waiting for the first action chunk"
            self.publish_status()
            return
        self._publish_action(
            action, aligned.values[OBS_STATE], now, time.perf_counter(), max(aligned.ages.values())
        )

    # --- output ---------------------------------------------------------------------------
    def _publish_action(
        self, action: np.ndarray, measured: np.ndarray, stamp: float, complete_at: float, age: float
    ) -> None:
        # The policy acts in feature units (degrees where the mapping says so); the safety
        # layer and the robot in ROS units (measured: the aligned joints, radians).
        filtered = self.safety.filter(self.mapping.action_to_ros(action), measured)
        if filtered.action is None:
            self.state_text, self.reason = (
                ("estopped" if self.estopped else "paused"),
                filtered.reason,
            )
            self.publish_status(stamp)
            return
        message = adapters.action_message(
            filtered.action, self.mapping.action, stamp, 1.0 / self.mapping.fps
        )
        self.action_pub.publish(message)
        self.last_observation_to_action_s = time.perf_counter() - complete_at
        self.actions_published += 1
        self.clamped = filtered.clamped
        self.state_text, self.reason = "acting", filtered.reason
        self.publish_status(stamp, age)
        if self.run is not None:
            self.run.acted()
            self._run_handle.publish_feedback(
                RunPolicy.Feedback(
                    steps=self.run.steps,
                    state=self.state_text,
                    inference_s=self.last_inference_s,
                    queue_depth=self.queue_depth,
                    observation_age_s=float(age),
                )
            )
            self.check_run()

    def _publish_hold(self, why: str) -> None:
        found = self.aligner.buffers[OBS_STATE].as_of(np.inf) if self.mapping is not None else None
        if found is None or not hasattr(self, "action_pub"):
            return
        held = self.safety.hold(found[1])
        self.action_pub.publish(
            adapters.action_message(held, self.mapping.action, found[0], 1.0 / self.mapping.fps)
        )
        self.get_logger().info(f"{why}: commanded a hold at the measured position")

    def publish_status(self, stamp: float | None = None, age: float = 0.0) -> None:
        status = PolicyStatus(state=self.state_text, reason=self.reason)
        status.header.stamp = (
            conversions.seconds_to_time(stamp)
            if stamp is not None
            else self.get_clock().now().to_msg()
        )
        status.actions_published = self.actions_published
        status.inference_s = self.last_inference_s
        status.observation_to_action_s = self.last_observation_to_action_s
        status.observation_age_s = float(age)
        status.queue_depth = self.queue_depth
        status.clamped = self.clamped
        self.status_pub.publish(status)

    def check_inputs(self) -> None:
        """An input nothing provides becomes state no_input, naming the input and its topic
        (and a log error), within a check period of input_timeout_s."""
        if not self.active or self.mapping is None or self.estopped:
            return
        counts = {key: self.count_publishers(topic) for key, topic in self.input_topics.items()}
        missing = self.input_watch.missing(time.monotonic(), counts)
        if missing:
            reason = "; ".join(
                f"{key} ({self.input_topics[key]}): {why}" for key, why in sorted(missing.items())
            )
            if self.state_text != "no_input":
                self.get_logger().error(f"the policy is missing inputs: {reason}")
            self.state_text, self.reason = "no_input", reason
            self.publish_status()
        elif self.state_text == "no_input":
            self.get_logger().info("every input arrives again")
            self.state_text, self.reason = "waiting", "waiting for observations"
            self.publish_status()

    def publish_heartbeat(self) -> None:
        self.publish_status()
        self.publish_diagnostics()

    def publish_diagnostics(self) -> None:
        level = {
            "acting": DiagnosticStatus.OK,
            "waiting": DiagnosticStatus.OK,
            "inactive": DiagnosticStatus.OK,
        }
        status = DiagnosticStatus(
            level=level.get(self.state_text, DiagnosticStatus.WARN),
            name="lerobot_ros: policy_node",
            message=f"{self.state_text}: {self.reason}" if self.reason else self.state_text,
            hardware_id="policy",
        )
        status.values = [
            KeyValue(key="actions_published", value=str(self.actions_published)),
            KeyValue(key="inference_s", value=f"{self.last_inference_s:.4f}"),
            KeyValue(
                key="observation_to_action_s", value=f"{self.last_observation_to_action_s:.5f}"
            ),
            KeyValue(key="queue_depth", value=str(self.queue_depth)),
        ]
        array = DiagnosticArray(status=[status])
        array.header.stamp = self.get_clock().now().to_msg()
        self.diagnostics_pub.publish(array)

    # --- RunPolicy ------------------------------------------------------------------------
    @property
    def may_act(self) -> bool:
        """Acting needs a running goal, or (always-on, the default) no goal that ended since
        the last activation or /policy/reset."""
        return self.run is not None or not (self.wait_for_goal or self._holding)

    def _graph_now(self) -> float:
        return self.get_clock().now().nanoseconds / 1e9

    def on_run_goal(self, goal: RunPolicy.Goal) -> GoalResponse:
        if not self.active:
            self.get_logger().error("rejected a RunPolicy goal: policy_node is not active")
            return GoalResponse.REJECT
        try:
            PolicyRun.start(goal.task, goal.max_steps, goal.max_duration_s, 0.0)
        except run.GoalError as error:
            self.get_logger().error(f"rejected a RunPolicy goal: {error}")
            return GoalResponse.REJECT
        return GoalResponse.ACCEPT

    def on_run_accepted(self, goal_handle: ServerGoalHandle) -> None:
        self._end_run(run.PREEMPTED)  # one goal at a time: the newest wins
        goal_handle.execute()

    async def execute_run(self, goal_handle: ServerGoalHandle) -> RunPolicy.Result:
        goal = goal_handle.request
        ended = Future()
        self.run = PolicyRun.start(
            goal.task, goal.max_steps, goal.max_duration_s, self._graph_now()
        )
        self.runner.set_task(goal.task)
        self._run_handle, self._run_ended, self._holding = goal_handle, ended, False
        self._restart_episode()  # the new task's chunks, not the previous goal's
        self.get_logger().info(f"RunPolicy goal started: task {goal.task!r}")
        current = self.run
        await ended
        result = RunPolicy.Result(stop_reason=current.stop_reason, steps=current.steps)
        result.message = f"{current.stop_reason} after {current.steps} steps"
        if current.succeeded:
            goal_handle.succeed()
        elif current.stop_reason == run.CANCELED:
            goal_handle.canceled()
        else:
            goal_handle.abort()
        return result

    def check_run(self) -> None:
        """End the running goal when it is cancelled or reaches a limit."""
        if self.run is None:
            return
        if self._run_handle.is_cancel_requested:
            self._end_run(run.CANCELED)
            return
        reason = self.run.limit_reached(self._graph_now())
        if reason is not None:
            self._end_run(reason)

    def _end_run(self, reason: str) -> None:
        """Stop the running goal (if any) for ``reason`` and hold the arm."""
        current, ended = self.run, self._run_ended
        if current is None or not current.stop(reason):
            return
        self.run = None
        if self.runner is not None:
            self.runner.set_task("")
        self._holding = True
        if self.active and self.mapping is not None:
            self._publish_hold(f"RunPolicy goal ended ({reason})")
        self._restart_episode()
        self.get_logger().info(f"RunPolicy goal ended: {reason} after {current.steps} steps")
        ended.set_result(reason)

    # --- services -------------------------------------------------------------------------
    @property
    def last_inference_s(self) -> float:
        return self.runner.last_inference_s if self.runner is not None else 0.0

    @property
    def queue_depth(self) -> int:
        return self.runner.queue_depth if self.runner is not None else 0

    def _restart_episode(self) -> None:
        if self.runner is not None:
            self.runner.restart()  # chunks still being computed belong to the old episode

    def on_reset(
        self, request: ResetPolicy.Request, response: ResetPolicy.Response
    ) -> ResetPolicy.Response:
        """New episode: forget the policy's queued actions and the buffered inputs; with a
        seed, seed the policy's generators (a stochastic policy then repeats per seed)."""
        if self.mapping is None:
            response.success, response.message = False, "not configured"
            return response
        self._restart_episode()
        self.aligner.clear()
        self._holding = False  # always-on policies act again (a goal's end held them)
        response.success, response.message = True, "policy reset"
        if request.use_seed:
            self.runner.seed(request.seed)
            response.message = f"policy reset, seed {request.seed}"
        return response

    def on_estop(self, request: SetBool.Request, response: SetBool.Response) -> SetBool.Response:
        if self.mapping is None:
            response.success, response.message = False, "not configured"
            return response
        self.estopped = bool(request.data)
        if self.estopped:
            self._end_run(run.ESTOPPED)
            self.safety.engage_estop()
            self._publish_hold("e-stop")
            self._restart_episode()
            self.state_text, self.reason = "estopped", "e-stop engaged"
        else:
            self.safety.release_estop()
            self.state_text, self.reason = "waiting", "e-stop released"
        self.publish_status()
        response.success, response.message = True, self.reason
        return response


def main(args: list[str] | None = None) -> int:
    return run_node("policy_node", PolicyNode, EventsExecutor, args, on_created=autostart_lifecycle)


if __name__ == "__main__":
    sys.exit(main())
