"""``lerobot-ros eval``: bring up the eval graph, run the /evaluate action, report.

The graph (sim_node, policy_node, eval_node) comes from ``lerobot_ros.orchestration.graphs``, each node in
its own process over localhost DDS; this process is only an action client, exactly as a
user's client on another machine would be.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from rclpy.action import ActionClient
from tqdm import tqdm

from lerobot_ros.interfaces import EvaluatePolicy, PolicyStatus
from lerobot_ros.orchestration.graphs import NodeSpec, eval_sim_graph, video_camera
from lerobot_ros.orchestration.runner import GraphSession
from lerobot_ros.ros import qos, topics
from lerobot_ros.ros.action_handshake import handshake_action_server
from lerobot_ros.ros.sim_client import spin_until
from lerobot_ros.sim.pick_cube import MAX_EPISODE_STEPS


@dataclass
class EvalRequest:
    policy: str = ""  # "" = the shipped policy
    n_episodes: int = 10
    seed: int = 0
    output_dir: Path = Path("outputs/eval")
    n_videos: int = 2
    max_episode_steps: int = MAX_EPISODE_STEPS
    realtime: bool = False
    episode_timeout_s: float = 120.0
    # Rendered by the sim; None: those the policy takes (graphs.policy_cameras).
    cameras: tuple[str, ...] | None = None
    video_camera: str = ""  # "": the front camera if rendered, else the first one


class EvalFailed(RuntimeError):
    pass


class EvalGraph(GraphSession):
    """A running eval graph and an /evaluate action client: ``evaluate()`` any number of
    times, then ``close()`` (or use it as a context manager)."""

    def __init__(self, graph: list[NodeSpec], log_dir: Path, ready_timeout_s: float = 180) -> None:
        super().__init__(graph, log_dir, node_name="lerobot_ros_eval_client")
        self.has_policy = any(spec.name == "policy_node" for spec in graph)
        self.client = ActionClient(self.node, EvaluatePolicy, topics.EVALUATE)
        policy_states: list[str] = []
        self.node.create_subscription(
            PolicyStatus, topics.POLICY_STATUS, lambda m: policy_states.append(m.state), qos.STATE
        )
        try:
            deadline = time.monotonic() + ready_timeout_s
            # Ready = the action server is up and the policy is active: in lockstep, an
            # episode whose first observation the policy missed would never take a step.
            # (Active but missing an input: the goal fails at once, naming it.)
            while not (
                self.client.server_is_ready()
                and (not self.has_policy or set(policy_states) & {"waiting", "acting", "no_input"})
            ):
                problem = self.first_dead()
                if problem:
                    raise EvalFailed(f"the eval graph did not come up: {problem}")
                if time.monotonic() > deadline:
                    raise EvalFailed(
                        f"no {topics.EVALUATE} action server and active policy after "
                        f"{ready_timeout_s:g} s"
                    )
                self.executor.spin_once(timeout_sec=0.1)
            if not handshake_action_server(
                self.node, self.executor, topics.EVALUATE, max(deadline - time.monotonic(), 5.0)
            ):
                raise EvalFailed(f"the {topics.EVALUATE} action server does not answer requests")
        except BaseException:
            self.close()
            raise

    def evaluate(self, request: EvalRequest, show_progress: bool = True) -> dict:
        """One /evaluate goal; returns eval_info. EvalFailed if it fails or a node dies."""
        request.output_dir.mkdir(parents=True, exist_ok=True)
        goal = EvaluatePolicy.Goal(
            n_episodes=request.n_episodes,
            start_seed=request.seed,
            max_episode_steps=request.max_episode_steps,
            n_videos=request.n_videos,
            video_camera=request.video_camera,
            output_dir=str(request.output_dir.resolve()),
            episode_timeout_s=request.episode_timeout_s,
        )
        progress = tqdm(
            total=request.n_episodes, desc="eval", unit="episode", disable=not show_progress
        )

        def on_feedback(message) -> None:  # noqa: ANN001
            feedback = message.feedback
            progress.update(feedback.episodes_done - progress.n)
            progress.set_postfix(
                seed=feedback.seed,
                success=feedback.episode_success,
                pc=f"{feedback.running_pc_success:.0f}%",
            )

        send = self.client.send_goal_async(goal, feedback_callback=on_feedback)
        if not spin_until(self.executor, send.done, 60):
            raise EvalFailed(
                f"no answer to the eval goal in 60 s (eval_node's log: {self.log_dir})"
            )
        handle = send.result()
        if not handle.accepted:
            raise EvalFailed("the eval goal was rejected (is another eval running?)")
        result_future = handle.get_result_async()
        deadline = time.monotonic() + request.n_episodes * (request.episode_timeout_s + 30) + 60
        while not result_future.done():
            problem = self.first_dead()
            if problem:
                raise EvalFailed(f"a node of the eval graph died: {problem}")
            if (
                not spin_until(self.executor, result_future.done, 1.0)
                and time.monotonic() > deadline
            ):
                raise EvalFailed("the eval did not finish in time")
        progress.close()
        result = result_future.result().result
        info = json.loads(result.eval_info_json) if result.eval_info_json else {}
        if not result.success:
            raise EvalFailed(f"eval incomplete: {result.message}")
        return info


def run_eval(request: EvalRequest, graph: list[NodeSpec] | None = None) -> dict:
    """Run the whole eval; returns eval_info. EvalFailed if the graph or the goal fails.

    ``graph`` defaults to the policy eval graph of the request; any graph with an
    ``eval_node`` and something commanding the robot works (e.g. the scripted expert).
    """
    request.output_dir.mkdir(parents=True, exist_ok=True)
    if graph is None:
        try:
            graph = eval_sim_graph(
                policy_path=request.policy,
                lockstep=not request.realtime,
                max_episode_steps=request.max_episode_steps,
                cameras=request.cameras,
            )
        except ValueError as error:  # a bad checkpoint, a camera the sim lacks: nothing started
            raise EvalFailed(str(error)) from None
    if not request.video_camera:
        request.video_camera = video_camera(graph)
    with EvalGraph(graph, request.output_dir / "logs") as session:
        return session.evaluate(request)
