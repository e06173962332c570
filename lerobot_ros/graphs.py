"""Each graph's nodes, parameters and remappings, in one place.

The launch files (``ros2 launch lerobot_ros <graph>.launch.py``) and the launch-free runner
(``lerobot-ros run <graph>``, for machines without ``launch``) both build their graphs
from here, so the two can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lerobot_ros.ros import topics

PACKAGE_NAME = "lerobot_ros"


@dataclass(frozen=True)
class NodeSpec:
    """One node of a graph. ``module`` is set for our own nodes (runnable without launch)."""

    name: str
    package: str
    executable: str
    module: str | None = None
    class_name: str | None = None  # the rclpy Node class in ``module`` (composed mode)
    parameters: dict = field(default_factory=dict)
    remappings: tuple[tuple[str, str], ...] = ()
    arguments: tuple[str, ...] = ()
    # Topics this node publishes that other specs (RViz config, tests) rely on.
    publishes: tuple[str, ...] = ()


def _own_node(
    name: str, class_name: str, parameters: dict, publishes: tuple[str, ...] = ()
) -> NodeSpec:
    """One of our nodes: executable ``name``, class ``class_name`` in lerobot_ros/nodes/<name>.py."""
    return NodeSpec(
        name=name,
        package=PACKAGE_NAME,
        executable=name,
        module=f"lerobot_ros.nodes.{name}",
        class_name=class_name,
        parameters=parameters,
        publishes=publishes,
    )


def sim_node(**parameters: object) -> NodeSpec:
    from lerobot_ros.robots.panda import CAMERA_NAMES  # keep this module light to import

    camera_topics = tuple(
        t for c in CAMERA_NAMES for t in (topics.camera_image(c), topics.camera_info(c))
    )
    sim_topics = (topics.JOINT_STATES, topics.CLOCK, topics.ROBOT_DESCRIPTION, topics.SCENE_MARKERS)
    return _own_node(
        "sim_node", "SimNode", dict(parameters), (*sim_topics, topics.TASK_STATUS, *camera_topics)
    )


def policy_node(**parameters: object) -> NodeSpec:
    return _own_node(
        "policy_node",
        "PolicyNode",
        {"use_sim_time": True, **parameters},
        (topics.POSITION_COMMANDS, topics.POLICY_STATUS),
    )


def eval_node(**parameters: object) -> NodeSpec:
    # No use_sim_time: it only counts statuses, and /clock at lockstep speed is not free.
    return _own_node("eval_node", "EvalNode", dict(parameters))


def scripted_teleop_node(**parameters: object) -> NodeSpec:
    return _own_node(
        "scripted_teleop_node", "ScriptedTeleopNode", dict(parameters), (topics.POSITION_COMMANDS,)
    )


def robot_state_publisher() -> NodeSpec:
    """TF for RViz from /robot_description + /joint_states (present in any ROS install)."""
    return NodeSpec(
        name="robot_state_publisher",
        package="robot_state_publisher",
        executable="robot_state_publisher",
        parameters={"use_sim_time": True},
        publishes=("/tf", "/tf_static"),
    )


def rviz(config_file: str) -> NodeSpec:
    return NodeSpec(
        name="rviz2",
        package="rviz2",
        executable="rviz2",
        parameters={"use_sim_time": True},
        arguments=("-d", config_file),
    )


def sim_graph(
    rviz_enabled: bool = False, rviz_config: str = "", **sim_parameters: object
) -> list[NodeSpec]:
    """The simulation alone: sim_node, plus robot_state_publisher and RViz to watch it."""
    graph = [sim_node(**sim_parameters)]
    if rviz_enabled:
        graph += [robot_state_publisher(), rviz(rviz_config)]
    return graph


def eval_sim_graph(
    policy_path: str = "",
    lockstep: bool = True,
    max_episode_steps: int = 300,
    rviz_enabled: bool = False,
    rviz_config: str = "",
    cameras: tuple[str, ...] = ("front",),
) -> list[NodeSpec]:
    """Sim + policy + eval. Lockstep (default): one sim step per action, deterministic and
    as fast as the policy; ``lockstep=False`` runs both in real time at 30 Hz. The front
    camera is rendered for the eval videos (a state-only policy needs no camera)."""
    graph = [
        sim_node(lockstep=lockstep, cameras=list(cameras), max_episode_steps=max_episode_steps),
        # Lockstep acts on message stamps: no sim-time clock to follow (saves a /clock
        # subscription at the loop's full rate).
        policy_node(policy_path=policy_path, lockstep=lockstep, use_sim_time=not lockstep),
        eval_node(),
    ]
    if rviz_enabled:
        graph += [robot_state_publisher(), rviz(rviz_config)]
    return graph


def expert_eval_sim_graph(max_episode_steps: int = 300) -> list[NodeSpec]:
    """The scripted expert driving the sim in real time, scored by eval_node (a check of
    the graph without a learned policy)."""
    return [
        sim_node(cameras=["front"], max_episode_steps=max_episode_steps),
        scripted_teleop_node(),
        eval_node(),
    ]


GRAPHS = {"sim": sim_graph, "eval_sim": eval_sim_graph}
