"""Teleoperation on the sim or the real robot: the hardware side plus a teleoperator.

    ros2 launch lerobot_ros teleop.launch.py                         # sim + scripted expert
    ros2 launch lerobot_ros teleop.launch.py teleop:=keyboard        # keys in an xterm
    ros2 launch lerobot_ros teleop.launch.py sim:=false port:=/dev/ttyUSB0 \\
        teleop:=koch_leader teleop_config:="{port: /dev/ttyACM0, id: my_leader}"

``sim:=false`` swaps sim_node for the real drivers; every topic stays the same. The node list
comes from lerobot_ros.orchestration.graphs, which `lerobot-ros run teleop` also reads.
"""

from launch import LaunchDescription
from launch.actions import OpaqueFunction
from launch.substitutions import LaunchConfiguration

from lerobot_ros.orchestration.arguments import GRAPH_ARGUMENTS
from lerobot_ros.orchestration.graphs import teleop_graph
from lerobot_ros.orchestration.launch_actions import (
    declare,
    hardware_values,
    network_actions,
    network_argument,
    node_actions,
)


def _nodes(context):
    def arg(name):
        return LaunchConfiguration(name).perform(context)

    graph = teleop_graph(
        teleop=arg("teleop"), teleop_config=arg("teleop_config"), **hardware_values(context)
    )
    return node_actions(graph, context)


def generate_launch_description():
    return LaunchDescription(
        [
            *declare(GRAPH_ARGUMENTS["teleop"]),
            network_argument(),
            OpaqueFunction(function=network_actions),
            OpaqueFunction(function=_nodes),
        ]
    )
