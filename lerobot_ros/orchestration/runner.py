"""``lerobot-ros run <graph>``: a graph of lerobot_ros.orchestration.graphs without ROS's ``launch``.

Two modes: every node its own process over DDS (as ``ros2 launch`` does), or all of them
composed in one process on one multi-threaded executor. Nodes from other packages
(robot_state_publisher, rviz2) need a ROS install and are skipped here with a note.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path

from lerobot_ros.orchestration.graphs import NodeSpec
from lerobot_ros.orchestration.processes import NodeProcess, stop_all


def runnable(graph: Sequence[NodeSpec]) -> tuple[list[NodeSpec], list[NodeSpec]]:
    """Split a graph into our own nodes and those needing a ROS install."""
    ours = [spec for spec in graph if spec.module is not None]
    return ours, [spec for spec in graph if spec.module is None]


def start_processes(
    graph: Sequence[NodeSpec],
    log_dir: Path | None = None,
    inherit_output: bool = False,
    log_level: str | None = None,
) -> list[NodeProcess]:
    """Start each of our nodes as its own process (stop them with ``NodeProcess.stop``);
    their output goes to ``log_dir``, or with ``inherit_output`` to ours, or nowhere."""
    ours, _ = runnable(graph)
    processes = []
    for spec in ours:
        log = log_dir / f"{spec.name}.log" if log_dir else None
        rename = spec.name if spec.name != spec.executable else None
        process = NodeProcess(
            spec.module,
            spec.parameters,
            log_path=log,
            node_name=rename,
            inherit_output=inherit_output,
            log_level=log_level,
        )
        processes.append(process.start())
    return processes


def first_dead(processes: Sequence[NodeProcess]) -> str | None:
    """The first process that exited, with its exit code and the tail of its log."""
    for process in processes:
        if not process.running:
            code = process.process.returncode
            return f"{process.module} exited ({code}):\n{process.log_text()[-3000:]}"
    return None


def compose(graph: Sequence[NodeSpec], context: object | None = None) -> list:
    """Instantiate our nodes in this process (rclpy initialised), with their parameters.

    Lifecycle nodes with ``autostart`` are configured and activated, as their ``main`` does.
    """
    from rclpy.parameter import Parameter

    from lerobot_ros.ros.node_main import autostart_lifecycle

    nodes = []
    for spec in runnable(graph)[0]:
        node_class = getattr(importlib.import_module(spec.module), spec.class_name)
        overrides = [Parameter(name, value=value) for name, value in spec.parameters.items()]
        rename = (
            ["--ros-args", "-r", f"__node:={spec.name}"] if spec.name != spec.executable else None
        )
        node = node_class(parameter_overrides=overrides, context=context, cli_args=rename)
        autostart_lifecycle(node)
        nodes.append(node)
    return nodes


class GraphSession:
    """Our nodes of a graph, each in its own process, and a client node in this process on
    a single-threaded executor (the CLI jobs and benchmarks talk to graphs through it).

    ``close()`` (or leaving the ``with`` block) shuts the client down and stops the nodes.
    """

    def __init__(
        self,
        graph: Sequence[NodeSpec],
        log_dir: Path | None = None,
        node_name: str = "lerobot_ros_client",
        use_sim_time: bool = False,
    ) -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.parameter import Parameter

        from lerobot_ros.ros.network import apply_network_defaults

        apply_network_defaults()
        self.log_dir = log_dir
        self.processes = start_processes(graph, log_dir=log_dir)
        rclpy.init()
        self.node = rclpy.create_node(
            node_name, parameter_overrides=[Parameter("use_sim_time", value=use_sim_time)]
        )
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.node)

    def first_dead(self) -> str | None:
        return first_dead(self.processes)

    def close(self) -> None:
        import rclpy

        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown()
        stop_all(self.processes)

    def __enter__(self) -> GraphSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
