"""The simulation graph: sim_node, and (rviz:=true) robot_state_publisher + RViz.

    ros2 launch lerobot_ros sim.launch.py rviz:=true image_width:=320 image_height:=240

The node list comes from lerobot_ros.graphs, which `lerobot-ros run sim` also reads.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration

from lerobot_ros.graphs import sim_graph
from lerobot_ros.launching.launch_actions import network_actions, network_argument, node_actions
from lerobot_ros.resources import config_path


def _nodes(context):
    def arg(name):
        return LaunchConfiguration(name).perform(context)

    return node_actions(
        sim_graph(
            rviz_enabled=arg("rviz").lower() == "true",
            rviz_config=str(config_path("lerobot_ros.rviz")),
            image_width=int(arg("image_width")),
            image_height=int(arg("image_height")),
            control_hz=float(arg("control_hz")),
            seed=int(arg("seed")),
        )
    )


def generate_launch_description():
    return LaunchDescription(
        [
            DeclareLaunchArgument("rviz", default_value="false", description="start RViz"),
            network_argument(),
            DeclareLaunchArgument("image_width", default_value="224"),
            DeclareLaunchArgument("image_height", default_value="224"),
            DeclareLaunchArgument("control_hz", default_value="30.0"),
            DeclareLaunchArgument("seed", default_value="0"),
            OpaqueFunction(function=network_actions),
            OpaqueFunction(function=_nodes),
        ]
    )
