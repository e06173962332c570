"""Ctrl-C as a terminal does it: SIGINT to the whole process group of ``lerobot-ros run
<graph>`` (the runner and every node at once, then the runner's own SIGINT to each node), at
a random instant while the graph starts or runs, sometimes two or three times in a row, or
SIGTERM. Every process must exit 0 with no traceback or abort, leave no process behind, and
the emulated real arm must be limp (torque off) afterwards.

CI runs SHUTDOWN_STOPS=2 stops per graph (the default); ``make test-shutdown`` runs 10.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lerobot_ros.emulators.dynamixel_emulator import DynamixelEmulator
from lerobot_ros.hardware.dynamixel.arm import load_arm_config
from lerobot_ros.resources import config_path
from lerobot_ros.robots import panda

pytestmark = [pytest.mark.ros, pytest.mark.shutdown]

STOPS = int(os.environ.get("SHUTDOWN_STOPS", "2"))
# The console script a user runs (python -m lerobot_ros.orchestration.cli where it is not installed).
_SCRIPT = Path(sys.executable).with_name("lerobot-ros")
LEROBOT_ROS = (
    [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "lerobot_ros.orchestration.cli"]
)
# Output that means a crash, whatever the exit code says.
CRASH_SIGNS = (
    "Traceback",
    "Fatal Python error",
    "terminate called",
    "KeyboardInterrupt",
    "Segmentation fault",
    "Aborted",
    "teardown still running",
    "Timeout (0:",  # faulthandler's header: a teardown hung holding the GIL (node_main)
)
# What each stop sends, in turn (the count of SIGINTs, or SIGTERM to the group).
SIGNAL_SEQUENCES = ((signal.SIGINT,), (signal.SIGINT,) * 2, (signal.SIGINT,) * 3, (signal.SIGTERM,))
# Stops alternate between "starting" (nodes importing, constructing, configuring) and
# "running" (the graph up: a policy loaded, the arm's torque on) windows, in seconds.
STARTING_S, RUNNING_S = (0.3, 6.0), (14.0, 24.0)
EXIT_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def servos():
    config = load_arm_config(config_path("dynamixel_arm.yaml"))
    models = {joint.servo_id: joint.model_number for joint in config.joints}
    with DynamixelEmulator(
        config.servo_ids, models=models, positions=config.to_ticks(panda.HOME_POSITION)
    ) as emulator:
        yield emulator


def _graph_arguments(graph: str, servos: DynamixelEmulator, tmp_path: Path) -> list[str]:
    if graph == "real":  # the real arm's driver on the emulated servos, jogged by keyboard
        return [
            "teleop",
            "sim:=false",
            "teleop:=keyboard",
            f"port:={servos.port}",
            "cameras:=[]",
            # The emulator is a Python process starved while nodes import torch: give it a
            # loaded machine's answer time and retries.
            "driver_parameters:={latency_timer_ms: 150.0, retries: 5}",
        ]
    if graph == "record":
        return ["record", f"root:={tmp_path / 'dataset'}"]
    return [graph]


def _stop_once(arguments: list[str], delay_s: float, signals: tuple, log: Path) -> tuple[int, str]:
    """Start the runner in its own process group (as a shell starts a foreground job), signal
    the group ``delay_s`` later; its exit code and everything the group printed."""
    leader, follower = os.openpty()  # a terminal for the keyboard teleop
    try:
        with open(log, "w") as output:
            runner = subprocess.Popen(
                [*LEROBOT_ROS, "run", *arguments],
                stdin=follower,
                stdout=output,
                stderr=subprocess.STDOUT,
                process_group=0,
            )
            time.sleep(delay_s)
            for index, number in enumerate(signals):
                if index:
                    time.sleep(random.uniform(0.05, 1.5))
                os.killpg(runner.pid, number)
            try:
                code = runner.wait(EXIT_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(runner.pid, signal.SIGKILL)
                runner.wait()
                code = None
        _wait_group_gone(runner.pid)
    finally:
        os.close(leader)
        os.close(follower)
    return code, log.read_text(errors="replace")


def _wait_group_gone(group: int, timeout: float = 15.0) -> None:
    """Every process of the group has exited (no orphaned node), or fail and kill them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.killpg(group, signal.SIGKILL)
    pytest.fail(f"processes of group {group} still running {timeout:g} s after the runner exited")


@pytest.mark.parametrize("graph", ["eval_sim", "record", "teleop", "real"])
def test_group_sigint_ends_every_process_cleanly(graph, servos, tmp_path):
    seed = random.SystemRandom().randrange(10**6)
    rng = random.Random(seed)
    offset = ["eval_sim", "record", "teleop", "real"].index(graph)
    failures, clean, started = [], 0, time.monotonic()
    for stop in range(STOPS):
        window = STARTING_S if stop % 2 == 0 else RUNNING_S
        delay = rng.uniform(*window)
        signals = SIGNAL_SEQUENCES[(stop + offset) % len(SIGNAL_SEQUENCES)]
        names = "+".join(signal.Signals(n).name for n in signals)
        log = tmp_path / f"stop{stop}.log"
        code, output = _stop_once(_graph_arguments(graph, servos, tmp_path), delay, signals, log)
        problems = [sign for sign in CRASH_SIGNS if sign in output]
        if graph == "real":
            torque = [s for s in servos.servo_ids if servos.servo(s).torque_enabled]
            problems += [f"torque on servos {torque}"] if torque else []
        if code != 0 or problems:
            failures.append(
                f"stop {stop} ({names} at {delay:.1f} s): exit {code}, {problems}\n{output[-4000:]}"
            )
        else:
            clean += 1
    elapsed = time.monotonic() - started
    print(f"{graph}: {STOPS} stops, {clean} clean exits, {elapsed:.0f} s (seed {seed})")
    assert not failures, f"seed {seed}:\n" + "\n".join(failures)
