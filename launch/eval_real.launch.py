"""A policy acting on the real robot in real time (``sim:=true``: on the sim instead).

    ros2 launch lerobot_ros eval_real.launch.py policy_path:=/path/to/pretrained_model \\
        mapping:=/path/to/mapping.yaml port:=/dev/ttyUSB0 record_root:=/data/rollouts

Same topics on both sides: the policy node never knows which one it drives. With
``record_root`` the rollouts are recorded as a LeRobotDataset. The node list comes from
lerobot_ros.graphs (`lerobot-ros run eval_real`).
"""

from launch import LaunchDescription
from launch.actions import OpaqueFunction
from launch.substitutions import LaunchConfiguration

from lerobot_ros.graphs import eval_real_graph
from lerobot_ros.launching.launch_actions import (
    HARDWARE_ARGUMENTS,
    declare,
    hardware_values,
    network_actions,
    network_argument,
    node_actions,
)

POLICY_ARGUMENTS = {
    "policy_path": ("", "checkpoint dir or cached Hub repo id; empty: the shipped policy"),
    "mapping": ("", "feature mapping YAML matching the policy and the robot"),
    "record_root": ("", "dataset directory to record the rollouts into; empty: no recording"),
}


def _nodes(context):
    def arg(name):
        return LaunchConfiguration(name).perform(context)

    return node_actions(
        eval_real_graph(
            policy_path=arg("policy_path"),
            mapping=arg("mapping"),
            record_root=arg("record_root"),
            **hardware_values(context),
        )
    )


def generate_launch_description():
    return LaunchDescription(
        [
            *declare(
                HARDWARE_ARGUMENTS | {"sim": ("false", "false: the real robot; true: the sim")}
            ),
            *declare(POLICY_ARGUMENTS),
            network_argument(),
            OpaqueFunction(function=network_actions),
            OpaqueFunction(function=_nodes),
        ]
    )
