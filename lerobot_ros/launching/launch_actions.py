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
            # A keyboard teleoperator needs a terminal of its own to read keys from.
            **({"prefix": "xterm -e", "emulate_tty": True} if spec.interactive else {}),
        )
        for spec in graph
    ]


# Launch arguments of the hardware side (graphs.hardware_side), shared by the graphs that
# swap sim and real: name -> (default, description).
HARDWARE_ARGUMENTS = {
    "sim": ("true", "true: sim_node; false: the real robot (same topics)"),
    "arm": (
        "dynamixel",
        "real arm driver: dynamixel (dynamixel_node) or lerobot (any LeRobot robot)",
    ),
    "port": ("/dev/ttyUSB0", "dynamixel: serial port of the bus"),
    "robot_type": ("", "lerobot: a LeRobot robot type (so101_follower, koch_follower, ...)"),
    "robot_config": ("", "lerobot: its config as YAML text or a YAML file path"),
    "cameras": ("front,wrist", "camera names (comma-separated)"),
    "camera_devices": ("", "real: OpenCV device of each camera, comma-separated (/dev/video0,...)"),
    "rviz": ("false", "start RViz (and robot_state_publisher)"),
}


def declare(arguments: dict[str, tuple[str, str]]) -> list[DeclareLaunchArgument]:
    return [
        DeclareLaunchArgument(name, default_value=default, description=description)
        for name, (default, description) in arguments.items()
    ]


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


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
        "cameras": _split(arg("cameras")),
        "camera_devices": _split(arg("camera_devices")),
        "rviz_enabled": arg("rviz").lower() == "true",
        "rviz_config": str(config_path("lerobot_ros.rviz")),
    }
