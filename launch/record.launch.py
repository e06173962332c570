"""Recording a LeRobotDataset from teleoperation, on the sim or the real robot.

    ros2 launch lerobot_ros record.launch.py root:=/data/pick repo_id:=me/pick
    ros2 service call /recorder/start_episode lerobot_ros/srv/StartEpisode \\
        "{task: 'pick up the cube'}"
    ros2 service call /recorder/stop_episode std_srvs/srv/Trigger       # save
    ros2 service call /recorder/discard_episode std_srvs/srv/Trigger    # drop, re-record

``auto_episodes:=true`` follows /task/status instead (sim: an episode per reset, saved on
success or truncation). ``sim:=false`` swaps in the real drivers with the same topics.
`lerobot-ros record` brings up the same graph (lerobot_ros.orchestration.graphs) and runs the episodes.
"""

from launch import LaunchDescription
from launch.actions import OpaqueFunction
from launch.substitutions import LaunchConfiguration

from lerobot_ros.orchestration.arguments import GRAPH_ARGUMENTS
from lerobot_ros.orchestration.graphs import record_graph
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

    graph = record_graph(
        root=arg("root"),
        repo_id=arg("repo_id"),
        task=arg("task"),
        mapping=arg("mapping"),
        auto_episodes=arg("auto_episodes").lower() == "true",
        teleop=arg("teleop"),
        teleop_config=arg("teleop_config"),
        **hardware_values(context),
    )
    return node_actions(graph, context)


def generate_launch_description():
    return LaunchDescription(
        [
            *declare(GRAPH_ARGUMENTS["record"]),
            network_argument(),
            OpaqueFunction(function=network_actions),
            OpaqueFunction(function=_nodes),
        ]
    )
