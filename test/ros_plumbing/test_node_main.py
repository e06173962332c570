"""run_node: a node that fails to start exits with 2 even when its exit then hangs."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.ros

HANGING_NODE = """
import threading, time
from rclpy.node import Node
from lerobot_ros.ros.node_main import StartupError, run_node

def refuse(node: Node) -> None:
    # A thread that never ends blocks the interpreter's exit, as a hung teardown would.
    threading.Thread(target=lambda: time.sleep(3600), daemon=False).start()
    raise StartupError("refused on purpose")

raise SystemExit(run_node("hanging", lambda: Node("hanging"), None, on_created=refuse))
"""


def test_a_node_that_fails_to_start_exits_even_if_its_exit_hangs():
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", HANGING_NODE], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2, result.stderr
    assert "hanging: refused on purpose" in result.stderr
    assert time.monotonic() - started < 90
