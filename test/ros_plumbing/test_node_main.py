"""run_node: a node that fails to start exits with 2 even when its exit then hangs; a hung
teardown of a composed graph says where it hangs and exits 1."""

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


HANGING_TEARDOWN = """
import threading
from lerobot_ros.ros.node_main import exit_if_teardown_hangs

exit_if_teardown_hangs(1.0)
threading.Event().wait()  # a teardown that never returns
"""


def test_a_hung_teardown_dumps_the_stacks_and_exits_1():
    result = subprocess.run(
        [sys.executable, "-c", HANGING_TEARDOWN], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1, result.stderr
    assert "teardown still running after 1 s; stacks:" in result.stderr
    assert "Event().wait()" in result.stderr or "in wait" in result.stderr  # the stuck frame
