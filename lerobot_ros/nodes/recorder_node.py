"""``recorder_node``: any graph that honours the topic contract, recorded into a LeRobotDataset.

The mapped topics (the feature mapping, as for the policy) are sampled at the dataset fps by
header stamp on the graph's clock (sim time under ``use_sim_time``): per tick the newest
sample not newer than it and at most ``max_age`` old, never a future one; commands carry
no stamp and are stamped on arrival. Episodes are driven by services:

* ``/recorder/start_episode`` (StartEpisode, with the task string),
* ``/recorder/stop_episode`` (Trigger): stop and save,
* ``/recorder/discard_episode`` (Trigger): drop the episode in progress (re-record it by
  starting again),

or, with ``auto_episodes``, by ``/task/status``: an episode starts with each new status
episode and is saved when it succeeds or is truncated. ``/recorder/status`` reports progress.
Writing happens on a thread of its own (``datasets.recording.DatasetWriter``); a saved episode
is durable, and stopping or killing the node loses only the episode in progress.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from rclpy.clock import Clock, ClockType
from rclpy.experimental import EventsExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import Float64MultiArray
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory

from lerobot_ros.datasets.recording import DatasetWriter, LiveSampler, RecordingError
from lerobot_ros.features import adapters
from lerobot_ros.features.mapping import (
    ACTION,
    MappingError,
    default_mapping_path,
    load_mapping,
)
from lerobot_ros.interfaces import RecorderStatus, StartEpisode, TaskStatus
from lerobot_ros.ros import conversions, qos, topics
from lerobot_ros.ros.message_classes import MESSAGE_CLASSES
from lerobot_ros.ros.node_main import StartupError, run_node
from lerobot_ros.ros.parameters import declare_node_parameters, live, start

# What each parameter of config/recorder_node.yaml takes and when it is read (the others: at
# start: the dataset, its features and its encoder are fixed when it is opened).
PARAMETER_RULES = {
    "fps": start(low=0, high=1000),
    "task": live(),
    "min_free_mb": live(low=0.0, high=1e9),
    "topic_timeout": live(low=0.01, high=3600.0),
}
# Reliable and deep enough to ride out a busy moment: a recorder must not drop samples.
RECORDING = QoSProfile(depth=30, reliability=ReliabilityPolicy.RELIABLE)


class RecorderNode(Node):
    def __init__(self, **node_kwargs: Any) -> None:
        super().__init__("recorder_node", **node_kwargs)
        params = declare_node_parameters(
            self, "recorder_node", PARAMETER_RULES, self._apply_parameters
        )
        if not params["root"]:
            raise StartupError("parameter 'root' (the dataset directory) is required")
        try:
            self.mapping = load_mapping(params["mapping"] or default_mapping_path())
        except (MappingError, FileNotFoundError) as error:
            raise StartupError(f"bad feature mapping: {error}") from None
        fps = params["fps"] or self.mapping.fps
        if fps <= 0 or fps != int(fps):
            raise StartupError(f"fps must be a positive integer, got {fps}")
        self.default_task = str(params["task"])
        self.auto_episodes = bool(params["auto_episodes"])
        self.topic_timeout = float(params["topic_timeout"])
        self.sampler = LiveSampler(self.mapping, fps, capacity=max(64, 4 * int(fps)))
        try:
            self.writer = DatasetWriter(
                params["root"],
                params["repo_id"],
                int(fps),
                self.mapping.lerobot_features(use_videos=bool(params["use_videos"])),
                robot_type=params["robot_type"] or None,
                use_videos=bool(params["use_videos"]),
                min_free_mb=float(params["min_free_mb"]),
                vcodec=str(params["vcodec"]),
                mapping=self.mapping,
            ).open()
        except RecordingError as error:
            raise StartupError(str(error)) from None
        for path in self.writer.set_aside:
            self.get_logger().warning(f"set aside a file of an interrupted save: {path}")
        self.recording = False
        self.task = self.default_task
        self.episode_frames = 0
        self.dropped_frames = 0
        self.status_episode: int | None = None  # /task/status episode being auto-recorded

        self._subscribe_inputs()
        self.status_pub = self.create_publisher(RecorderStatus, topics.RECORDER_STATUS, qos.LATCHED)
        self.create_service(StartEpisode, topics.RECORDER_START, self.on_start)
        self.create_service(Trigger, topics.RECORDER_STOP, self.on_stop)
        self.create_service(Trigger, topics.RECORDER_DISCARD, self.on_discard)
        if self.auto_episodes:
            self.create_subscription(
                TaskStatus, topics.TASK_STATUS, self.on_task_status, qos.TASK_STATUS
            )
        # Steady timers: sampling goes by stamps and reads the graph clock inside, and a
        # sim-time timer stalls when the sim pauses, dies or restarts its clock.
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.create_timer(0.5 / fps, self.on_poll, clock=steady)
        self.create_timer(1.0, self.publish_status, clock=steady)
        self.publish_status()
        self.get_logger().info(
            f"recording into {self.writer.root} at {fps} fps "
            f"({self.writer.state.saved_episodes} episodes there), inputs "
            f"{list(self.mapping.input_keys)}; "
            f"{'episodes follow /task/status' if self.auto_episodes else 'waiting for start_episode'}"
        )

    def _apply_parameters(self, changes: dict) -> None:
        """A live ``ros2 param set``: the next episode (task) or check uses the new value."""
        if "task" in changes:
            self.default_task = str(changes["task"])
        if "min_free_mb" in changes:
            self.writer.min_free_mb = float(changes["min_free_mb"])
        if "topic_timeout" in changes:
            self.topic_timeout = float(changes["topic_timeout"])

    # --- inputs ----------------------------------------------------------------------------
    def _subscribe_inputs(self) -> None:
        converters = adapters.input_converters(self.mapping)
        for key, (topic, type_name) in self.mapping.topic_types().items():
            if key == ACTION:
                callback = self._on_command
            else:
                callback = lambda msg, key=key, convert=converters[key]: self._on_input(  # noqa: E731
                    key, msg, convert
                )
            profile = (
                RECORDING
                if key == ACTION
                else qos.with_reliability(RECORDING, self.mapping.reliability(key))
            )
            self.create_subscription(MESSAGE_CLASSES[type_name], topic, callback, profile)

    def _on_input(self, key: str, msg: Any, convert: Any) -> None:  # noqa: ANN401
        try:
            value = convert(msg)
        except adapters.InputError as error:
            self.get_logger().error(f"skipped a sample: {error}", throttle_duration_sec=2.0)
            return
        header = adapters.input_header(msg, self.mapping.environment_state)
        if header is not None:
            stamp = conversions.time_to_seconds(header.stamp)
        else:
            stamp = self.get_clock().now().nanoseconds / 1e9
        self.sampler.add(key, stamp, value)

    def _on_command(self, msg: Float64MultiArray | JointTrajectory) -> None:
        action = self.mapping.action
        now = self.get_clock().now().nanoseconds / 1e9
        try:
            if isinstance(msg, JointTrajectory):
                vector = adapters.trajectory_target(msg, action)
                stamp = conversions.time_to_seconds(msg.header.stamp) or now  # 0: "start now"
            else:
                vector, stamp = adapters.command_vector(msg.data, action.names, action.topic), now
        except adapters.InputError as error:
            self.get_logger().error(f"skipped a command: {error}", throttle_duration_sec=2.0)
            return
        self.sampler.add(ACTION, stamp, vector)

    def graph_problems(self) -> tuple[list[str], list[str]]:
        """Mapped topics nobody publishes, and those published with another type."""
        missing, mismatched = [], []
        for key, (topic, wanted) in self.mapping.topic_types().items():
            types = sorted({info.topic_type for info in self.get_publishers_info_by_topic(topic)})
            if not types:
                missing.append(f"{key}: nothing publishes {topic}")
            elif wanted not in types:
                mismatched.append(f"{key}: {topic} carries {types}, the mapping needs {wanted}")
        return missing, mismatched

    # --- episodes --------------------------------------------------------------------------
    def start_episode(self, task: str) -> tuple[bool, str, int]:
        """Start an episode: success, the message, and the refusal (StartEpisode.Response)."""
        refused = StartEpisode.Response
        if self.recording:
            return (
                False,
                "an episode is being recorded: stop or discard it first",
                refused.REFUSED_BUSY,
            )
        if self.writer.state.failed:
            return (
                False,
                f"the dataset writer failed ({self.writer.state.last_error}); restart",
                refused.REFUSED_WRITER,
            )
        try:
            self.writer.check_space()
        except RecordingError as error:
            return False, str(error), refused.REFUSED_WRITER
        # Publishers may still be coming up (a graph just launched): wait up to topic_timeout
        # for missing ones; the DDS graph cache updates without spinning. A wrong type will
        # not fix itself.
        deadline = time.monotonic() + self.topic_timeout
        missing, mismatched = self.graph_problems()
        while missing and not mismatched and time.monotonic() < deadline:
            time.sleep(0.1)
            missing, mismatched = self.graph_problems()
        if missing or mismatched:
            return (
                False,
                "the graph does not match the feature mapping: " + "; ".join(mismatched + missing),
                refused.REFUSED_INPUTS_MISMATCH if mismatched else refused.REFUSED_INPUTS_MISSING,
            )
        self.task = task or self.default_task
        self.sampler.begin()
        self.recording, self.episode_frames = True, 0
        self.publish_status()
        return (
            True,
            f"recording episode {self.writer.next_episode_index}: {self.task!r}",
            refused.NOT_REFUSED,
        )

    def stop_episode(self, save: bool) -> tuple[bool, str]:
        if not self.recording:
            return False, "no episode is being recorded"
        self.on_poll()
        self.sampler.end()
        self.recording = False
        index = self.writer.next_episode_index
        try:
            if save and self.episode_frames:
                self.writer.save_episode()
                message = f"saving episode {index} ({self.episode_frames} frames)"
            else:
                self.writer.discard_episode()
                message = f"discarded {self.episode_frames} frames" + (
                    "" if not save else " (empty episode)"
                )
        except RecordingError as error:
            return False, str(error)
        finally:
            self.publish_status()
        return True, message

    def on_start(
        self, request: StartEpisode.Request, response: StartEpisode.Response
    ) -> StartEpisode.Response:
        response.success, response.message, response.refusal = self.start_episode(request.task)
        response.episode_index = self.writer.next_episode_index
        self._log_result("start", response.success, response.message)
        return response

    def on_stop(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        response.success, response.message = self.stop_episode(save=True)
        self._log_result("stop", response.success, response.message)
        return response

    def on_discard(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        response.success, response.message = self.stop_episode(save=False)
        self._log_result("discard", response.success, response.message)
        return response

    def _log_result(self, what: str, success: bool, message: str) -> None:
        if success:
            self.get_logger().info(message)
        else:
            self.get_logger().error(f"{what} refused: {message}")

    def on_task_status(self, msg: TaskStatus) -> None:
        if self.recording and msg.episode_index == self.status_episode:
            if msg.success or msg.truncated:
                self.stop_episode(save=True)
        elif (
            not self.recording
            and msg.episode_index != self.status_episode
            and not (msg.success or msg.truncated)
        ):
            self.status_episode = msg.episode_index
            success, message, _ = self.start_episode(self.default_task)
            if not success:
                self.get_logger().error(f"auto start refused: {message}", throttle_duration_sec=2.0)

    # --- sampling --------------------------------------------------------------------------
    def on_poll(self) -> None:
        if not self.recording:
            return
        now = self.get_clock().now().nanoseconds / 1e9
        for frame in self.sampler.poll(now):
            try:
                self.writer.add_frame(frame, self.task)
                self.episode_frames += 1
            except RecordingError as error:
                self.dropped_frames += 1
                self.get_logger().error(str(error), throttle_duration_sec=1.0)
        if self.writer.state.failed:
            self.recording = False
            self.sampler.end()
            self.get_logger().error(f"recording stopped: {self.writer.state.last_error}")
            self.publish_status()

    def publish_status(self) -> None:
        state = self.writer.state
        msg = RecorderStatus(
            dataset_root=str(self.writer.root),
            episode_index=self.writer.next_episode_index,
            frames=self.episode_frames,
            saved_episodes=state.saved_episodes,
            saving=state.pending_saves,
            skipped_ticks=sum(self.sampler.skipped.values()),
            dropped_frames=self.dropped_frames,
            task=self.task,
            last_error=state.last_error,
        )
        msg.state = (
            RecorderStatus.FAILED
            if state.failed
            else RecorderStatus.RECORDING
            if self.recording
            else RecorderStatus.IDLE
        )
        msg.header.stamp = self.get_clock().now().to_msg()
        self.status_pub.publish(msg)

    def destroy_node(self) -> None:
        writer = getattr(self, "writer", None)
        if writer is not None:
            if self.recording:  # an unfinished episode is not saved (see the docstring)
                writer.discard_episode()
            writer.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    return run_node("recorder_node", RecorderNode, EventsExecutor, args)


if __name__ == "__main__":
    sys.exit(main())
