"""The simulation graph: sim_node, and (rviz:=true) robot_state_publisher + RViz.

    ros2 launch lerobot_ros sim.launch.py rviz:=true image_width:=320 image_height:=240

The node list comes from lerobot_ros.orchestration.graphs, which `lerobot-ros run sim` also reads; the
arguments' defaults and descriptions from config/sim_node.yaml (lerobot_ros.orchestration.arguments).
"""

from launch import LaunchDescription
from launch.actions import OpaqueFunction
from launch.substitutions import LaunchConfiguration

from lerobot_ros.orchestration.arguments import GRAPH_ARGUMENTS, parameter_value
from lerobot_ros.orchestration.graphs import sim_graph
from lerobot_ros.orchestration.launch_actions import (
    declare,
    network_actions,
    network_argument,
    node_actions,
)
from lerobot_ros.resources import config_path


def _nodes(context):
    def arg(name):
        return LaunchConfiguration(name).perform(context)

    sim = {
        name: parameter_value("sim_node", name, arg(name))
        for name in ("image_width", "image_height", "control_hz", "seed")
    }
    graph = sim_graph(
        rviz_enabled=arg("rviz").lower() == "true",
        rviz_config=str(config_path("lerobot_ros.rviz")),
        **sim,
    )
    return node_actions(graph, context)


def generate_launch_description():
    return LaunchDescription(
        [
            *declare(GRAPH_ARGUMENTS["sim"]),
            network_argument(),
            OpaqueFunction(function=network_actions),
            OpaqueFunction(function=_nodes),
        ]
    )
