"""Shared fixtures of the simulation-core tests (no ROS)."""

import os

# Headless offscreen rendering; must be set before mujoco is imported anywhere.
os.environ.setdefault("MUJOCO_GL", "egl")

import pytest  # noqa: E402

from lerobot_ros.sim.pick_cube import PickCubeSim  # noqa: E402


@pytest.fixture(scope="module")
def sim():
    """One simulator per test module (building it takes a fraction of a second, but the
    renderer's GL context is better created once); every test resets it itself."""
    simulator = PickCubeSim()
    yield simulator
    simulator.close()
