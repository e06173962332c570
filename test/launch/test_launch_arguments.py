"""Launch arguments come from the nodes' parameter files, optional packages are checked before
anything starts, and node processes are quiet by default; all checked without ROS's launch."""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys

import pytest

from lerobot_ros.orchestration import arguments
from lerobot_ros.orchestration.arguments import (
    GRAPH_ARGUMENTS,
    MissingPackages,
    check_packages,
    missing_packages,
    node_arguments,
    parameter_value,
)
from lerobot_ros.orchestration.graphs import (
    GRAPHS,
    eval_sim_graph,
    expert_eval_sim_graph,
    sim_graph,
    video_camera,
)
from lerobot_ros.orchestration.processes import NodeProcess
from lerobot_ros.resources import node_defaults, share_dir
from lerobot_ros.ros import parameters, quiet
from lerobot_ros.ros.parameters import CONFIGURE, parse_parameter_docs

NODE_FILES = sorted((share_dir() / "config").glob("*_node.yaml"))
LAUNCH_FILES = sorted((share_dir() / "launch").glob("*.launch.py"))


# --- parameter files: the one source of defaults and descriptions --------------------------
def test_comments_are_descriptions():
    text = """# header, not a parameter
/n:
  ros__parameters:
    rate: 30.0        # Hz of the loop
                      # (continued here)
    name: "a # b"     # a '#' inside quotes is part of the value
    bare: 1
"""
    docs = parse_parameter_docs(text, "n")
    assert docs["rate"].default == 30.0
    assert docs["rate"].description == "Hz of the loop (continued here)"
    assert docs["name"].default == "a # b"
    assert docs["name"].description == "a '#' inside quotes is part of the value"
    assert docs["bare"].description == ""


@pytest.mark.parametrize("path", NODE_FILES, ids=lambda p: p.stem)
def test_every_node_parameter_is_described(path):
    docs = parameters.parameter_docs(path.stem)
    assert docs.keys() == node_defaults(path.stem).keys()
    assert [name for name, doc in docs.items() if not doc.description] == []


@pytest.mark.parametrize("path", NODE_FILES, ids=lambda p: p.stem)
def test_node_rules_name_parameters_of_its_file(path):
    module = importlib.import_module(f"lerobot_ros.nodes.{path.stem}")
    rules = getattr(module, "PARAMETER_RULES", {})
    assert set(rules) <= set(node_defaults(path.stem))
    for name, rule in rules.items():
        descriptor = parameters.descriptor(parameters.parameter_docs(path.stem)[name], rule)
        assert descriptor.read_only == (rule.when == parameters.START)


def test_refusals():
    rule = parameters.configure(choices=("hold", "disable_torque"))
    assert parameters.refusal("on_bus_lost", "hold", rule, "unconfigured") is None
    reason = parameters.refusal("on_bus_lost", "hold", rule, "active")
    assert "read at configure" in reason and "active" in reason
    assert "must be one of" in parameters.refusal("on_bus_lost", "x", rule, "unconfigured")
    assert parameters.refusal("task", "any", parameters.live(), "active") is None
    assert rule.when == CONFIGURE


# --- launch arguments -----------------------------------------------------------------------
def test_every_graph_has_described_arguments_with_a_log_level():
    assert GRAPH_ARGUMENTS.keys() == GRAPHS.keys()
    for name, declared in GRAPH_ARGUMENTS.items():
        assert arguments.undocumented(declared.items()) == [], name
        assert declared["log_level"][0] == "info"


def test_node_parameter_arguments_read_the_parameter_file():
    sim = node_defaults("sim_node")
    assert GRAPH_ARGUMENTS["sim"]["control_hz"][0] == str(sim["control_hz"])
    assert GRAPH_ARGUMENTS["sim"]["image_width"][0] == str(sim["image_width"])
    assert GRAPH_ARGUMENTS["eval_sim"]["max_episode_steps"][0] == str(sim["max_episode_steps"])
    assert GRAPH_ARGUMENTS["record"]["task"][0] == node_defaults("recorder_node")["task"]
    assert GRAPH_ARGUMENTS["record"]["auto_episodes"][0] == "false"
    docs = parameters.parameter_docs("sim_node")
    assert GRAPH_ARGUMENTS["sim"]["seed"][1] == docs["seed"].description
    with pytest.raises(KeyError):
        node_arguments("sim_node", "no_such_parameter")


def test_argument_text_takes_the_parameter_type():
    assert parameter_value("sim_node", "control_hz", "15") == 15.0
    assert isinstance(parameter_value("sim_node", "control_hz", "15"), float)
    assert parameter_value("sim_node", "image_width", "320") == 320
    assert parameter_value("sim_node", "lockstep", "True") is True
    assert parameter_value("sim_node", "cameras", "[front]") == ["front"]


def test_max_episode_steps_has_one_default():
    """Graphs leave it to sim_node (its parameter file) unless asked for another."""
    assert "max_episode_steps" not in eval_sim_graph()[0].parameters
    assert "max_episode_steps" not in expert_eval_sim_graph()[0].parameters
    assert eval_sim_graph(max_episode_steps=60)[0].parameters["max_episode_steps"] == 60
    for path in [*LAUNCH_FILES, share_dir() / "lerobot_ros" / "orchestration" / "graphs.py"]:
        assert "300" not in path.read_text(), path.name


def test_the_eval_graph_renders_the_cameras_the_policy_takes(checkpoint_config):
    # The shipped policy takes no camera: the front one, for the videos.
    (sim, *_) = eval_sim_graph()
    assert sim.parameters["cameras"] == ["front"] and "image_width" not in sim.parameters
    wrist_only = checkpoint_config(
        {"observation.images.wrist": {"type": "VISUAL", "shape": [3, 72, 96]}}, "wrist"
    )
    graph = eval_sim_graph(policy_path=str(wrist_only))
    assert graph[0].parameters["cameras"] == ["wrist"]
    assert (graph[0].parameters["image_height"], graph[0].parameters["image_width"]) == (72, 96)
    assert video_camera(graph) == "wrist"
    assert (
        video_camera(eval_sim_graph(policy_path=str(wrist_only), cameras=("front", "wrist")))
        == "front"
    )
    overridden = eval_sim_graph(policy_path=str(wrist_only), cameras=())
    assert overridden[0].parameters["cameras"] == [] and video_camera(overridden) == ""
    top = checkpoint_config(
        {"observation.images.top": {"type": "VISUAL", "shape": [3, 8, 8]}}, "top"
    )
    with pytest.raises(ValueError, match=r"cameras \['top'\] the simulation does not have"):
        eval_sim_graph(policy_path=str(top))
    with pytest.raises(ValueError, match="policy checkpoint directory not found"):
        eval_sim_graph(policy_path=str(top / "missing"))


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_declares_its_graph_arguments(path):
    """No argument declared by hand: each file declares GRAPH_ARGUMENTS[<graph>]."""
    tree = ast.parse(path.read_text())
    called = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert "DeclareLaunchArgument" not in called
    graph = path.name.removesuffix(".launch.py")
    assert f'GRAPH_ARGUMENTS["{graph}"]' in path.read_text()
    assert "node_actions(graph, context)" in path.read_text()  # checks packages, log level


# --- optional packages ----------------------------------------------------------------------
def test_missing_packages_are_named_with_how_to_install_them():
    def nothing(_: str) -> None:
        return None

    graph = sim_graph(rviz_enabled=True, rviz_config="x.rviz")
    missing = missing_packages(graph, ros_package_found=lambda _: False, which=nothing)
    assert missing == [
        "robot_state_publisher is not installed "
        "(sudo apt install ros-$ROS_DISTRO-robot-state-publisher)",
        "rviz2 is not installed (sudo apt install ros-$ROS_DISTRO-rviz2)",
    ]
    keyboard = GRAPHS["teleop"](teleop="keyboard")
    assert missing_packages(keyboard, ros_package_found=lambda _: False, which=nothing) == [
        "xterm is not installed (sudo apt install xterm)"
    ]
    assert missing_packages(graph, ros_package_found=lambda _: True, which=nothing) == []
    assert missing_packages(sim_graph(), ros_package_found=lambda _: False, which=nothing) == []


def test_check_runs_before_anything_starts_on_this_machine():
    """Here (no ROS install sourced) robot_state_publisher is not found through the ament
    index: the check raises, naming it, and nothing was started."""
    graph = sim_graph(rviz_enabled=True, rviz_config="x.rviz")
    with pytest.raises(MissingPackages, match="robot_state_publisher is not installed"):
        check_packages(graph)
    check_packages(sim_graph())  # our own nodes need nothing more


# --- quiet nodes ----------------------------------------------------------------------------
def test_log_level_from_ros_arguments():
    assert quiet.log_level_from_args(["x", "--ros-args", "--log-level", "DEBUG"]) == "debug"
    assert quiet.log_level_from_args(["x", "--ros-args", "--log-level", "rcl:=debug"]) is None
    assert quiet.library_environment("debug") == {}
    assert quiet.library_environment(None)["TQDM_DISABLE"] == "1"


def test_quiet_never_overrides_the_users_setting():
    environ = {"SVT_LOG": "3"}
    added = quiet.quiet_libraries(["node"], environ)
    assert environ["SVT_LOG"] == "3" and "SVT_LOG" not in added
    assert environ["TQDM_DISABLE"] == "1"


def test_stdout_goes_to_the_log():
    lines = []
    with quiet.stdout_to_log(lines.append):
        print("Loading weights from local directory")
    assert lines == ["Loading weights from local directory"]


ENCODE = """
import io, av, numpy as np
container = av.open(io.BytesIO(), "w", format="mp4")
stream = container.add_stream("libsvtav1", rate=30)
stream.width = stream.height = 64
stream.pix_fmt = "yuv420p"
frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
for packet in [*stream.encode(frame), *stream.encode()]:
    container.mux(packet)
container.close()
from tqdm import tqdm
for _ in tqdm(range(3), mininterval=0):
    pass
"""


@pytest.mark.parametrize("log_level", ["info", "debug"])
def test_the_encoder_banner_and_progress_bars_follow_the_log_level(log_level):
    """The libraries LeRobot records with, in a process quieted as a node process is."""
    environ = {k: v for k, v in os.environ.items() if k not in quiet.QUIET_ENVIRONMENT}
    quiet.quiet_libraries(["node", "--ros-args", "--log-level", log_level], environ)
    result = subprocess.run(
        [sys.executable, "-c", ENCODE], env=environ, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    noisy = "Svt[info]" in result.stderr, "3/3" in result.stderr
    assert noisy == ((True, True) if log_level == "debug" else (False, False)), result.stderr


def test_runner_passes_the_log_level_to_every_node():
    process = NodeProcess("lerobot_ros.nodes.sim_node", {"seed": 1}, log_level="warn")
    assert process.command[-4:] == ["--log-level", "warn", "-p", "seed:=1"]
