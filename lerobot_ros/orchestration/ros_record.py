"""``lerobot-ros record``: bring up the record graph and run N episodes through recorder_node.

Like ``lerobot-record``: each episode is reset (the sim's ``/task/reset`` with seed
``seed + i``; on a real robot, ``reset_time_s`` for the person to set the scene), recorded
until the task reports success or truncation (sim) or ``episode_time_s`` passes, and saved.
The graph comes from ``lerobot_ros.orchestration.graphs.record_graph``, every node in its own process; this
process is only a client of the recorder's services, as ``ros2 service call`` would be.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from lerobot_ros.interfaces import StartEpisode, TaskStatus
from lerobot_ros.orchestration.graphs import record_graph
from lerobot_ros.orchestration.runner import GraphSession
from lerobot_ros.ros import qos, topics
from lerobot_ros.ros.recorder_client import RecorderClient
from lerobot_ros.ros.sim_client import SimClient, spin_until


@dataclass
class RecordRequest:
    root: Path
    repo_id: str
    num_episodes: int = 1
    teleop: str = "scripted"
    teleop_config: str = ""
    task: str = "pick up the cube"
    fps: int = 0  # 0: the mapping's
    mapping: str = ""
    sim: bool = True
    seed: int = 0
    episode_time_s: float = 20.0  # longest episode (sim: also ends on success / truncation)
    reset_time_s: float = 5.0  # real robot: time to reset the scene between episodes
    hardware: dict = field(default_factory=dict)  # graphs.hardware_side options (port, ...)
    log_dir: Path | None = None


class RecordFailed(RuntimeError):
    pass


def episode_lengths(root: Path) -> list[int]:
    """Frames of each saved episode, from the dataset's episode metadata."""
    import pandas as pd

    files = sorted(root.glob("meta/episodes/*/*.parquet"))
    if not files:
        return []
    episodes = pd.concat([pd.read_parquet(f, columns=["episode_index", "length"]) for f in files])
    return [int(n) for n in episodes.sort_values("episode_index")["length"]]


GRAPH_WAIT_S = 60.0


def run_record(request: RecordRequest, announce=print) -> dict:  # noqa: ANN001
    """Record the episodes; returns a summary. RecordFailed on any refusal or dead node."""
    graph = record_graph(
        root=str(Path(request.root).resolve()),
        repo_id=request.repo_id,
        task=request.task,
        mapping=request.mapping,
        fps=request.fps,
        sim=request.sim,
        teleop=request.teleop,
        teleop_config=request.teleop_config,
        **request.hardware,
    )
    log_dir = request.log_dir or Path(request.root).resolve().parent / "logs"
    session = GraphSession(graph, log_dir, node_name="lerobot_ros_record_client")
    node, executor = session.node, session.executor
    recorder = RecorderClient(node, executor, timeout=60.0)
    sim = SimClient(node, executor, timeout=60.0) if request.sim else None
    statuses: list[TaskStatus] = []
    node.create_subscription(TaskStatus, topics.TASK_STATUS, statuses.append, qos.TASK_STATUS)

    def check_alive() -> None:
        problem = session.first_dead()
        if problem:
            raise RecordFailed(f"a node of the record graph died: {problem}")

    def wait(condition, seconds: float) -> bool:  # noqa: ANN001
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            check_alive()
            if spin_until(executor, condition, 0.5):
                return True
        return False

    try:
        if not wait(lambda: recorder.status is not None, 180):
            raise RecordFailed("recorder_node did not come up in 180 s")
        first = recorder.status.saved_episodes
        for i in range(request.num_episodes):
            episode = None
            if sim is not None:
                episode = sim.reset(request.seed + i).episode_index
                wait(lambda e=episode: any(s.episode_index == e for s in statuses), 10)
            elif i > 0:
                announce(f"reset the scene: recording episode {i} in {request.reset_time_s:g} s")
                wait(lambda: False, request.reset_time_s)
            started = recorder.start(request.task)
            # A real arm's driver may still be connecting (a few attempts): its topics
            # appear later. Wait for them, as a user would, while every node is alive.
            deadline = time.monotonic() + GRAPH_WAIT_S
            while (
                started.refusal == StartEpisode.Response.REFUSED_INPUTS_MISSING
                and time.monotonic() < deadline
            ):
                wait(lambda: False, 1.0)
                started = recorder.start(request.task)
            if not started.success:
                raise RecordFailed(f"episode {i} refused: {started.message}")

            def ended(e: int | None = episode) -> bool:
                last = next((s for s in reversed(statuses) if s.episode_index == e), None)
                return last is not None and (last.success or last.truncated)

            wait(ended if episode is not None else (lambda: False), request.episode_time_s)
            stopped = recorder.stop()
            if not stopped.success:
                raise RecordFailed(f"episode {i} not saved: {stopped.message}")
            announce(stopped.message)
        if not wait(lambda: recorder.wait_saved(first + request.num_episodes, 0.1), 300):
            raise RecordFailed(f"episodes not written in 300 s: {recorder.status}")
        if recorder.status.last_error:
            raise RecordFailed(f"recorder error: {recorder.status.last_error}")
        return {
            "root": str(Path(request.root).resolve()),
            "episodes": recorder.status.saved_episodes,
            "recorded_now": request.num_episodes,
            "frames_per_episode": episode_lengths(Path(request.root))[first:],
            "logs": str(log_dir),
        }
    finally:
        session.close()
