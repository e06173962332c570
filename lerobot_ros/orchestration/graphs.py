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
    # Reads keys from a terminal: launch files run it in its own terminal window.
    interactive: bool = False


def _own_node(
    executable: str,
    class_name: str,
    parameters: dict,
    publishes: tuple[str, ...] = (),
    name: str | None = None,
    interactive: bool = False,
) -> NodeSpec:
    """One of our nodes: ``executable``, class ``class_name`` in lerobot_ros/nodes/<executable>.py
    (``name``: another node name, for several instances of one executable)."""
    return NodeSpec(
        name=name or executable,
        package=PACKAGE_NAME,
        executable=executable,
        module=f"lerobot_ros.nodes.{executable}",
        class_name=class_name,
        parameters=parameters,
        publishes=publishes,
        interactive=interactive,
    )


def sim_node(**parameters: object) -> NodeSpec:
    from lerobot_ros.sim.robot import CAMERA_NAMES  # keep this module light to import

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


def keyboard_teleop_node(**parameters: object) -> NodeSpec:
    return _own_node(
        "keyboard_teleop_node",
        "KeyboardTeleopNode",
        dict(parameters),
        (topics.POSITION_COMMANDS,),
        interactive=True,
    )


def lerobot_teleop_node(**parameters: object) -> NodeSpec:
    return _own_node(
        "lerobot_teleop_node", "LeRobotTeleopNode", dict(parameters), (topics.POSITION_COMMANDS,)
    )


def recorder_node(**parameters: object) -> NodeSpec:
    return _own_node(
        "recorder_node",
        "RecorderNode",
        {"use_sim_time": True, **parameters},
        (topics.RECORDER_STATUS,),
    )


def dynamixel_node(**parameters: object) -> NodeSpec:
    return _own_node(
        "dynamixel_node", "DynamixelNode", {"autostart": True, **parameters}, (topics.JOINT_STATES,)
    )


def lerobot_robot_node(**parameters: object) -> NodeSpec:
    return _own_node(
        "lerobot_robot_node", "LeRobotRobotNode", dict(parameters), (topics.JOINT_STATES,)
    )


def camera_node(camera: str, device: str) -> NodeSpec:
    return _own_node(
        "camera_node",
        "CameraNode",
        {"camera_name": camera, "device": device},
        (topics.camera_image(camera), topics.camera_info(camera)),
        name=f"{camera}_camera",
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
    return [sim_node(**sim_parameters), *_viewers(rviz_enabled, rviz_config)]


def eval_sim_graph(
    policy_path: str = "",
    lockstep: bool = True,
    max_episode_steps: int | None = None,
    rviz_enabled: bool = False,
    rviz_config: str = "",
    cameras: tuple[str, ...] | None = None,
) -> list[NodeSpec]:
    """Sim + policy + eval. Lockstep (default): one sim step per action, deterministic and
    as fast as the policy; ``lockstep=False`` runs both in real time at 30 Hz.
    ``cameras`` None: those the checkpoint takes, at its image size (see
    :func:`policy_cameras`); a tuple overrides. ``max_episode_steps`` None: sim_node's own
    (config/sim_node.yaml)."""
    sim_parameters = _steps(max_episode_steps)
    if cameras is None:
        cameras, image_size = policy_cameras(policy_path)
        sim_parameters.update(image_size)
    graph = [
        sim_node(lockstep=lockstep, cameras=list(cameras), **sim_parameters),
        # Lockstep acts on message stamps: no sim-time clock to follow (saves a /clock
        # subscription at the loop's full rate).
        policy_node(policy_path=policy_path, lockstep=lockstep, use_sim_time=not lockstep),
        eval_node(),
    ]
    return graph + _viewers(rviz_enabled, rviz_config)


def policy_cameras(policy_path: str) -> tuple[tuple[str, ...], dict]:
    """(cameras, sim image-size parameters) for a checkpoint ("" = the shipped one): exactly
    the cameras its input features name, rendered at its image size when they share one; the
    front camera, for eval videos, when it takes none. ValueError names a bad checkpoint or a
    camera the sim does not have."""
    from lerobot_ros.evaluation.report import VIDEO_CAMERA
    from lerobot_ros.policy.loading import (
        PolicyLoadError,
        checkpoint_cameras,
        common_image_size,
        shipped_policy_dir,
    )
    from lerobot_ros.sim.robot import CAMERA_NAMES

    try:
        cameras = checkpoint_cameras(policy_path or shipped_policy_dir())
    except PolicyLoadError as error:
        raise ValueError(str(error)) from None
    unknown = [camera.name for camera in cameras if camera.name not in CAMERA_NAMES]
    if unknown:
        raise ValueError(
            f"the policy takes cameras {unknown} the simulation does not have (it renders "
            f"{list(CAMERA_NAMES)})"
        )
    size = common_image_size(cameras)
    parameters = {} if size is None else {"image_height": size[0], "image_width": size[1]}
    return tuple(camera.name for camera in cameras) or (VIDEO_CAMERA,), parameters


def video_camera(graph: list[NodeSpec]) -> str:
    """The camera for eval videos in ``graph``: the front one if the sim renders it, else the
    first it renders ("" when it renders none)."""
    from lerobot_ros.evaluation.report import VIDEO_CAMERA

    rendered = next(
        (spec.parameters.get("cameras") for spec in graph if spec.name == "sim_node"), None
    )
    if rendered is None or VIDEO_CAMERA in rendered:
        return VIDEO_CAMERA
    return rendered[0] if rendered else ""


def _steps(max_episode_steps: int | None) -> dict:
    """sim_node's max_episode_steps when given; its parameter file's default otherwise."""
    return {} if max_episode_steps is None else {"max_episode_steps": max_episode_steps}


def expert_eval_sim_graph(max_episode_steps: int | None = None) -> list[NodeSpec]:
    """The scripted expert driving the sim in real time, scored by eval_node (a check of
    the graph without a learned policy)."""
    return [
        sim_node(cameras=["front"], **_steps(max_episode_steps)),
        scripted_teleop_node(),
        eval_node(),
    ]


# --- the hardware side: one argument swaps the sim for the real robot ---------------------
# (ros2_control_demos' use_mock_hardware pattern: the nodes above the hardware, and every
# topic they use, stay the same.)
TELEOPS = ("scripted", "keyboard")  # or any LeRobot teleoperator type (koch_leader, ...)
ARMS = ("dynamixel", "lerobot")


def hardware_side(
    sim: bool,
    cameras: tuple[str, ...] = ("front", "wrist"),
    arm: str = "dynamixel",
    port: str = "/dev/ttyUSB0",
    robot_type: str = "",
    robot_config: str = "",
    camera_devices: tuple[str, ...] = (),
    driver_parameters: dict | None = None,
    **sim_parameters: object,
) -> list[NodeSpec]:
    """sim_node, or the real arm's driver and one camera node per camera, on the same topics.

    Real arms: ``dynamixel`` (dynamixel_node on ``port``) or ``lerobot`` (any LeRobot robot,
    ``robot_type`` and ``robot_config``), with any other ``driver_parameters``;
    ``camera_devices`` are the OpenCV devices of ``cameras``, in order (a LeRobot robot
    brings its own cameras, so none by default).
    """
    driver_parameters = driver_parameters or {}
    if sim:
        return [sim_node(cameras=list(cameras), **sim_parameters)]
    if arm == "dynamixel":
        driver = dynamixel_node(port=port, **driver_parameters)
    elif arm == "lerobot":
        if not robot_type:
            raise ValueError("arm 'lerobot' needs robot_type (so101_follower, koch_follower, ...)")
        driver = lerobot_robot_node(
            robot_type=robot_type, robot_config=robot_config, **driver_parameters
        )
    else:
        raise ValueError(f"unknown arm {arm!r}; choose from {list(ARMS)}")
    if camera_devices and len(camera_devices) != len(cameras):
        raise ValueError(f"{len(camera_devices)} camera devices for cameras {list(cameras)}")
    return [driver, *(camera_node(c, d) for c, d in zip(cameras, camera_devices, strict=False))]


def teleop_nodes(
    teleop: str,
    sim: bool,
    teleop_config: str = "",
    follower_type: str = "",
    follower_config: str = "",
) -> list[NodeSpec]:
    """The commander: the scripted expert (sim only), the keyboard, or a LeRobot teleoperator
    (``follower_*``: the LeRobot robot it drives, for joint order, units and limits)."""
    clock = {"use_sim_time": sim}
    if teleop == "scripted":
        if not sim:
            raise ValueError("the scripted expert needs the sim's cube pose: use sim:=true")
        return [scripted_teleop_node(**clock)]
    if teleop == "keyboard":
        return [keyboard_teleop_node(**clock)]
    if not teleop:
        raise ValueError(f"teleop must be one of {list(TELEOPS)} or a LeRobot teleoperator type")
    follower = {"follower_type": follower_type, "follower_config": follower_config}
    return [
        lerobot_teleop_node(teleop_type=teleop, teleop_config=teleop_config, **follower, **clock)
    ]


def _viewers(rviz_enabled: bool, rviz_config: str) -> list[NodeSpec]:
    return [robot_state_publisher(), rviz(rviz_config)] if rviz_enabled else []


def teleop_graph(
    sim: bool = True,
    teleop: str = "scripted",
    teleop_config: str = "",
    rviz_enabled: bool = False,
    rviz_config: str = "",
    **hardware: object,
) -> list[NodeSpec]:
    """Teleoperation: the hardware side and a teleoperator."""
    return [
        *hardware_side(sim, **hardware),
        *teleop_nodes(
            teleop,
            sim,
            teleop_config,
            str(hardware.get("robot_type", "")),
            str(hardware.get("robot_config", "")),
        ),
        *_viewers(rviz_enabled, rviz_config),
    ]


def record_graph(
    root: str = "",
    repo_id: str = "lerobot_ros/recording",
    task: str = "",
    mapping: str = "",
    auto_episodes: bool = False,
    fps: int = 0,
    sim: bool = True,
    teleop: str = "scripted",
    **teleop_and_hardware: object,
) -> list[NodeSpec]:
    """Teleoperation plus recorder_node writing a LeRobotDataset (``fps`` 0: the mapping's)."""
    recorder = {"root": root, "repo_id": repo_id, "mapping": mapping, "use_sim_time": sim}
    recorder["fps"] = fps
    recorder |= {"auto_episodes": auto_episodes} | ({"task": task} if task else {})
    return [
        *teleop_graph(sim=sim, teleop=teleop, **teleop_and_hardware),
        recorder_node(**recorder),
    ]


def eval_real_graph(
    policy_path: str = "",
    mapping: str = "",
    sim: bool = False,
    record_root: str = "",
    rviz_enabled: bool = False,
    rviz_config: str = "",
    **hardware: object,
) -> list[NodeSpec]:
    """A policy acting in real time on the real robot (or, sim:=true, on the sim), optionally
    recorded (rollouts as a LeRobotDataset, as ``lerobot-record`` with a policy)."""
    graph = [
        *hardware_side(sim, **hardware),
        policy_node(policy_path=policy_path, mapping=mapping, use_sim_time=sim),
    ]
    if record_root:
        graph.append(recorder_node(root=record_root, mapping=mapping, use_sim_time=sim))
    return graph + _viewers(rviz_enabled, rviz_config)


GRAPHS = {
    "sim": sim_graph,
    "eval_sim": eval_sim_graph,
    "eval_real": eval_real_graph,
    "record": record_graph,
    "teleop": teleop_graph,
}
