"""Recording benchmark, measured in one run on this machine (not a test: no pass/fail).

Reports
  1. live recording: sim_node (two 224x224 cameras + joints at 30 Hz) driven by the scripted
     expert, recorder_node writing one LeRobotDataset episode of ``--seconds`` of sim time
     (default 300 s = 5 min): frames written vs duration x fps (dropped = the difference),
     skipped ticks, and the recorder's CPU per frame against LeRobot's dataset writer alone
     (the same writer, in-process, fed rendered frames of the same scene: the raw cost);
  2. bag conversion: the recording written back as an MCAP bag (dataset2bag), then
     bag2dataset's frames/s for each codec (LeRobot's default, and h264) against LeRobot's
     own LeRobotDataset fed as many rendered frames of the same scene, with the same encoding
     (wall frames/s), and reading and deserializing the same bag alone (the I/O floor).

    .venv/bin/python bench/bench_recording.py [--seconds 300] [--json bench/results/recording.json]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench_report import machine, write_result  # noqa: E402
from lerobot.configs.video import RGBEncoderConfig  # noqa: E402
from rosgraph_msgs.msg import Clock  # noqa: E402

from lerobot_ros.datasets import bags  # noqa: E402
from lerobot_ros.datasets.recording import (  # noqa: E402
    DatasetWriter,
    RecordingError,
    video_encoding,
)
from lerobot_ros.features.mapping import load_mapping  # noqa: E402
from lerobot_ros.orchestration.graphs import recorder_node, scripted_teleop_node, sim_node  # noqa: E402
from lerobot_ros.orchestration.ros_record import episode_lengths  # noqa: E402
from lerobot_ros.orchestration.runner import GraphSession  # noqa: E402
from lerobot_ros.resources import config_path  # noqa: E402
from lerobot_ros.ros import conversions, topics  # noqa: E402
from lerobot_ros.ros.recorder_client import RecorderClient  # noqa: E402
from lerobot_ros.ros.sim_client import spin_until  # noqa: E402

WORK = Path("build/bench/recording")
# LeRobot's default codec first (the recorder's and bag2dataset's default), then the fast one.
DEFAULT_VCODEC = RGBEncoderConfig().vcodec
VCODECS = (DEFAULT_VCODEC, "h264")
FPS = 30
REPO_ID = "bench/recording"


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def live_recording(seconds: float) -> dict:
    root = WORK / "live"
    shutil.rmtree(root, ignore_errors=True)
    graph = [
        sim_node(max_episode_steps=10**7),
        scripted_teleop_node(use_sim_time=True),
        recorder_node(root=str(root.resolve()), repo_id=REPO_ID),
    ]
    session = GraphSession(graph, WORK / "logs", node_name="bench_recording", use_sim_time=True)
    node, executor = session.node, session.executor
    recorder_pid = session.processes[2].process.pid
    clock: list[float] = []
    node.create_subscription(
        Clock, topics.CLOCK, lambda m: clock.append(conversions.time_to_seconds(m.clock)), 10
    )
    client = RecorderClient(node, executor, timeout=60)
    try:
        assert spin_until(executor, lambda: client.status is not None and clock, 120)
        response = client.start("pick up the cube")
        assert response.success, response.message
        start_sim, start_wall = clock[-1], time.monotonic()
        start_cpu = process_cpu_seconds(recorder_pid)
        spin_until(executor, lambda: clock[-1] - start_sim >= seconds, seconds * 3 + 60)
        sim_elapsed, wall = clock[-1] - start_sim, time.monotonic() - start_wall
        response = client.stop()
        assert response.success, response.message
        assert client.wait_saved(1, timeout=600), client.status
        cpu = process_cpu_seconds(recorder_pid) - start_cpu  # recording + the final save
        skipped, dropped = client.status.skipped_ticks, client.status.dropped_frames
    finally:
        session.close()
    frames = episode_lengths(root)[0]
    expected = round(sim_elapsed * FPS)
    return {
        "sim_seconds": sim_elapsed,
        "wall_seconds": wall,
        "real_time_factor": sim_elapsed / wall,
        "frames": frames,
        "expected_frames": expected,
        # Lost between sampling and disk (writer queue full) or ticks without a complete
        # observation; frames vs expected also differ by the start/stop instants (+-1).
        "dropped_frames": dropped,
        "skipped_ticks": skipped,
        "recorder_cpu_s": cpu,
        "recorder_cpu_ms_per_frame": 1000 * cpu / max(frames, 1),
        "recorder_cpu_share_of_a_core": cpu / wall,
        "root": str(root),
    }


def rendered_frames() -> list[dict]:
    """10 s of the expert's motion in the same scene, rendered as the sim_node renders it."""
    import numpy as np

    from lerobot_ros.sim.expert import ScriptedPickExpert
    from lerobot_ros.sim.pick_cube import PickCubeSim, SimConfig

    sim, expert = PickCubeSim(SimConfig()), ScriptedPickExpert()
    sim.reset(0)
    rendered = []
    for _ in range(300):  # 10 s at 30 fps
        q = sim.joint_positions()
        cube_position, cube_quaternion = sim.cube_pose()
        action = expert.act(q, cube_position, cube_quaternion)
        sim.set_joint_targets(action)
        sim.step()
        rendered.append(
            {
                "observation.state": q.astype(np.float32),
                "observation.environment_state": np.concatenate(
                    [cube_position, cube_quaternion]
                ).astype(np.float32),
                "observation.images.front": sim.render("front"),
                "observation.images.wrist": sim.render("wrist"),
                "action": np.asarray(action, dtype=np.float32),
            }
        )
    sim.close()
    return rendered


def writer_alone(rendered: list[dict], frames: int) -> dict:
    """LeRobot's writer (through DatasetWriter, the recorder's encoding) fed ``frames`` of
    ``rendered``, cycled."""
    root = WORK / "writer_alone"
    shutil.rmtree(root, ignore_errors=True)
    mapping = load_mapping(config_path("features/panda_pick_cube.yaml"))
    writer = DatasetWriter(root, REPO_ID, FPS, mapping.lerobot_features(), min_free_mb=1).open()
    start_cpu, start = time.process_time(), time.monotonic()

    def when_room(put) -> None:  # noqa: ANN001
        while True:  # the queue is bounded: wait for room rather than count a drop
            try:
                return put()
            except RecordingError:
                time.sleep(0.005)

    for i in range(frames):
        when_room(lambda i=i: writer.add_frame(dict(rendered[i % len(rendered)]), "pick up"))
    when_room(writer.save_episode)
    writer.wait_idle(600)
    cpu, wall = time.process_time() - start_cpu, time.monotonic() - start
    writer.close()
    return {
        "frames": frames,
        "cpu_s": cpu,
        "cpu_ms_per_frame": 1000 * cpu / frames,
        "wall_s": wall,
        "frames_per_s": frames / wall,
    }


def lerobot_alone(rendered: list[dict], frames: int, vcodec: str) -> dict:
    """LeRobotDataset itself (no queue, no thread of ours), encoding as bag2dataset does, fed
    ``frames`` of ``rendered``, cycled, as one episode."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    root = WORK / f"lerobot_alone_{vcodec}"
    shutil.rmtree(root, ignore_errors=True)
    features = load_mapping(config_path("features/panda_pick_cube.yaml")).lerobot_features()
    start = time.monotonic()
    dataset = LeRobotDataset.create(
        REPO_ID, fps=FPS, features=features, root=root, **video_encoding(vcodec, streaming=False)
    )
    for i in range(frames):
        dataset.add_frame({**rendered[i % len(rendered)], "task": "pick up"})
    dataset.save_episode()
    dataset.finalize()
    wall = time.monotonic() - start
    return {"vcodec": vcodec, "frames": frames, "wall_s": wall, "frames_per_s": frames / wall}


def bag_conversion(root: Path, alone_by_codec: dict[str, dict]) -> dict:
    mapping = load_mapping(config_path("features/panda_pick_cube.yaml"))
    bag = WORK / "bag"
    shutil.rmtree(bag, ignore_errors=True)
    start = time.monotonic()
    written = bags.dataset2bag(root, REPO_ID, mapping, bag)
    dataset2bag_s = time.monotonic() - start
    start = time.monotonic()
    messages = bags.read_bag(bag, mapping)
    read_s = time.monotonic() - start
    by_codec = {}
    for vcodec, alone in alone_by_codec.items():
        converted_root = WORK / f"from_bag_{vcodec}"
        shutil.rmtree(converted_root, ignore_errors=True)
        start = time.monotonic()
        summary = bags.bag2dataset(bag, mapping, converted_root, REPO_ID, vcodec=vcodec)
        convert_s = time.monotonic() - start
        rate = summary["frames"] / convert_s
        by_codec[vcodec] = {
            "frames": summary["frames"],
            "seconds": convert_s,
            "frames_per_s": rate,
            "lerobot_alone_frames_per_s": alone["frames_per_s"],
            "vs_lerobot_alone": rate / alone["frames_per_s"],
        }
    return {
        "bag_frames": written["frames"],
        "dataset2bag_s": dataset2bag_s,
        "messages": messages,
        "read_s": read_s,
        "read_frames_per_s": written["frames"] / read_s,
        "by_codec": by_codec,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=300.0, help="sim time recorded")
    parser.add_argument("--json", type=Path, default=Path("bench/results/recording.json"))
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    live = live_recording(args.seconds)
    rendered = rendered_frames()
    alone = writer_alone(rendered, live["frames"])
    by_codec = {codec: lerobot_alone(rendered, live["frames"], codec) for codec in VCODECS}
    conversion = bag_conversion(Path(live["root"]), by_codec)
    result = {
        "machine": machine(),
        "live": live,
        "writer_alone": alone,
        "recorder_cpu_vs_writer_alone": live["recorder_cpu_ms_per_frame"]
        / alone["cpu_ms_per_frame"],
        "bags": conversion,
    }
    write_result(result, args.json)
    print(f"machine: {result['machine']}")
    print(
        f"live: {live['sim_seconds']:.1f} s of sim time (RTF {live['real_time_factor']:.2f}), "
        f"{live['frames']} frames of {live['expected_frames']} expected "
        f"(dropped {live['dropped_frames']}, skipped ticks {live['skipped_ticks']})"
    )
    print(
        f"recorder CPU: {live['recorder_cpu_ms_per_frame']:.2f} ms/frame "
        f"({100 * live['recorder_cpu_share_of_a_core']:.0f}% of a core) vs LeRobot's writer alone "
        f"{alone['cpu_ms_per_frame']:.2f} ms/frame = {result['recorder_cpu_vs_writer_alone']:.2f}x"
    )
    for vcodec, figures in conversion["by_codec"].items():
        print(
            f"bag2dataset {vcodec}: {figures['frames_per_s']:.0f} frames/s vs LeRobotDataset alone "
            f"{figures['lerobot_alone_frames_per_s']:.0f} frames/s = {figures['vs_lerobot_alone']:.2f}x "
            f"(reading the bag alone: {conversion['read_frames_per_s']:.0f} frames/s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
