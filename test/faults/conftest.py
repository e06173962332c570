"""Fixtures of the fault-injection suite (``pytest test/faults -m faults``).

Each test kills nodes of a running graph (SIGKILL, as a crash) or loads it with slow
consumers, then checks what a user would check. Every injected fault is one case of the
session's fault log, written at the end of the session to ``build/robustness/faults.json``
(overwritten by each run; a run of part of the suite writes only its cases)::

    {
      "seed": 123456,            # LEROBOT_ROS_FAULT_SEED=123456 replays the same kill times
      "faults_injected": 15,     # number of cases
      "survived": 13,            # cases whose every check passed
      "cases": [
        {
          "test": "test_policy_killed_mid_episode",  # the pytest test that injected it
          "graph": "eval_sim (lockstep)",            # the graph it ran in
          "node": "policy_node",                     # the node killed (or loaded)
          "fault": "kill -9",                        # what was done to it
          "when": "episode 1, step 87",              # when (drawn from the seed)
          "seed": 123456,
          "checks": [{"check": "...", "ok": true, "detail": "..."}],  # ok null: a measurement
          "survived": true,
          "error": "",               # the failed check or error, when not survived
          "known_bug": ""            # the xfail reason when the case documents a known bug
        }
      ]
    }

Random times come from one seed per session (printed in the summary and stored in the
file), mixed with each test's name, so a test draws the same times whatever runs before it.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
from fault_tools import FaultLog, NodeGraph, Probe

FAULTS_JSON = Path(__file__).resolve().parents[2] / "build" / "robustness" / "faults.json"
SEED_VARIABLE = "LEROBOT_ROS_FAULT_SEED"

_log = FaultLog(int(os.environ.get(SEED_VARIABLE) or random.SystemRandom().randrange(10**6)))


@pytest.fixture(scope="session")
def fault_log():
    yield _log
    FAULTS_JSON.parent.mkdir(parents=True, exist_ok=True)
    FAULTS_JSON.write_text(json.dumps(_log.summary(), indent=2) + "\n")


@pytest.fixture
def inject(request, fault_log):
    """``with inject(graph=..., node=..., fault=...) as case:`` records one fault case."""
    marker = request.node.get_closest_marker("xfail")
    known_bug = marker.kwargs.get("reason", "") if marker else ""

    def case(**fields):
        return fault_log.inject(test=request.node.name, known_bug=known_bug, **fields)

    return case


@pytest.fixture
def rng(request):
    """Random times of this test, reproducible from the session seed."""
    return random.Random(f"{_log.seed}:{request.node.nodeid}")


@pytest.fixture
def probe():
    p = Probe()
    yield p
    p.close()


@pytest.fixture
def node_graph(tmp_path):
    """``node_graph(specs)`` starts a graph's nodes; all are stopped at the test's end."""
    graphs: list[NodeGraph] = []

    def start(specs, log_dir=None):
        graph = NodeGraph(specs, log_dir or tmp_path / "logs").start()
        graphs.append(graph)
        return graph

    yield start
    for graph in graphs:
        graph.stop()


def pytest_terminal_summary(terminalreporter):
    if _log.cases:
        summary = _log.summary()
        terminalreporter.write_line(
            f"faults: {summary['faults_injected']} injected, {summary['survived']} survived "
            f"(seed {_log.seed}; {SEED_VARIABLE} to replay) -> {FAULTS_JSON}"
        )
