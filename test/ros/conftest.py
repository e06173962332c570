"""Fixtures for tests that start real nodes in real processes and watch them from rclpy."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node

from lerobot_ros.orchestration.processes import NodeProcess
from lerobot_ros.ros.sim_client import SimClient, spin_until

pytestmark = pytest.mark.ros


class Probe:
    """A test-side rclpy node plus helpers to collect messages and wait on conditions."""

    def __init__(self) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = Node("test_probe", context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.sim = SimClient(self.node, self.executor, timeout=30.0)

    def collect(self, msg_type, topic: str, qos) -> list:  # noqa: ANN001
        messages: list = []
        self.node.create_subscription(msg_type, topic, messages.append, qos)
        return messages

    def spin_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> bool:
        return spin_until(self.executor, condition, timeout)

    def spin_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.02)

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


@pytest.fixture
def probe():
    p = Probe()
    yield p
    p.close()


def _node_starter(tmp_path_factory):
    started: list[NodeProcess] = []

    def start(module: str, parameters: dict | None = None) -> NodeProcess:
        log = tmp_path_factory.mktemp("logs") / f"{module.rsplit('.', 1)[-1]}.log"
        process = NodeProcess(module, parameters, log_path=log).start()
        started.append(process)
        return process

    return start, started


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):  # noqa: ANN001, ANN201 - pytest hook
    report = yield
    if report.when == "call":
        item.call_failed = report.failed
    return report


@pytest.fixture
def start_node(tmp_path_factory, request):
    """Start node processes for one test; all are stopped (SIGINT) at its end. When the test
    failed, the end of each node's log is printed (pytest shows it under the failure)."""
    start, started = _node_starter(tmp_path_factory)
    yield start
    for process in started:
        process.stop()
    if getattr(request.node, "call_failed", False):
        for process in started:
            tail = process.log_text()[-4000:]
            print(f"--- {process.log_path} (last 4000 characters) ---\n{tail}")


@pytest.fixture(scope="module")
def start_module_node(tmp_path_factory):
    """As start_node, for processes shared by the tests of a module."""
    start, started = _node_starter(tmp_path_factory)
    yield start
    for process in started:
        process.stop()
