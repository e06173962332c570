"""Raw speed of the simulation core: physics step rate and per-camera render time.

Run ``MUJOCO_GL=egl python bench/bench_sim_core.py [seconds]``; ``measure_core`` is also
imported by other benchmarks. Expert actions drive the arm so contacts (grasp, lift) are part
of the measured physics, as in a real episode.
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("MUJOCO_GL", "egl")

from lerobot_ros.sim.expert import ScriptedPickExpert  # noqa: E402
from lerobot_ros.sim.pick_cube import PickCubeSim, SimConfig  # noqa: E402


def measure_core(seconds: float = 3.0) -> dict:
    """Spend about ``seconds`` stepping physics and half that rendering each camera."""
    sim = PickCubeSim(SimConfig())
    expert = ScriptedPickExpert(sim.config.control_hz)
    # Precompute an episode of expert targets so IK time is not counted as physics time.
    sim.reset(seed=0)
    actions = []
    for _ in range(sim.config.max_episode_steps):
        position, quaternion = sim.cube_pose()
        actions.append(
            sim.set_joint_targets(expert.act(sim.joint_positions(), position, quaternion))
        )
        sim.step()

    control_steps = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        sim.reset(seed=0)
        for action in actions:
            sim.set_joint_targets(action)
            sim.step()
            control_steps += 1
    physics_elapsed = time.perf_counter() - start

    result: dict = {
        "image_size": [sim.config.image_width, sim.config.image_height],
        "control_hz": sim.config.control_hz,
        "physics_dt": float(sim.model.opt.timestep),
        "control_steps_per_s": control_steps / physics_elapsed,
        "control_step_ms": 1000.0 * physics_elapsed / control_steps,
        "physics_steps_per_s": control_steps * sim.substeps / physics_elapsed,
        "realtime_factor": control_steps / sim.config.control_hz / physics_elapsed,
        "render_ms": {},
        "render_hz": {},
    }
    sim.reset(seed=0)
    for camera in sim.camera_names:
        sim.render(camera)  # warm up: GL context and texture uploads
        frames = 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds / 2:
            sim.render(camera)
            frames += 1
        elapsed = time.perf_counter() - start
        result["render_ms"][camera] = 1000.0 * elapsed / frames
        result["render_hz"][camera] = frames / elapsed
    # One full control tick of the simulation as sim_node does it, without ROS: step,
    # task state, both cameras. CPU time (all threads), the same measure as the node's.
    ticks = 0
    sim.reset(seed=0)
    cpu_start, start = time.process_time(), time.perf_counter()
    while time.perf_counter() - start < seconds:
        sim.set_joint_targets(actions[ticks % len(actions)])
        sim.step()
        sim.task_state()
        for camera in sim.camera_names:
            sim.render(camera)
        ticks += 1
    result["tick_cpu_ms"] = 1000.0 * (time.process_time() - cpu_start) / ticks
    sim.close()
    return result


if __name__ == "__main__":
    duration = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    print(json.dumps(measure_core(duration), indent=2))
