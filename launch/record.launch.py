"""Recording a LeRobotDataset from teleoperation, on the sim or the real robot.

    ros2 launch lerobot_ros record.launch.py root:=/data/pick repo_id:=me/pick
    ros2 service call /recorder/start_episode lerobot_ros_interfaces/srv/StartEpisode \\
        "{task: 'pick up the cube'}"
    ros2 service call /recorder/stop_episode std_srvs/srv/Trigger       # save
    ros2 service call /recorder/discard_episode std_srvs/srv/Trigger    # drop, re-record

``auto_episodes:=true`` follows /task/status instead (sim: an episode per reset, saved on
success or truncation). ``sim:=false`` swaps in the real drivers with the same topics.
`lerobot-ros record` brings up the same graph (lerobot_ros.graphs) and runs the episodes.
"""

from launch import LaunchDescription
from launch.actions import OpaqueFunction
from launch.substitutions import LaunchConfiguration

from lerobot_ros.graphs import record_graph
from lerobot_ros.launching.launch_actions import (
    HARDWARE_ARGUMENTS,
    declare,
    hardware_values,
    network_actions,
    network_argument,
    node_actions,
)

RECORD_ARGUMENTS = {
    "root": ("", "dataset directory (required)"),
    "repo_id": ("lerobot_ros/recording", "dataset repo id"),
    "task": ("", "task of episodes started without one"),
    "mapping": ("", "feature mapping YAML (default: config/features/panda_pick_cube.yaml)"),
    "auto_episodes": ("false", "true: episodes follow /task/status"),
    "teleop": ("scripted", "scripted (sim only), keyboard, or a LeRobot teleoperator type"),
    "teleop_config": ("", "a LeRobot teleoperator's config as YAML text or a YAML file path"),
}


def _nodes(context):
    def arg(name):
        return LaunchConfiguration(name).perform(context)

    return node_actions(
        record_graph(
            root=arg("root"),
            repo_id=arg("repo_id"),
            task=arg("task"),
            mapping=arg("mapping"),
            auto_episodes=arg("auto_episodes").lower() == "true",
            teleop=arg("teleop"),
            teleop_config=arg("teleop_config"),
            **hardware_values(context),
        )
    )


def generate_launch_description():
    return LaunchDescription(
        [
            *declare(HARDWARE_ARGUMENTS),
            *declare(RECORD_ARGUMENTS),
            network_argument(),
            OpaqueFunction(function=network_actions),
            OpaqueFunction(function=_nodes),
        ]
    )
