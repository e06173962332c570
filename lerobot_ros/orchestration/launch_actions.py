"""What both launch files do with a graph of lerobot_ros.orchestration.graphs (needs ROS's ``launch``).

Imported only by the files in ``launch/``: ``launch`` and ``launch_ros`` exist only in a ROS 2
install.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from launch.actions import DeclareLaunchArgument, SetEnvironmentVariable
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from lerobot_ros.orchestration.arguments import TERMINAL, check_packages, split_names
from lerobot_ros.orchestration.graphs import NodeSpec
from lerobot_ros.ros.network import (
    AUTO_MODE,
    MODES,
    NETWORK_MODE_VARIABLE,
    apply_network_defaults,
)


def network_argument() -> DeclareLaunchArgument:
    return DeclareLaunchArgument(
        "network",
        default_value=AUTO_MODE,
        choices=list(MODES),
        description=(
            "auto: your RMW/DDS variables if any is set, else DDS on this host only; "
            "localhost: this host only, always; system: the environment as it is"
        ),
    )


def network_actions(context) -> list:  # noqa: ANN001 - a launch context
    """Set, for every node of the launch, what the chosen network mode changes."""
    environ = dict(os.environ)
    environ[NETWORK_MODE_VARIABLE] = LaunchConfiguration("network").perform(context)
    apply_network_defaults(environ)
    return [
        SetEnvironmentVariable(name, value)
        for name, value in environ.items()
        if os.environ.get(name) != value
    ]


def node_actions(graph: Sequence[NodeSpec], context=None) -> list[Node]:  # noqa: ANN001
    """The graph's nodes, at the ``log_level`` argument's level (read from ``context``).

    The packages the graph needs beyond ours are checked first: a missing one fails the
    launch with its name before any node starts (none is left running on its own).
    """
    check_packages(graph)
    level = LaunchConfiguration("log_level").perform(context) if context else "info"
    return [
        Node(
            package=spec.package,
            executable=spec.executable,
            name=spec.name,
            parameters=[spec.parameters],
            remappings=list(spec.remappings),
            arguments=list(spec.arguments),
            ros_arguments=["--log-level", level],
            output="screen",
            # A keyboard teleoperator needs a terminal of its own to read keys from.
            **({"prefix": f"{TERMINAL} -e", "emulate_tty": True} if spec.interactive else {}),
        )
        for spec in graph
    ]


def declare(arguments: dict[str, tuple[str, str]]) -> list[DeclareLaunchArgument]:
    return [
        DeclareLaunchArgument(name, default_value=default, description=description)
        for name, (default, description) in arguments.items()
    ]


def hardware_values(context) -> dict:  # noqa: ANN001 - a launch context
    """The hardware launch arguments as graphs.hardware_side keyword arguments."""
    from lerobot_ros.resources import config_path

    def arg(name: str) -> str:
        return LaunchConfiguration(name).perform(context)

    return {
        "sim": arg("sim").lower() == "true",
        "arm": arg("arm"),
        "port": arg("port"),
        "robot_type": arg("robot_type"),
        "robot_config": arg("robot_config"),
        "cameras": split_names(arg("cameras")),
        "camera_devices": split_names(arg("camera_devices")),
        "rviz_enabled": arg("rviz").lower() == "true",
        "rviz_config": str(config_path("lerobot_ros.rviz")),
    }
