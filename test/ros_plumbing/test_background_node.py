"""The rclpy node a plugin runs inside LeRobot's command lines: in a process that also holds
pyrealsense2's own copy of Fast DDS (LeRobot's CLIs import it), the interpreter's exit would
crash in the two copies' C++ static destructors (SIGSEGV); BackgroundNode ends such a process
after its atexit handlers, with the status it was exiting with."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.ros

SCRIPT = """
import atexit, sys
import pyrealsense2
atexit.register(lambda: print("an earlier atexit handler ran", flush=True))
from lerobot_ros.ros.background_node import BackgroundNode
node = BackgroundNode("beside_pyrealsense2")
node.close()
print("closed", flush=True)
if sys.argv[1] == "raise":
    raise RuntimeError("the host program failed")
"""


@pytest.mark.parametrize(("ending", "status"), [("return", 0), ("raise", 1)])
def test_a_process_with_pyrealsense2_exits_with_its_status_not_a_crash(ending, status):
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, ending], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == status, done.stderr[-3000:]
    assert done.stdout.splitlines()[-2:] == ["closed", "an earlier atexit handler ran"]
    if ending == "raise":
        assert "RuntimeError: the host program failed" in done.stderr
