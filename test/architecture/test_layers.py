"""The package's layers: data and driver packages at the bottom, nodes translating messages
above them, orchestration (CLI, graphs, process runner, ROS clients) on top; no cycles."""

from __future__ import annotations

import ast
from collections import defaultdict
from functools import cache
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import lerobot_ros

PACKAGE = Path(lerobot_ros.__file__).parent
# Packages that start no ROS graph: they must never reach up into the nodes or orchestration.
DATA_PACKAGES = {
    "plugins",
    "control",
    "datasets",
    "emulators",
    "evaluation",
    "features",
    "hardware",
    "policy",
    "robots",
    "sim",
    "teleop",
}
UPPER_LAYERS = {"nodes", "orchestration"}


@cache
def _subpackage_imports() -> dict[str, set[str]]:
    """lerobot_ros.<a> -> the lerobot_ros.<b> it imports (any depth, lazy imports too)."""
    edges: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).parts
        source = parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                names = module.split(".")
                if names[0] == "lerobot_ros" and len(names) > 1 and names[1] != source:
                    edges[source].add(names[1])
    return edges


def test_subpackages_import_each_other_without_cycles():
    edges = _subpackage_imports()
    try:
        tuple(TopologicalSorter(edges).static_order())
    except CycleError as error:
        raise AssertionError(f"import cycle between subpackages: {error.args[1]}") from None


def test_data_packages_never_import_nodes_or_orchestration():
    edges = _subpackage_imports()
    wrong = {source: edges[source] & UPPER_LAYERS for source in DATA_PACKAGES}
    assert not {source: targets for source, targets in wrong.items() if targets}


def test_orchestration_is_imported_only_from_itself():
    edges = _subpackage_imports()
    importers = {source for source, targets in edges.items() if "orchestration" in targets}
    assert importers <= {"orchestration"}, importers


def _imports_panda(node: ast.AST) -> bool:
    if isinstance(node, ast.ImportFrom) and node.module == "lerobot_ros.robots":
        return any(alias.name == "panda" for alias in node.names)
    if isinstance(node, ast.ImportFrom):
        return node.module == "lerobot_ros.robots.panda"
    if isinstance(node, ast.Import):
        return any(alias.name == "lerobot_ros.robots.panda" for alias in node.names)
    return False


def test_only_robots_and_the_sim_name_the_panda():
    """Every other module takes a robot's joints and limits from its URDF (robot_model) or
    the simulated robot (sim.robot): the Panda is one robot among others."""
    importers = sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.relative_to(PACKAGE).parts[0] not in {"robots", "sim"}
        and any(map(_imports_panda, ast.walk(ast.parse(path.read_text(), str(path)))))
    )
    assert not importers, f"import lerobot_ros.robots.panda outside robots/ and sim/: {importers}"
