"""Policy evaluation on the simulation: sim_node + policy_node + eval_node (+ RViz).

    ros2 launch lerobot_ros eval_sim.launch.py policy_path:=/path/to/pretrained_model rviz:=true
    ros2 action send_goal /evaluate lerobot_ros/action/EvaluatePolicy \\
        "{n_episodes: 10, start_seed: 0, n_videos: 2, output_dir: /tmp/eval}" --feedback

(`lerobot-ros eval` brings up the same graph and sends that goal for you.) The node list
comes from lerobot_ros.orchestration.graphs, which `lerobot-ros run eval_sim` also reads; the arguments
from lerobot_ros.orchestration.arguments (node parameters: defaults from config/<node>.yaml).
"""

from launch import LaunchDescription
from launch.actions import OpaqueFunction
from launch.substitutions import LaunchConfiguration

from lerobot_ros.orchestration.arguments import GRAPH_ARGUMENTS, parameter_value, split_names
from lerobot_ros.orchestration.graphs import eval_sim_graph
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

    graph = eval_sim_graph(
        policy_path=arg("policy_path"),
        lockstep=arg("realtime").lower() != "true",
        max_episode_steps=parameter_value(
            "sim_node", "max_episode_steps", arg("max_episode_steps")
        ),
        rviz_enabled=arg("rviz").lower() == "true",
        rviz_config=str(config_path("lerobot_ros.rviz")),
        cameras=split_names(arg("cameras")) or None,
    )
    return node_actions(graph, context)


def generate_launch_description():
    return LaunchDescription(
        [
            *declare(GRAPH_ARGUMENTS["eval_sim"]),
            network_argument(),
            OpaqueFunction(function=network_actions),
            OpaqueFunction(function=_nodes),
        ]
    )
