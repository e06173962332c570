"""run_node: a node that fails to start exits with 2 even when its exit then hangs; a bug in
a callback at run time exits 1 with its traceback; Ctrl-C and SIGTERM, repeated or not, stop
a node in order with exit 0, and its process ends even where the interpreter's exit would
hang; a hung teardown says where it hangs and exits 1, even stuck in C holding the GIL."""

from __future__ import annotations

import signal
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


HANGING_TEARDOWN_HOLDING_THE_GIL = """
import re
from lerobot_ros.ros.node_main import exit_if_teardown_hangs

exit_if_teardown_hangs(1.0)
re.match(r"(a+)+$", "a" * 64 + "b")  # backtracks for ages inside _sre, never releasing the GIL
"""


def test_a_teardown_hung_in_c_holding_the_gil_still_ends_with_its_stacks():
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", HANGING_TEARDOWN_HOLDING_THE_GIL],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert "teardown still running" not in result.stderr  # the Python thread never got to run
    assert "Timeout (0:00:02)!" in result.stderr and "in match" in result.stderr
    assert time.monotonic() - started < 30


RUNTIME_BUG = """
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from lerobot_ros.ros.node_main import run_node

class Buggy(Node):
    def __init__(self) -> None:
        super().__init__("buggy")
        self.create_timer(0.1, self.tick)

    def tick(self) -> None:
        raise ValueError("a bug in a callback")

raise SystemExit(run_node("buggy", Buggy, SingleThreadedExecutor))
"""


def test_an_error_raised_by_a_callback_at_run_time_is_a_bug_with_its_traceback():
    result = subprocess.run(
        [sys.executable, "-c", RUNTIME_BUG], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" in result.stderr and "in tick" in result.stderr
    assert "ValueError: a bug in a callback" in result.stderr
    assert "buggy: a bug in a callback" not in result.stderr  # not reported as a startup error


STOPPABLE = """
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.lifecycle import LifecycleNode, TransitionCallbackReturn
from std_msgs.msg import String
from lerobot_ros.ros.node_main import run_node

class Arm(LifecycleNode):
    def __init__(self) -> None:
        super().__init__("arm")
        self.publisher = self.create_publisher(String, "chatter", 10)
        self.create_timer(0.01, lambda: self.publisher.publish(String(data="x")))
        self.create_timer(0.2, lambda: print("running", flush=True))

    def on_shutdown(self, state) -> TransitionCallbackReturn:
        print("shutdown policy applied", flush=True)
        return TransitionCallbackReturn.SUCCESS

    def destroy_node(self) -> None:
        print("destroyed", flush=True)
        super().destroy_node()

raise SystemExit(run_node("arm", Arm, SingleThreadedExecutor))
"""


def _signal_once_running(script: str, signals: list[int]) -> tuple[int, str]:
    """Run ``script`` until it prints "running", send ``signals`` 20 ms apart; its exit code
    and everything it printed."""
    node = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        while (line := node.stdout.readline()) and line.strip() != "running":
            pass
        assert line, "the node exited before it ran"
        for number in signals:
            node.send_signal(number)
            time.sleep(0.02)
        output, _ = node.communicate(timeout=60)
    finally:
        node.kill()
    return node.returncode, output


@pytest.mark.parametrize(
    "signals",
    [("SIGINT",), ("SIGINT", "SIGINT", "SIGINT"), ("SIGTERM",), ("SIGTERM", "SIGINT")],
    ids=["sigint", "sigint-x3", "sigterm", "sigterm-then-sigint"],
)
def test_signals_stop_a_node_in_order_with_exit_0(signals):
    """Ctrl-C (again and again while it tears down) or SIGTERM: the node's shutdown policy,
    then destroy, exit 0, no traceback; its timers publishing at 100 Hz never raise."""
    code, output = _signal_once_running(STOPPABLE, [getattr(signal, name) for name in signals])
    assert code == 0, output
    assert "Traceback" not in output and "Error" not in output, output
    steps = {"shutdown policy applied", "destroyed"}
    assert [line for line in output.splitlines() if line in steps] == [
        "shutdown policy applied",
        "destroyed",
    ], output


EXIT_WOULD_HANG = """
import threading
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from lerobot_ros.ros.node_main import run_node

class Leaky(Node):
    def __init__(self) -> None:
        super().__init__("leaky")
        # A thread nobody ends: the interpreter's exit would wait for it forever.
        threading.Thread(target=threading.Event().wait, daemon=False).start()
        self.create_timer(0.2, lambda: print("running", flush=True))

    def destroy_node(self) -> None:
        super().destroy_node()
        print("destroyed")  # not flushed by us: end_process must

raise SystemExit(run_node("leaky", Leaky, SingleThreadedExecutor))
"""


def test_a_node_ends_after_its_teardown_even_if_the_interpreter_exit_would_hang():
    code, output = _signal_once_running(EXIT_WOULD_HANG, [signal.SIGINT])
    assert code == 0, output
    assert output.splitlines()[-1] == "destroyed", output


SHUT_DOWN_ELSEWHERE = """
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from std_msgs.msg import String
from lerobot_ros.ros.node_main import run_node

class Late(Node):
    def __init__(self) -> None:
        super().__init__("late")
        self.publisher = self.create_publisher(String, "chatter", 10)
        self.create_timer(0.1, self.tick)

    def tick(self) -> None:
        rclpy.shutdown()  # the context goes away under a callback (as rclpy's handler did)
        self.publisher.publish(String(data="x"))  # RCLError: the context is invalid

raise SystemExit(run_node("late", Late, SingleThreadedExecutor))
"""


def test_an_rcl_error_because_the_context_is_shut_down_is_a_shutdown():
    result = subprocess.run(
        [sys.executable, "-c", SHUT_DOWN_ELSEWHERE], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
