"""A policy acting on the real robot in real time (``sim:=true``: on the sim instead).

    ros2 launch lerobot_ros eval_real.launch.py policy_path:=/path/to/pretrained_model \\
        mapping:=/path/to/mapping.yaml port:=/dev/ttyUSB0 record_root:=/data/rollouts

Same topics on both sides: the policy node never knows which one it drives. With
``record_root`` the rollouts are recorded as a LeRobotDataset. The node list comes from
lerobot_ros.orchestration.graphs (`lerobot-ros run eval_real`).
"""

from launch import LaunchDescription
from launch.actions import OpaqueFunction
from launch.substitutions import LaunchConfiguration

from lerobot_ros.orchestration.arguments import GRAPH_ARGUMENTS
from lerobot_ros.orchestration.graphs import eval_real_graph
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

    graph = eval_real_graph(
        policy_path=arg("policy_path"),
        mapping=arg("mapping"),
        record_root=arg("record_root"),
        **hardware_values(context),
    )
    return node_actions(graph, context)


def generate_launch_description():
    return LaunchDescription(
        [
            *declare(GRAPH_ARGUMENTS["eval_real"]),
            network_argument(),
            OpaqueFunction(function=network_actions),
            OpaqueFunction(function=_nodes),
        ]
    )
