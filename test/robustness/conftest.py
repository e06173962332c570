"""Bad-input property tests: fixtures, and the counts file the report is built from.

At the end of a session that ran tests of this folder, ``build/robustness/bad_input.json``
(``LEROBOT_ROS_BAD_INPUT_JSON`` overrides the path) is written, replacing the previous one:

.. code-block:: json

    {
      "format": "lerobot_ros/bad_input/v2",
      "written": "2025-01-01T12:00:00+00:00",
      "explore": false,            // true: BAD_INPUT_EXPLORE=1, fresh random inputs
      "targets": {                 // one entry per function, parser or ROS request
        "adapters.state_vector": {
          "tried": 300,            // = rejected + accepted + failed
          "rejected": 255,         // the documented error / refusal, with a clear message
          "accepted": 45,          // a result that satisfies the property
          "failed": 0,             // property violated (the test failed)
          "rejected_by": {"InputError": 255},     // error type or refusal kind -> count
          "accepted_by": {"valid": 40, "repeated joint names: the last one is used": 5},
          "failed_by": {"TypeError": 1}
        }
      },
      "totals": {"tried": 0, "rejected": 0, "accepted": 0, "failed": 0},
      "total_tried": 0,            // the totals again, flat, as bench/run_benchmarks.py reads
      "total_rejected_cleanly": 0, // them: rejected
      "total_accepted": 0,         // accepted
      "total_failed": 0,
      "tests": {"passed": 0, "failed": 0, "skipped": 0}
    }

Counts are of inputs run, including hypothesis' replays while shrinking a failure. The
``*_by`` maps appear only when non-empty. Target names are ``module.function`` for plain
Python and the ROS name (``/task/reset``) for requests to running nodes.

The ROS fixtures (``start_node``, ``start_module_node``, and ``module_probe``, a module-scoped
``Probe``) are the ones of test/ros/conftest.py, loaded from that file: conftest files
cannot import each other.
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import os
from pathlib import Path

import pytest
from bad_input_support import EXPLORE, TALLY

_ROS_CONFTEST = Path(__file__).resolve().parent.parent / "ros" / "conftest.py"
_spec = importlib.util.spec_from_file_location("lerobot_ros_test_ros_fixtures", _ROS_CONFTEST)
_ros_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_ros_fixtures)

Probe = _ros_fixtures.Probe
start_node = _ros_fixtures.start_node
start_module_node = _ros_fixtures.start_module_node


@pytest.fixture(scope="module")
def module_probe():
    """A test-side node (test/ros/conftest.py's ``Probe``) shared by a module's tests."""
    probe = Probe()
    yield probe
    probe.close()


_DEFAULT_OUTPUT = Path(__file__).resolve().parents[2] / "build" / "robustness" / "bad_input.json"
_outcomes: dict[str, int] = {"passed": 0, "failed": 0, "skipped": 0}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _outcomes[report.outcome] += 1


@pytest.fixture(scope="session", autouse=True)
def bad_input_json():
    """Write the tally when the session ends (see the module docstring)."""
    yield
    path = Path(os.environ.get("LEROBOT_ROS_BAD_INPUT_JSON", _DEFAULT_OUTPUT))
    tally = TALLY.as_json()
    totals = tally["totals"]
    data = {
        "format": "lerobot_ros/bad_input/v2",
        "written": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "explore": EXPLORE,
        **tally,
        "total_tried": totals["tried"],
        "total_rejected_cleanly": totals["rejected"],
        "total_accepted": totals["accepted"],
        "total_failed": totals["failed"],
        "tests": dict(_outcomes),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
