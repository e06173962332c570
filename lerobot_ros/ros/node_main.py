"""The ``main()`` every lerobot_ros node shares: network defaults, init, spin, clean exit."""

from __future__ import annotations

import atexit
import faulthandler
import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import NoReturn

import rclpy
from rclpy.exceptions import ParameterException
from rclpy.executors import Executor, ExternalShutdownException
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

from lerobot_ros.ros.network import NetworkSettingsError, apply_network_defaults
from lerobot_ros.ros.stop_request import STOP, StopRequest, install_stop_handlers

# What using an entity raises once its context is shut down ("publisher's context is
# invalid"; "destruction was requested" where the shutdown destroyed the handles).
SHUTDOWN_ERRORS = (_rclpy.RCLError, _rclpy.InvalidHandle)

# A node that failed to start must go away, or whoever started it waits for nothing: once (in
# about seven full test runs) a policy_node printed its configure error and then never exited
# (its teardown or interpreter exit hung). run_node is a node process's main, so it then ends
# the process itself this long after the failure.
STARTUP_FAILURE_EXIT_S = 5.0
# A process hosting several nodes that has not torn down this long after Ctrl-C says where it
# hangs (every thread's stack) and exits 1, instead of waiting for a SIGKILL.
TEARDOWN_DEADLINE_S = 10.0
# Callbacks in flight get this long to finish when the executor shuts down.
EXECUTOR_SHUTDOWN_S = 5.0


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
    # Activation makes a node live (a hardware node's torque on): from now on a stop must
    # run its shutdown policy, so a stop asked for until now skips it.
    STOP.exit_at_once = False
    if not STOP.requested:
        node.trigger_activate()


def spin_until_shutdown(executor: Executor, stop: StopRequest | None = None) -> None:
    """Spin until a stop is requested (Ctrl-C, SIGTERM) or the context shuts down.

    ``spin_once`` in a loop: rclpy 9.1's EventsExecutor does not fire timers from ``spin()``,
    and the loop sees a request within 0.1 s even if an executor misses its wake-up. An
    error raised because the context was shut down from elsewhere is a shutdown too.
    """
    stop = stop or STOP
    # rclpy 9's EventsExecutor (a C++ class) has no ``context``: ours run on the default one.
    context = getattr(executor, "context", None) or rclpy.get_default_context()
    try:
        while not stop.requested and context.ok():
            executor.spin_once(timeout_sec=0.1)
    except ExternalShutdownException:
        pass
    except SHUTDOWN_ERRORS:
        if context.ok():
            raise


def apply_shutdown_policy(node: Node) -> None:
    """What a node does before it goes away, while the graph can still hear it: a lifecycle
    node takes its shutdown transition (hardware: torque off or hold, per its policy); any
    node's ``stop_work()`` ends work in flight (a blocking action goal)."""
    from rclpy.lifecycle import LifecycleNode

    stop_work = getattr(node, "stop_work", None)
    if callable(stop_work):
        stop_work()
    # (Without a context the transition cannot run: destroy_node is each node's fallback.)
    if (
        isinstance(node, LifecycleNode)
        and node.context.ok()
        and lifecycle_state(node) in LIVE_STATES
    ):
        node.trigger_shutdown()


# The primary states a lifecycle node can shut down from.
LIVE_STATES = ("unconfigured", "inactive", "active")


def lifecycle_state(node: Node) -> str:
    """A lifecycle node's primary state label ("active", "finalized", ...)."""
    return node._state_machine.current_state[1]


def tear_down(nodes: list[Node], executor: Executor | None) -> None:
    """Shut nodes down in order: each node's shutdown policy, the executor (callbacks in
    flight finish, no new ones start, so nothing publishes after its node is gone), the
    nodes, the context. Signals arriving meanwhile are ignored; a teardown that hangs ends
    the process (exit_if_teardown_hangs)."""
    exit_if_teardown_hangs()
    try:
        for node in nodes:
            apply_shutdown_policy(node)
    finally:
        if executor is not None:
            executor.shutdown(timeout_sec=EXECUTOR_SHUTDOWN_S)
        for node in nodes:
            node.destroy_node()
        rclpy.try_shutdown()
        STOP.ignore_from_now()


def run_node(
    name: str,
    make_node: Callable[[], Node],
    make_executor: Callable[[], Executor],
    args: list[str] | None = None,
    on_created: Callable[[Node], None] | None = None,
) -> int:
    """Create and spin one node until Ctrl-C/SIGTERM (exit 0); exit code 2 on a startup error.

    ``on_created`` runs before spinning (e.g. lifecycle autostart); it raises StartupError
    to refuse to run. A stop requested while the node is built and configured ends the
    process at once (exit 0): nothing is live yet (a hardware node is limp until activated).
    From activation on, a stop tears down in order, so the node's shutdown policy runs, and
    then ends the process (end_process).

    Only construction and ``on_created`` errors (StartupError, ValueError,
    ParameterException) are startup errors; an exception raised by a callback while the node
    runs is a bug: it propagates with its traceback (exit 1) after the teardown.
    """
    stop = install_stop_handlers()
    stop.exit_at_once = not stop.requested
    try:
        apply_network_defaults()
    except NetworkSettingsError as error:
        print(f"{name}: {error}", file=sys.stderr, flush=True)
        return 2
    # rclpy's own handlers would raise KeyboardInterrupt inside callbacks called from C++.
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    node = None
    executor = None
    try:
        try:
            node = make_node()
            if on_created is not None and not stop.requested:
                on_created(node)
            executor = make_executor()
            executor.add_node(node)
            stop.exit_at_once = False  # running: from now on a stop tears down in order
        except (StartupError, ValueError, ParameterException) as error:
            print(f"{name}: {error}", file=sys.stderr, flush=True)
            watchdog = threading.Timer(STARTUP_FAILURE_EXIT_S, os._exit, (2,))
            watchdog.daemon = True
            watchdog.start()
            return 2
        spin_until_shutdown(executor, stop)
    finally:
        stop.exit_at_once = False  # a failed start still exits 2 (or 1) whatever arrives
        tear_down([node] if node is not None else [], executor)
    end_process(0)


def end_process(code: int) -> NoReturn:
    """End a node process whose teardown is complete, without the interpreter's exit.

    That exit destroys the rcl context and its DDS participant while modules are torn down,
    then runs the DDS libraries' static destructors: a hang there is out of any watchdog's
    reach, and a Ctrl-C'd node would wait for its launcher's SIGKILL. Nothing of ours is left
    to finish (our threads are daemons, writers are closed by then): atexit handlers run,
    logging and the standard streams are flushed, and the process ends with ``code``.
    """
    try:
        atexit._run_exitfuncs()
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    finally:
        os._exit(code)


def exit_if_teardown_hangs(deadline_s: float = TEARDOWN_DEADLINE_S) -> threading.Timer:
    """Arm a daemon timer: after ``deadline_s`` dump every thread's stack and exit 1.

    A Python thread cannot run while the main thread holds the GIL in a C call that never
    returns; faulthandler's watchdog is a C thread, so it ends the process a second later
    then (its own "Timeout" header and the stacks, exit 1).
    """

    def give_up() -> None:
        print(f"teardown still running after {deadline_s:g} s; stacks:", file=sys.stderr)
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        os._exit(1)

    faulthandler.dump_traceback_later(deadline_s + 1.0, exit=True, file=sys.stderr)
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
