"""``eval_node``: seeded evaluation episodes of whatever policy drives the graph.

Serves the ``/evaluate`` action (lerobot_ros/action/EvaluatePolicy): for each
episode it resets the policy (``/policy/reset``, when there is one) and the task with the
episode's seed, follows ``/task/status`` until success or the step limit, and reports
LeRobot's eval metrics, with per-episode feedback. It only talks ROS, so it evaluates a sim
on this machine or another one alike. Files (``eval_info.json``, videos, plot) go to the
goal's ``output_dir``.
"""

from __future__ import annotations

import json
import math
import sys
import threading
import time
from pathlib import Path

from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.experimental import EventsExecutor
from rclpy.node import Node
from sensor_msgs.msg import Image

from lerobot_ros.evaluation.metrics import EpisodeRecord, eval_info
from lerobot_ros.evaluation.report import (
    VIDEO_CAMERA,
    write_eval_info,
    write_plot,
    write_video,
)
from lerobot_ros.interfaces import (
    EvaluatePolicy,
    PolicyStatus,
    ResetEpisode,
    ResetPolicy,
    TaskStatus,
)
from lerobot_ros.ros import conversions, qos, topics
from lerobot_ros.ros.node_main import run_node
from lerobot_ros.ros.sim_client import DISCOVERY_SETTLE_S
from lerobot_ros.sim.episodes import STEP_LIMIT, episode_end

DEFAULT_EPISODE_TIMEOUT_S = 120.0
SEED_MAX = 2**63 - 1  # seeds are int64 on the wire


class EvalNode(Node):
    def __init__(self, **node_kwargs: object) -> None:
        super().__init__("eval_node", **node_kwargs)
        self._condition = threading.Condition()
        self._statuses: dict[int, dict[int, TaskStatus]] = {}  # episode -> step -> status
        self._frames: dict[int, object] = {}  # stamp (ns) -> image, while recording
        self._recording = False
        # Statuses arrive at the loop's full rate (hundreds per second in lockstep): they and
        # the service clients live on a companion node spun by a cheap events executor in its
        # own thread, so the multi-threaded executor of the action server stays idle.
        # Its own name, as a local remap: a global `-r __node:=x` (ros2 launch renames every
        # node that way) would otherwise rename it too, and two nodes would share a name.
        io_name = f"{self.get_name()}_io"
        self.io = Node(
            io_name, context=self.context, cli_args=["--ros-args", "-r", f"__node:={io_name}"]
        )
        self._stopping = threading.Event()  # the node is going away: end any wait at once
        self.io.create_subscription(TaskStatus, topics.TASK_STATUS, self.on_status, qos.TASK_STATUS)
        self._policy_problem = ""  # the policy's no_input reason: the episode cannot progress
        self.io.create_subscription(
            PolicyStatus, topics.POLICY_STATUS, self.on_policy_status, qos.STATE
        )
        self._image_subscription = None  # only while an episode is recorded: images are heavy
        self.reset_client = self.io.create_client(ResetEpisode, topics.TASK_RESET)
        self.policy_reset_client = self.io.create_client(ResetPolicy, topics.POLICY_RESET)
        self._io_executor = EventsExecutor(context=self.context)
        self._io_executor.add_node(self.io)
        self._io_thread = threading.Thread(target=self._spin_io, name="eval_io", daemon=True)
        self._io_thread.start()
        self._busy = False
        ActionServer(
            self,
            EvaluatePolicy,
            topics.EVALUATE,
            execute_callback=self.execute,
            goal_callback=self.on_goal,
            cancel_callback=lambda _: CancelResponse.ACCEPT,
            callback_group=ReentrantCallbackGroup(),
        )

    def _spin_io(self) -> None:
        while self.context.ok() and not self._stopping.is_set():
            try:
                self._io_executor.spin_once(timeout_sec=0.1)
            except ExternalShutdownException:
                return

    def stop_work(self) -> None:
        """Shutting down (node_main.tear_down): a running goal ends as interrupted."""
        self._stopping.set()
        with self._condition:
            self._condition.notify_all()

    def destroy_node(self) -> None:
        self.stop_work()
        self._io_thread.join(timeout=5.0)  # out of spin_once before its executor goes
        self._io_executor.shutdown(timeout_sec=5.0)  # never hang a clean exit on the io thread
        self.io.destroy_node()
        super().destroy_node()

    # --- inputs ---------------------------------------------------------------------------
    def on_status(self, msg: TaskStatus) -> None:
        with self._condition:
            self._statuses.setdefault(msg.episode_index, {})[msg.step] = msg
            self._condition.notify_all()

    def on_policy_status(self, msg: PolicyStatus) -> None:
        problem = msg.reason if msg.state == "no_input" else ""
        if problem != self._policy_problem:
            with self._condition:
                self._policy_problem = problem
                self._condition.notify_all()

    def _subscribe_images(self, on: bool, camera: str = VIDEO_CAMERA) -> None:
        """Images are heavy: subscribed only while episodes are recorded."""
        if on and self._image_subscription is None:
            self._image_subscription = self.io.create_subscription(
                Image, topics.camera_image(camera), self.on_image, qos.IMAGE
            )
            # Matched both ways before the first reset, or the first frames are lost.
            deadline = time.monotonic() + 5.0
            while (
                self._image_subscription.get_publisher_count() == 0 and time.monotonic() < deadline
            ):
                time.sleep(0.05)
            time.sleep(0.3)
        elif not on and self._image_subscription is not None:
            self.io.destroy_subscription(self._image_subscription)
            self._image_subscription = None

    def on_image(self, msg: Image) -> None:
        if self._recording:
            stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
            self._frames[stamp] = conversions.image_to_rgb(msg).copy()

    # --- goal handling --------------------------------------------------------------------
    def on_goal(self, goal: EvaluatePolicy.Goal) -> GoalResponse:
        if self._busy:
            self.get_logger().error("rejected an eval goal: an eval is already running")
            return GoalResponse.REJECT
        return GoalResponse.ACCEPT

    def _call(self, client, request, timeout: float):  # noqa: ANN001, ANN202
        if not client.wait_for_service(timeout_sec=timeout):
            return None
        future = client.call_async(request)
        done = threading.Event()
        future.add_done_callback(lambda _: done.set())
        deadline = time.monotonic() + timeout
        while (  # Ctrl-C ends the wait
            self.context.ok() and not self._stopping.is_set() and time.monotonic() < deadline
        ):
            if done.wait(0.5):
                return future.result()
        client.remove_pending_request(future)
        return None

    def _wait_episode_end(self, episode: int, max_steps: int, timeout: float, goal_handle) -> str:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                steps = self._statuses.get(episode, {})
                if steps:
                    last = steps[max(steps)]
                    # The sim's verdict (truncated) for its own limit; the goal's limit too.
                    end = episode_end(last.step, max_steps, last.success)
                    if end is not None or last.truncated:
                        return end or STEP_LIMIT
                if self._policy_problem:
                    return "policy_input_missing"
                # Cancelled, or the node is shutting down (Ctrl-C): stop waiting at once.
                if (
                    goal_handle.is_cancel_requested
                    or self._stopping.is_set()
                    or not self.context.ok()
                ):
                    return "interrupted"
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return "timeout"
                self._condition.wait(min(remaining, 0.5))

    def execute(self, goal_handle) -> EvaluatePolicy.Result:  # noqa: ANN001
        self._busy = True
        try:
            return self._evaluate(goal_handle)
        finally:
            self._busy = False
            self._recording = False
            self._subscribe_images(False)

    def _evaluate(self, goal_handle) -> EvaluatePolicy.Result:  # noqa: ANN001
        goal = goal_handle.request
        n_episodes = max(1, goal.n_episodes)
        timeout = goal.episode_timeout_s or DEFAULT_EPISODE_TIMEOUT_S
        output_dir = Path(goal.output_dir) if goal.output_dir else None
        result = EvaluatePolicy.Result()
        problem = self._goal_problem(goal, n_episodes, output_dir)
        if problem is not None:
            result.message = problem
            self.get_logger().error(f"aborted an eval goal: {problem}")
            goal_handle.abort()
            return result
        episodes: list[EpisodeRecord] = []
        video_paths: list[str] = []
        messages: list[str] = []
        have_policy_reset = self.policy_reset_client.wait_for_service(timeout_sec=2.0)
        if not have_policy_reset:
            self.get_logger().warning(
                f"no {topics.POLICY_RESET} service: policies are not reset between episodes"
            )
        if self.reset_client.wait_for_service(timeout_sec=10.0):
            time.sleep(DISCOVERY_SETTLE_S)  # response channels matched too (see sim_client)
        started = time.time()
        for i in range(n_episodes):
            seed = goal.start_seed + i
            have_policy_reset = have_policy_reset or self.policy_reset_client.service_is_ready()
            if (
                have_policy_reset
                and self._call(
                    self.policy_reset_client, ResetPolicy.Request(use_seed=True, seed=seed), 10.0
                )
                is None
            ):
                messages.append(f"episode {i}: {topics.POLICY_RESET} did not answer")
            self._frames = {}
            self._recording = output_dir is not None and i < goal.n_videos
            self._subscribe_images(self._recording, goal.video_camera or VIDEO_CAMERA)
            request = ResetEpisode.Request(
                use_seed=True, seed=seed, max_episode_steps=goal.max_episode_steps
            )
            response = None
            for _ in range(3):  # a lost answer is retried: a repeated reset is harmless
                response = self._call(self.reset_client, request, 10.0)
                if response is not None:
                    break
            if response is None or not response.success:
                result.message = f"episode {i}: {topics.TASK_RESET} failed ({getattr(response, 'message', 'no answer')})"
                self.get_logger().error(result.message)
                goal_handle.abort()
                return self._finish(result, episodes, started, video_paths, output_dir, messages)
            max_steps = goal.max_episode_steps or 10**9
            end = self._wait_episode_end(response.episode_index, max_steps, timeout, goal_handle)
            with self._condition:
                steps = dict(self._statuses.pop(response.episode_index, {}))
            record = EpisodeRecord(seed=seed, end=end)
            record.rewards = [steps[s].reward for s in sorted(steps) if 1 <= s <= max_steps]
            record.success = any(steps[s].success for s in steps if 1 <= s <= max_steps)
            missing = [s for s in range(1, (max(steps) if steps else 0) + 1) if s not in steps]
            if missing:
                messages.append(f"episode {i}: {len(missing)} step statuses were not received")
            if end in ("timeout", "interrupted"):
                messages.append(f"episode {i} (seed {seed}): {end} after {record.steps} steps")
            if end == "policy_input_missing":
                result.message = f"episode {i} (seed {seed}): the policy is missing inputs: {self._policy_problem}"
                self.get_logger().error(result.message)
                goal_handle.abort()
                return self._finish(result, episodes, started, video_paths, output_dir, messages)
            episodes.append(record)
            if self._recording:
                self._recording = False
                stamps = {
                    s.header.stamp.sec * 1_000_000_000 + s.header.stamp.nanosec
                    for s in steps.values()
                }
                frames = [self._frames[t] for t in sorted(self._frames) if t in stamps]
                if frames:
                    video_paths.append(
                        str(write_video(frames, output_dir / "videos" / f"eval_episode_{i}.mp4"))
                    )
            feedback = EvaluatePolicy.Feedback(
                episodes_done=i + 1,
                episode_index=i,
                seed=seed,
                episode_success=record.success,
                sum_reward=record.sum_reward,
                max_reward=record.max_reward,
                steps=record.steps,
                running_pc_success=100.0 * sum(e.success for e in episodes) / len(episodes),
            )
            goal_handle.publish_feedback(feedback)
            if end == "interrupted":
                if goal_handle.is_cancel_requested:
                    goal_handle.canceled()
                    result.message = "canceled"
                else:  # the node is shutting down: a goal can only be canceled when asked
                    goal_handle.abort()
                    result.message = "interrupted: eval_node is shutting down"
                return self._finish(result, episodes, started, video_paths, output_dir, messages)
        complete = all(e.end in ("success", "step_limit") for e in episodes)
        result.success = complete
        goal_handle.succeed()
        return self._finish(result, episodes, started, video_paths, output_dir, messages)

    @staticmethod
    def _goal_problem(goal, n_episodes: int, output_dir: Path | None) -> str | None:  # noqa: ANN001
        """Why a goal cannot run as asked (None: it can), before any episode is spent."""
        if goal.start_seed + n_episodes - 1 > SEED_MAX:
            return (
                f"start_seed {goal.start_seed} + {n_episodes} episodes runs past the largest "
                f"seed ({SEED_MAX})"
            )
        if goal.video_camera and not goal.video_camera.isidentifier():
            return f"video_camera must be a camera name like front, got {goal.video_camera!r}"
        if not math.isfinite(goal.episode_timeout_s) or goal.episode_timeout_s < 0:
            return (
                f"episode_timeout_s must be >= 0 s (0: {DEFAULT_EPISODE_TIMEOUT_S:g} s), got "
                f"{goal.episode_timeout_s}"
            )
        if output_dir is not None:
            try:
                output_dir.mkdir(parents=True, exist_ok=True)
                (output_dir / ".write_test").touch()
                (output_dir / ".write_test").unlink()
            except OSError as error:
                return f"output_dir {str(output_dir)!r} is not a writable directory: {error}"
        return None

    def _finish(self, result, episodes, started, video_paths, output_dir, messages):  # noqa: ANN001, ANN202
        info = eval_info(episodes, time.time() - started, video_paths)
        if messages:
            info["messages"] = messages
        aggregated = info["aggregated"]
        result.pc_success = aggregated["pc_success"]
        result.avg_sum_reward = aggregated["avg_sum_reward"]
        result.avg_max_reward = aggregated["avg_max_reward"]
        result.eval_s = aggregated["eval_s"]
        result.eval_info_json = json.dumps(info)
        if not result.message:
            result.message = (
                "; ".join(messages) if messages else f"{len(episodes)} episodes evaluated"
            )
        if output_dir is not None and episodes:
            write_eval_info(info, output_dir)
            write_plot(info, output_dir / "eval_plot.png")
        return result


def main(args: list[str] | None = None) -> int:
    return run_node("eval_node", EvalNode, lambda: MultiThreadedExecutor(num_threads=2), args)


if __name__ == "__main__":
    sys.exit(main())
