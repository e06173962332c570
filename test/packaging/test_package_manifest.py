"""package.xml, setup.cfg and CMakeLists.txt agree with the code, so they cannot drift.

Pure checks (no ROS graph): every module the code imports comes either from
requirements/runtime.txt or from a package that package.xml declares, and every console script
pip installs is also an executable CMake installs for `ros2 run`.
"""

from __future__ import annotations

import ast
import configparser
import importlib.metadata
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "lerobot_ros"


def python_sources() -> Iterator[Path]:
    yield from sorted((ROOT / PACKAGE).rglob("*.py"))
    yield from sorted((ROOT / "launch").glob("*.py"))


def imported_top_level(path: Path) -> set[str]:
    """Top-level names of the absolute imports in ``path``, lazy and guarded ones included."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def third_party_imports() -> dict[str, list[str]]:
    """Imported module -> files importing it, for everything beyond the stdlib and ourselves."""
    found: dict[str, list[str]] = {}
    for path in python_sources():
        for name in imported_top_level(path):
            if name in sys.stdlib_module_names or name in {PACKAGE, "__future__"}:
                continue
            found.setdefault(name, []).append(str(path.relative_to(ROOT)))
    return found


def declared_in_package_xml() -> set[str]:
    root = ElementTree.parse(ROOT / "package.xml").getroot()
    tags = ("depend", "exec_depend", "build_depend", "buildtool_depend", "test_depend")
    return {element.text.strip() for tag in tags for element in root.iter(tag)}


def runtime_requirements() -> list[Requirement]:
    lines = (ROOT / "requirements" / "runtime.txt").read_text().splitlines()
    return [Requirement(line.split("#")[0]) for line in lines if line.split("#")[0].strip()]


def installed_closure(requirements: list[Requirement]) -> set[str]:
    """Canonical names of the distributions these requirements install, dependencies included."""
    seen: set[str] = set()
    pending = [(canonicalize_name(r.name), frozenset(r.extras)) for r in requirements]
    while pending:
        name, extras = pending.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for text in requires:
            requirement = Requirement(text)
            environments = [{"extra": extra} for extra in extras] or [{"extra": ""}]
            if requirement.marker is None or any(
                requirement.marker.evaluate(environment) for environment in environments
            ):
                pending.append((canonicalize_name(requirement.name), frozenset(requirement.extras)))
    return {name for name, _ in seen}


def modules_from_pip() -> set[str]:
    """Top-level modules of the distributions requirements/runtime.txt installs."""
    closure = installed_closure(runtime_requirements())
    return {
        module
        for module, distributions in importlib.metadata.packages_distributions().items()
        if any(canonicalize_name(d) in closure for d in distributions)
    }


def test_runtime_requirements_pin_no_ros_wheel_and_no_dev_tool():
    names = {canonicalize_name(r.name) for r in runtime_requirements()}
    dev = {canonicalize_name(line.split("==")[0]) for line in _requirement_lines("dev.txt")}
    assert not {n for n in names if n.startswith("ros-")}, "ROS wheels belong in ros-<lane>.txt"
    assert not names & dev, "dev and test tools belong in dev.txt"
    assert not names & {"colcon-core", "colcon-ros", "colcon-cmake"}


def test_every_import_is_declared_in_package_xml_or_installed_by_runtime_txt():
    from_pip = modules_from_pip()
    assert "lerobot" in from_pip and "numpy" in from_pip  # the closure walked LeRobot's needs
    declared = declared_in_package_xml()
    undeclared = {
        module: files
        for module, files in third_party_imports().items()
        if module not in from_pip and module not in declared
    }
    assert not undeclared, (
        f"imported but neither a package.xml dependency nor installed by "
        f"requirements/runtime.txt: {undeclared}"
    )


def test_ros_packages_the_code_names_are_declared():
    """Nodes started by package name (launch_ros) need their packages at run time too."""
    declared = declared_in_package_xml()
    named = set()
    for path in python_sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.keyword) and node.arg == "package":
                if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                    named.add(node.value.value)
    assert named, "expected Node(package=...) in lerobot_ros.orchestration.graphs"
    assert named - {PACKAGE} <= declared


def _requirement_lines(name: str) -> list[str]:
    lines = (ROOT / "requirements" / name).read_text().splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


def pip_console_scripts() -> dict[str, str]:
    """setup.cfg's console scripts as setuptools reads them: name -> 'module:function'."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    entries = config["options.entry_points"]["console_scripts"].strip().splitlines()
    return dict(tuple(part.strip() for part in entry.split("=", 1)) for entry in entries)


def test_console_scripts_point_at_functions_that_exist():
    for name, target in pip_console_scripts().items():
        module, function = target.split(":")
        path = ROOT / Path(*module.split(".")).with_suffix(".py")
        assert path.is_file(), f"console script {name}: no module {module} ({path})"
        tree = ast.parse(path.read_text())
        assert any(
            isinstance(node, ast.FunctionDef) and node.name == function for node in tree.body
        ), f"console script {name}: {module} has no function {function}"


def test_cmake_installs_an_executable_for_every_console_script(tmp_path):
    """CMakeLists.txt's list is read from setup.cfg by cmake/console_scripts.cmake: run it."""
    cmake = shutil.which("cmake") or shutil.which("cmake", path=str(Path(sys.executable).parent))
    if cmake is None:
        pytest.skip("cmake is not installed")
    driver = tmp_path / "print_console_scripts.cmake"
    driver.write_text(
        f'include("{ROOT}/cmake/console_scripts.cmake")\n'
        f'lerobot_ros_console_scripts("{ROOT}/setup.cfg" scripts)\n'
        'foreach(script IN LISTS scripts)\n  message(STATUS "console_script ${script}")\nendforeach()\n'
    )
    result = subprocess.run(
        [cmake, "-P", str(driver)], capture_output=True, text=True, check=True, timeout=60
    )
    from_cmake = dict(
        line.split(" ", 2)[2].split("=", 1)
        for line in (result.stdout + result.stderr).splitlines()
        if line.startswith("-- console_script ")
    )
    assert from_cmake == pip_console_scripts()
    cmake_lists = (ROOT / "CMakeLists.txt").read_text()
    assert re.search(
        r"lerobot_ros_console_scripts\(\s*\"\$\{CMAKE_CURRENT_SOURCE_DIR\}/setup\.cfg\"",
        cmake_lists,
    )
    assert re.search(
        r"install\(PROGRAMS \$\{_console_scripts\} DESTINATION lib/\$\{PROJECT_NAME\}\)",
        cmake_lists,
    )


def test_package_xml_is_an_ament_cmake_interface_package():
    root = ElementTree.parse(ROOT / "package.xml").getroot()
    assert root.get("format") == "3"
    assert root.findtext("export/build_type") == "ament_cmake"
    assert root.findtext("member_of_group") == "rosidl_interface_packages"
    assert {"ament_cmake", "ament_cmake_python", "rosidl_default_generators"} <= {
        e.text for e in root.iter("buildtool_depend")
    }
    assert "rosidl_default_runtime" in {e.text for e in root.iter("exec_depend")}
