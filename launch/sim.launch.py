"""The simulation graph: sim_node, and (rviz:=true) robot_state_publisher + RViz.

    ros2 launch lerobot_ros sim.launch.py rviz:=true image_width:=320 image_height:=240

The node list comes from lerobot_ros.graphs, which `lerobot-ros run sim` also reads.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from lerobot_ros.graphs import sim_graph
from lerobot_ros.resources import config_path
from lerobot_ros.ros.network import localhost_environment


def _network(context):
    if LaunchConfiguration("network").perform(context) != "localhost":
        return []  # "system": the user's own RMW/DDS settings, for multi-host graphs
    return [SetEnvironmentVariable(name, value) for name, value in localhost_environment().items()]


def _nodes(context):
    def arg(name):
        return LaunchConfiguration(name).perform(context)

    graph = sim_graph(
        rviz_enabled=arg("rviz").lower() == "true",
        rviz_config=str(config_path("lerobot_ros.rviz")),
        image_width=int(arg("image_width")),
        image_height=int(arg("image_height")),
        control_hz=float(arg("control_hz")),
        seed=int(arg("seed")),
    )
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


def generate_launch_description():
    return LaunchDescription(
        [
            DeclareLaunchArgument("rviz", default_value="false", description="start RViz"),
            DeclareLaunchArgument(
                "network",
                default_value="localhost",
                description="localhost: DDS stays on this host; system: your own ROS network settings",
            ),
            DeclareLaunchArgument("image_width", default_value="224"),
            DeclareLaunchArgument("image_height", default_value="224"),
            DeclareLaunchArgument("control_hz", default_value="30.0"),
            DeclareLaunchArgument("seed", default_value="0"),
            OpaqueFunction(function=_network),
            OpaqueFunction(function=_nodes),
        ]
    )
