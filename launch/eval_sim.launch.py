"""Policy evaluation on the simulation: sim_node + policy_node + eval_node (+ RViz).

    ros2 launch lerobot_ros eval_sim.launch.py policy_path:=/path/to/pretrained_model rviz:=true
    ros2 action send_goal /evaluate lerobot_ros_interfaces/action/EvaluatePolicy \\
        "{n_episodes: 10, start_seed: 0, n_videos: 2, output_dir: /tmp/eval}" --feedback

(`lerobot-ros eval` brings up the same graph and sends that goal for you.) The node list
comes from lerobot_ros.graphs, which `lerobot-ros run eval_sim` also reads.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration

from lerobot_ros.graphs import eval_sim_graph
from lerobot_ros.launching.launch_actions import network_actions, network_argument, node_actions
from lerobot_ros.resources import config_path


def _nodes(context):
    def arg(name):
        return LaunchConfiguration(name).perform(context)

    return node_actions(
        eval_sim_graph(
            policy_path=arg("policy_path"),
            lockstep=arg("realtime").lower() != "true",
            max_episode_steps=int(arg("max_episode_steps")),
            rviz_enabled=arg("rviz").lower() == "true",
            rviz_config=str(config_path("lerobot_ros.rviz")),
        )
    )


def generate_launch_description():
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "policy_path",
                default_value="",
                description="checkpoint dir or cached Hub repo id; empty: the shipped policy",
            ),
            DeclareLaunchArgument(
                "realtime",
                default_value="false",
                description="true: 30 Hz real time; false: lockstep (deterministic)",
            ),
            DeclareLaunchArgument("max_episode_steps", default_value="300"),
            DeclareLaunchArgument(
                "rviz", default_value="false", description="start RViz (and robot_state_publisher)"
            ),
            network_argument(),
            OpaqueFunction(function=network_actions),
            OpaqueFunction(function=_nodes),
        ]
    )
