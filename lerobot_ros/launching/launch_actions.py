"""What both launch files do with a graph of lerobot_ros.graphs (needs ROS's ``launch``).

Imported only by the files in ``launch/``: ``launch`` and ``launch_ros`` exist only in a ROS 2
install.
"""

from __future__ import annotations

from collections.abc import Sequence

from launch.actions import DeclareLaunchArgument, SetEnvironmentVariable
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from lerobot_ros.graphs import NodeSpec
from lerobot_ros.ros.network import localhost_environment


def network_argument() -> DeclareLaunchArgument:
    return DeclareLaunchArgument(
        "network",
        default_value="localhost",
        description="localhost: DDS stays on this host; system: your own ROS network settings",
    )


def network_actions(context) -> list:  # noqa: ANN001 - a launch context
    """Localhost-only DDS for every node of the launch, unless network:=system."""
    if LaunchConfiguration("network").perform(context) != "localhost":
        return []
    return [SetEnvironmentVariable(name, value) for name, value in localhost_environment().items()]


def node_actions(graph: Sequence[NodeSpec]) -> list[Node]:
    return [
        Node(
            package=spec.package,
            executable=spec.executable,
            name=spec.name,
            parameters=[spec.parameters],
            remappings=list(spec.remappings),
            arguments=list(spec.arguments),
            output="screen",
        )
        for spec in graph
    ]
