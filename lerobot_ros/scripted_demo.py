"""The scripted-expert demo over ROS: sim_node in its own process, the expert as a ROS client.

Until the policy eval exists this is what ``make demo`` runs: it brings up the sim graph,
drives several seeded episodes with the scripted expert through the topic contract, and
reports what it saw (success per seed, steps, sim/wall time) plus a front-camera video.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import imageio.v2 as imageio
import rclpy
from rclpy.executors import SingleThreadedExecutor
from sensor_msgs.msg import Image

from lerobot_ros.interfaces import TaskStatus
from lerobot_ros.launching.processes import NodeProcess
from lerobot_ros.nodes.scripted_teleop_node import ScriptedTeleopNode
from lerobot_ros.ros import conversions, qos, topics
from lerobot_ros.ros.network import apply_network_defaults
from lerobot_ros.ros.sim_client import SimClient, spin_until


@dataclass
class EpisodeResult:
    seed: int
    success: bool
    steps: int
    max_reward: float


def run_scripted_demo(
    n_episodes: int, seed: int, output_dir: Path, max_episode_steps: int = 300
) -> dict:
    apply_network_defaults()
    output_dir.mkdir(parents=True, exist_ok=True)
    sim = NodeProcess(
        "lerobot_ros.nodes.sim_node",
        {"max_episode_steps": max_episode_steps, "seed": seed},
        log_path=output_dir / "sim_node.log",
    )
    rclpy.init()
    node = ScriptedTeleopNode()
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    latest: dict[str, TaskStatus] = {}
    frames: list = []
    recording = [False]  # front frames are kept for the first episode only
    node.create_subscription(
        TaskStatus, topics.TASK_STATUS, lambda m: latest.__setitem__("status", m), qos.STATE
    )
    node.create_subscription(
        Image,
        topics.camera_image("front"),
        lambda m: frames.append(conversions.image_to_rgb(m).copy()) if recording[0] else None,
        qos.IMAGE,
    )
    results: list[EpisodeResult] = []
    wall_start = time.monotonic()
    try:
        sim.start()
        client = SimClient(node, executor, timeout=60.0)
        for episode in range(n_episodes):
            response = client.reset(seed + episode)
            recording[0] = episode == 0
            max_reward = 0.0

            def finished(episode_index: int = response.episode_index) -> bool:
                status = latest.get("status")
                if status is None or status.episode_index != episode_index:
                    return False
                nonlocal max_reward
                max_reward = max(max_reward, status.reward)
                return status.success or status.truncated

            if not spin_until(executor, finished, timeout=max_episode_steps / 30.0 * 4 + 30):
                raise TimeoutError(
                    f"episode {episode} did not finish: is sim_node alive? see {sim.log_path}"
                )
            status = latest["status"]
            results.append(
                EpisodeResult(
                    int(response.seed), bool(status.success), int(status.step), max_reward
                )
            )
            print(
                f"episode {episode}: seed {response.seed} success={status.success} steps={status.step}"
            )
        recording[0] = False
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
        sim.stop()
    video_path = output_dir / "episode_0_front.mp4"
    if frames:
        imageio.mimsave(video_path, frames, fps=30)
    summary = {
        "n_episodes": n_episodes,
        "pc_success": 100.0 * sum(r.success for r in results) / max(1, len(results)),
        "episodes": [asdict(r) for r in results],
        "wall_s": time.monotonic() - wall_start,
        "video": str(video_path) if frames else None,
    }
    (output_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
