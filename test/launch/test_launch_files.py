"""Launch files build their graphs from lerobot_ros.orchestration.graphs.

``launch``/``launch_ros`` come only with a ROS 2 install (no registry has them), so the part
that loads the launch files is skipped elsewhere; the part that checks their source runs
everywhere.
"""

from __future__ import annotations

import ast
import importlib.util

import pytest

from lerobot_ros.orchestration.graphs import GRAPHS
from lerobot_ros.resources import share_dir

LAUNCH_FILES = sorted((share_dir() / "launch").glob("*.launch.py"))


def test_every_graph_has_a_launch_file_and_back():
    names = {path.name.removesuffix(".launch.py") for path in LAUNCH_FILES}
    assert names == set(GRAPHS), (
        "launch/ and lerobot_ros.orchestration.graphs.GRAPHS must list the same graphs"
    )


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_reads_its_graph_from_the_registry(path):
    tree = ast.parse(path.read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "lerobot_ros.orchestration.graphs"
        for alias in node.names
    }
    graph_name = path.name.removesuffix(".launch.py")
    assert GRAPHS[graph_name].__name__ in imported
    assert any(
        isinstance(n, ast.FunctionDef) and n.name == "generate_launch_description"
        for n in tree.body
    )


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_loads_in_a_ros_install(path):
    pytest.importorskip(
        "launch_ros", reason="launch_ros is not installable from a registry; needs a ROS 2 install"
    )
    from launch import LaunchContext
    from launch.actions import OpaqueFunction

    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    description = module.generate_launch_description()
    context = LaunchContext()
    for entity in description.entities:
        entity.visit(context)
    executables = set()
    for entity in description.entities:
        if isinstance(entity, OpaqueFunction):
            for action in entity.execute(context) or []:
                if hasattr(action, "node_executable"):
                    executables.add(action.node_executable)
    ours = {spec.executable for spec in GRAPHS[path.name.removesuffix(".launch.py")]()}
    assert executables and executables <= ours | {"robot_state_publisher", "rviz2"}
