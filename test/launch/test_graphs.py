"""The sim/real swap: one argument changes the hardware side, nothing above it."""

from __future__ import annotations

import pytest

from lerobot_ros.orchestration.graphs import (
    GRAPHS,
    eval_real_graph,
    hardware_side,
    record_graph,
    teleop_graph,
)
from lerobot_ros.ros import topics


def _by_name(graph):
    return {spec.name: spec for spec in graph}


@pytest.mark.parametrize("teleop", ["keyboard", "koch_leader"])
def test_record_graph_swaps_only_the_hardware_side(teleop):
    common = {"root": "/data/x", "teleop": teleop, "camera_devices": ("/dev/video0", "/dev/video2")}
    sim, real = (
        _by_name(record_graph(sim=True, **common)),
        _by_name(record_graph(sim=False, **common)),
    )
    assert "sim_node" in sim and "sim_node" not in real
    assert {"dynamixel_node", "front_camera", "wrist_camera"} <= set(real)
    above = set(sim) - {"sim_node"}
    assert above == set(real) - {"dynamixel_node", "front_camera", "wrist_camera"}
    for name in above:
        sim_parameters = dict(sim[name].parameters)
        real_parameters = dict(real[name].parameters)
        # Sim time on the sim, wall time on the robot: the only difference.
        assert sim_parameters.pop("use_sim_time") is True
        assert real_parameters.pop("use_sim_time") is False
        assert sim_parameters == real_parameters


def test_both_sides_publish_the_contract():
    for sim in (True, False):
        published = {
            topic
            for spec in hardware_side(sim, camera_devices=() if sim else ("0", "1"))
            for topic in spec.publishes
        }
        assert topics.JOINT_STATES in published
        for camera in ("front", "wrist"):
            assert topics.camera_image(camera) in published


def test_lerobot_arm_and_bad_choices():
    graph = _by_name(hardware_side(False, arm="lerobot", robot_type="koch_follower"))
    assert graph["lerobot_robot_node"].parameters["robot_type"] == "koch_follower"
    with pytest.raises(ValueError, match="robot_type"):
        hardware_side(False, arm="lerobot")
    with pytest.raises(ValueError, match="unknown arm"):
        hardware_side(False, arm="ur5")
    with pytest.raises(ValueError, match="scripted expert needs the sim"):
        teleop_graph(sim=False, teleop="scripted")
    with pytest.raises(ValueError, match="camera devices"):
        hardware_side(False, camera_devices=("0",))


def test_eval_real_defaults_to_the_robot_and_records_on_request():
    graph = _by_name(eval_real_graph(policy_path="/p", record_root="/data/rollouts"))
    assert "dynamixel_node" in graph and "sim_node" not in graph
    assert graph["policy_node"].parameters["use_sim_time"] is False
    assert graph["recorder_node"].parameters["root"] == "/data/rollouts"
    assert "sim_node" in _by_name(eval_real_graph(sim=True))


def test_every_graph_builds_with_its_defaults():
    for name, build in GRAPHS.items():
        graph = build()
        assert graph, name
        assert len({spec.name for spec in graph}) == len(graph), f"{name}: duplicate node names"
