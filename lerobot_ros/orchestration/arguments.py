"""What the launch files need that does not need ROS's ``launch``: their arguments' defaults
and descriptions (from the nodes' parameter files), and the check for optional packages.

A launch argument that sets a node parameter reads its default and description from
``config/<node>.yaml``, the one place they are written (lerobot_ros.ros.parameters).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Sequence

from lerobot_ros.orchestration.graphs import NodeSpec
from lerobot_ros.ros.parameters import parameter_docs
from lerobot_ros.ros.quiet import DEFAULT_LOG_LEVEL, LOG_LEVELS

# name -> (default, description), as launch_actions.declare takes them.
Arguments = dict[str, tuple[str, str]]

LOG_LEVEL_ARGUMENTS: Arguments = {
    "log_level": (
        DEFAULT_LOG_LEVEL,
        f"log level of every node ({', '.join(LOG_LEVELS)}); debug also lets the libraries' "
        "encoder banners and progress bars through",
    )
}


def split_names(text: str) -> tuple[str, ...]:
    """``"front, wrist"`` -> ("front", "wrist"): a comma-separated argument (launch or CLI)."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


# Packages that graphs may use beyond ours: how to get each one.
_INSTALL = {
    "robot_state_publisher": "sudo apt install ros-$ROS_DISTRO-robot-state-publisher",
    "rviz2": "sudo apt install ros-$ROS_DISTRO-rviz2",
    "xterm": "sudo apt install xterm",
}
# The terminal an interactive node (the keyboard teleoperator) runs in under ros2 launch.
TERMINAL = "xterm"


def launch_text(value: object) -> str:
    """A parameter value as a launch argument string (``true``, ``30.0``, ``[front,wrist]``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ",".join(launch_text(v) for v in value) + "]"
    return str(value)


def node_arguments(node_name: str, *names: str) -> Arguments:
    """Launch arguments for parameters of ``config/<node_name>.yaml``: its default and
    description of each (KeyError for a name the file does not have)."""
    docs = parameter_docs(node_name)
    return {name: (launch_text(docs[name].default), docs[name].description) for name in names}


def parameter_value(node_name: str, name: str, text: str) -> object:
    """A launch argument's text as the type of the parameter's default in the YAML file
    (``15`` for a float parameter becomes 15.0: the node's parameter is typed)."""
    import yaml

    default = parameter_docs(node_name)[name].default
    if isinstance(default, bool):
        return str(text).strip().lower() == "true"
    if isinstance(default, int | float | str):
        return type(default)(text)
    return yaml.safe_load(text) if text else []


def required_packages(graph: Sequence[NodeSpec]) -> list[str]:
    """The packages or programs ``graph`` needs beyond ours, under ``ros2 launch``."""
    needed = [spec.package for spec in graph if spec.module is None]
    if any(spec.interactive for spec in graph):
        needed.append(TERMINAL)
    return list(dict.fromkeys(needed))


def _ros_package_found(package: str) -> bool:
    try:
        from ament_index_python.packages import (
            PackageNotFoundError,
            get_package_share_directory,
        )
    except ImportError:
        return False
    try:
        get_package_share_directory(package)
    except (PackageNotFoundError, OSError):  # OSError: no AMENT_PREFIX_PATH, no ROS sourced
        return False
    return True


def missing_packages(
    graph: Sequence[NodeSpec],
    ros_package_found: Callable[[str], bool] = _ros_package_found,
    which: Callable[[str], str | None] = shutil.which,
) -> list[str]:
    """One line per package ``graph`` needs that is not installed, naming how to install it."""
    missing = []
    for package in required_packages(graph):
        found = which(package) is not None if package == TERMINAL else ros_package_found(package)
        if not found:
            how = _INSTALL.get(package, f"install the ROS package {package}")
            missing.append(f"{package} is not installed ({how})")
    return missing


class MissingPackages(RuntimeError):
    """A graph needs packages that are not installed; nothing was started."""


def check_packages(graph: Sequence[NodeSpec], **finders: Callable) -> None:
    """Raise MissingPackages naming every missing package, before any node starts."""
    missing = missing_packages(graph, **finders)
    if missing:
        raise MissingPackages(
            "cannot start this graph: "
            + "; ".join(missing)
            + " (or leave out the option needing it)"
        )


def undocumented(arguments: Iterable[tuple[str, tuple[str, str]]]) -> list[str]:
    """Arguments without a description (a launch file test checks there are none)."""
    return [name for name, (_, description) in arguments if not description.strip()]


RVIZ_ARGUMENTS: Arguments = {"rviz": ("false", "start RViz (and robot_state_publisher)")}
# The hardware side (graphs.hardware_side), shared by the graphs that swap sim and real.
HARDWARE_ARGUMENTS: Arguments = {
    "sim": ("true", "true: sim_node; false: the real robot (same topics)"),
    "arm": (
        "dynamixel",
        "real arm driver: dynamixel (dynamixel_node) or lerobot (any LeRobot robot)",
    ),
    **node_arguments("dynamixel_node", "port"),
    **node_arguments("lerobot_robot_node", "robot_type", "robot_config"),
    "cameras": ("front,wrist", "camera names (comma-separated)"),
    "camera_devices": ("", "real: OpenCV device of each camera, comma-separated (/dev/video0,...)"),
    **RVIZ_ARGUMENTS,
}
_TELEOP_ARGUMENTS: Arguments = {
    "teleop": (
        "scripted",
        "scripted (sim only), keyboard (in an xterm), or a LeRobot teleoperator type",
    ),
    **node_arguments("lerobot_teleop_node", "teleop_config"),
}
# Each graph's launch arguments (launch/<graph>.launch.py declares exactly these, plus
# ``network``): name -> (default, description).
GRAPH_ARGUMENTS: dict[str, Arguments] = {
    "sim": {
        **RVIZ_ARGUMENTS,
        **node_arguments("sim_node", "image_width", "image_height", "control_hz", "seed"),
        **LOG_LEVEL_ARGUMENTS,
    },
    "eval_sim": {
        **node_arguments("policy_node", "policy_path"),
        "cameras": ("", "cameras to render, comma-separated (empty: those the policy takes)"),
        "realtime": ("false", "true: 30 Hz real time; false: lockstep (deterministic)"),
        **node_arguments("sim_node", "max_episode_steps"),
        **RVIZ_ARGUMENTS,
        **LOG_LEVEL_ARGUMENTS,
    },
    "eval_real": {
        **HARDWARE_ARGUMENTS,
        "sim": ("false", "false: the real robot; true: the sim"),
        **node_arguments("policy_node", "policy_path", "mapping"),
        "record_root": ("", "dataset directory to record the rollouts into; empty: no recording"),
        **LOG_LEVEL_ARGUMENTS,
    },
    "record": {
        **HARDWARE_ARGUMENTS,
        **node_arguments("recorder_node", "root", "repo_id", "task", "mapping", "auto_episodes"),
        **_TELEOP_ARGUMENTS,
        **LOG_LEVEL_ARGUMENTS,
    },
    "teleop": {**HARDWARE_ARGUMENTS, **_TELEOP_ARGUMENTS, **LOG_LEVEL_ARGUMENTS},
}
