"""The ``main()`` every lerobot_ros node shares: network defaults, init, spin, clean exit."""

from __future__ import annotations

import faulthandler
import os
import sys
import threading
from collections.abc import Callable

import rclpy
from rclpy.exceptions import ParameterException
from rclpy.executors import Executor, ExternalShutdownException
from rclpy.node import Node

from lerobot_ros.ros.network import apply_network_defaults

# A node that failed to start must go away, or whoever started it waits for nothing: once (in
# about seven full test runs) a policy_node printed its configure error and then never exited
# (its teardown or interpreter exit hung). run_node is a node process's main, so it then ends
# the process itself this long after the failure.
STARTUP_FAILURE_EXIT_S = 5.0
# A process hosting several nodes that has not torn down this long after Ctrl-C says where it
# hangs (every thread's stack) and exits 1, instead of waiting for a SIGKILL.
TEARDOWN_DEADLINE_S = 10.0


class StartupError(RuntimeError):
    """The node cannot start (bad parameters, a failed configure): exit non-zero with this."""


def autostart_lifecycle(node: Node) -> None:
    """Configure and activate a lifecycle node whose ``autostart`` parameter is true, as a
    lifecycle manager would; StartupError (with the node's ``reason``) if configure fails."""
    from rclpy.lifecycle import LifecycleNode, TransitionCallbackReturn

    if not isinstance(node, LifecycleNode) or not node.get_parameter("autostart").value:
        return
    if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
        raise StartupError(f"{node.get_name()} failed to configure: {getattr(node, 'reason', '')}")
    node.trigger_activate()


def spin_until_shutdown(executor: Executor) -> None:
    """Spin until the context shuts down (Ctrl-C, SIGTERM). ``spin_once`` in a loop: rclpy
    9.1's EventsExecutor does not fire timers from ``spin()``, and the loop sees the shutdown
    within 0.1 s even if an executor misses its wake-up (a composed graph once never exited)."""
    while rclpy.ok():
        executor.spin_once(timeout_sec=0.1)


def run_node(
    name: str,
    make_node: Callable[[], Node],
    make_executor: Callable[[], Executor],
    args: list[str] | None = None,
    on_created: Callable[[Node], None] | None = None,
) -> int:
    """Create and spin one node until Ctrl-C/SIGTERM; exit code 2 on a startup error.

    ``on_created`` runs before spinning (e.g. lifecycle autostart); it raises StartupError
    to refuse to run.
    """
    apply_network_defaults()
    rclpy.init(args=args)
    node = None
    try:
        node = make_node()
        if on_created is not None:
            on_created(node)
        executor = make_executor()
        executor.add_node(node)
        spin_until_shutdown(executor)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except (StartupError, ValueError, ParameterException) as error:
        print(f"{name}: {error}", file=sys.stderr, flush=True)
        watchdog = threading.Timer(STARTUP_FAILURE_EXIT_S, os._exit, (2,))
        watchdog.daemon = True
        watchdog.start()
        return 2
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


def exit_if_teardown_hangs(deadline_s: float = TEARDOWN_DEADLINE_S) -> threading.Timer:
    """Arm a daemon timer: after ``deadline_s`` dump every thread's stack and exit 1."""

    def give_up() -> None:
        print(f"teardown still running after {deadline_s:g} s; stacks:", file=sys.stderr)
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        os._exit(1)

    watchdog = threading.Timer(deadline_s, give_up)
    watchdog.daemon = True
    watchdog.start()
    return watchdog


def destroy_entities(node: Node, entities: list) -> None:
    """Destroy a lifecycle node's timers, publishers and subscriptions (cleanup/shutdown);
    ``None`` entries are skipped, and the list is emptied."""
    from rclpy.publisher import Publisher
    from rclpy.timer import Timer

    for entity in entities:
        if entity is None:
            continue
        if isinstance(entity, Timer):
            node.destroy_timer(entity)
        elif isinstance(entity, Publisher):
            node.destroy_publisher(entity)
        else:
            node.destroy_subscription(entity)
    entities.clear()
