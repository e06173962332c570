"""The policy on another host, measured in one run (not a test: no pass/fail).

sim_node (both 224x224 cameras) and policy_node (an untrained two-camera ACT, as in
bench_policy) either on one host with the project's defaults (shared memory), or on two
hosts: two network namespaces joined by a veth pair, each pinned to its end by the shipped
multi-host profile (lerobot_ros.emulators.two_hosts). A probe on the policy's host reports:
  1. lockstep: the period of one observation -> action -> step round trip (p50/p99); most
     steps take an action already queued, so the p50 is the transport and the nodes, the
     model's forward shows in the p99. Added latency = two hosts minus one host, at p50;
  2. real time at 30 Hz: camera images per second and image bytes per second reaching the
     policy's host, and commands per second.

Goal (issue #15): <= 2 ms added at p50 with two 224x224 cameras at 30 Hz, and 30 Hz held.
Needs root and iproute2 (``ip netns``).

    .venv/bin/python bench/bench_multihost.py [--seconds 20] [--json bench/results/multihost.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_policy import image_policy_checkpoint  # noqa: E402
from bench_report import machine, write_result  # noqa: E402

from lerobot_ros.emulators.two_hosts import TwoHosts  # noqa: E402
from lerobot_ros.orchestration.processes import NodeProcess  # noqa: E402
from lerobot_ros.ros.network import apply_network_defaults  # noqa: E402
from lerobot_ros.sim.robot import CAMERA_NAMES  # noqa: E402

WORK = Path("build/bench/multihost")
PROBE = Path(__file__).resolve().parents[1] / "test" / "ros_plumbing" / "multihost_probe.py"


def measure(hosts: TwoHosts | None, lockstep: bool, seconds: float, checkpoint: Path) -> dict:
    """One graph, on two hosts (sim on 0, policy and probe on 1) or, ``hosts`` None, on this
    one with the project's defaults; the probe's figures."""
    local = dict(os.environ)
    apply_network_defaults(local)

    def placed(host: int) -> dict:
        if hosts is None:
            return {"env": local}
        return {"env": hosts.environment(host), "wrapper": hosts.wrapper(host)}

    where = "two_hosts" if hosts else "one_host"
    mode = "lockstep" if lockstep else "realtime"
    sim = NodeProcess(
        "lerobot_ros.nodes.sim_node",
        {"lockstep": lockstep, "cameras": list(CAMERA_NAMES), "max_episode_steps": 10**7},
        log_path=WORK / f"{where}_{mode}_sim.log",
        **placed(0),
    )
    policy = NodeProcess(
        "lerobot_ros.nodes.policy_node",
        {"policy_path": str(checkpoint), "lockstep": lockstep, "use_sim_time": True},
        log_path=WORK / f"{where}_{mode}_policy.log",
        **placed(1),
    )
    wrapper = list(hosts.wrapper(1)) if hosts else []
    with sim, policy:
        probe = subprocess.run(
            [*wrapper, sys.executable, str(PROBE), "--seconds", str(seconds)],
            env=placed(1)["env"],
            capture_output=True,
            text=True,
            timeout=600,
        )
    if probe.returncode:
        raise RuntimeError(f"{where} {mode}: the probe failed: {probe.stderr[-2000:]}")
    return json.loads(probe.stdout.splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--json", type=Path, default=Path("bench/results/multihost.json"))
    args = parser.parse_args()
    if reason := TwoHosts.unavailable():
        print(f"bench_multihost: cannot run here: {reason}", file=sys.stderr)
        return 1
    WORK.mkdir(parents=True, exist_ok=True)
    checkpoint = image_policy_checkpoint()
    result: dict = {
        "machine": machine(),
        "seconds": args.seconds,
    }
    for lockstep in (True, False):
        mode = "lockstep" if lockstep else "realtime"
        one = measure(None, lockstep, args.seconds, checkpoint)
        with TwoHosts() as hosts:
            two = measure(hosts, lockstep, args.seconds, checkpoint)
        result[mode] = {"one_host": one, "two_hosts": two}
    lockstep = result["lockstep"]
    result["added_latency_ms_p50"] = (
        lockstep["two_hosts"]["step_period_ms_p50"] - lockstep["one_host"]["step_period_ms_p50"]
    )
    write_result(result, args.json)
    print(f"machine: {result['machine']}")
    for where in ("one_host", "two_hosts"):
        step, rate = lockstep[where], result["realtime"][where]
        print(
            f"{where}: lockstep round trip p50 {step['step_period_ms_p50']:.2f} ms, p99 "
            f"{step['step_period_ms_p99']:.1f} ms; real time: images/s {rate['images_per_s']}, "
            f"{rate['image_megabytes_per_s']:.2f} MB/s, commands {rate['commands_per_s']:.1f}/s"
        )
    print(f"added latency at p50: {result['added_latency_ms_p50']:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
