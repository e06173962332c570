"""`lerobot-ros run <graph>`: the same graphs as the launch files, without `launch`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from rclpy.action import ActionClient

from lerobot_ros.interfaces import EvaluatePolicy, PolicyStatus
from lerobot_ros.ros import qos, topics
from lerobot_ros.ros.network import apply_network_defaults

pytestmark = pytest.mark.ros


@pytest.mark.parametrize("composed", [False, True], ids=["processes", "composed"])
def test_eval_sim_graph_comes_up(probe, tmp_path, composed):
    env = dict(os.environ)
    apply_network_defaults(env)
    command = [sys.executable, "-m", "lerobot_ros.orchestration.cli", "run", "eval_sim"] + (
        ["--composed"] if composed else []
    )
    log = open(tmp_path / "run.log", "w")  # noqa: SIM115
    # A session of its own: if the runner does not stop, its nodes are killed with it.
    process = subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        statuses = probe.collect(PolicyStatus, topics.POLICY_STATUS, qos.STATE)
        client = ActionClient(probe.node, EvaluatePolicy, topics.EVALUATE)
        assert probe.spin_until(
            lambda: client.server_is_ready() and any(s.state == "waiting" for s in statuses), 120
        ), (tmp_path / "run.log").read_text()[-3000:]
        names = {name for name, _ in probe.node.get_topic_names_and_types()}
        assert {topics.JOINT_STATES, topics.POSITION_COMMANDS, topics.TASK_STATUS} <= names
        assert process.poll() is None
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(90)  # loose: a loaded 2-core machine shuts three nodes down slowly
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise
        finally:
            log.close()
    text = (tmp_path / "run.log").read_text()
    assert ("composed" if composed else "processes") in text
