"""The shipped RViz config names only topics and frames the sim graph really provides.

RViz itself cannot run here; this checks its config against a running sim_node.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import yaml

from lerobot_ros.orchestration.graphs import sim_graph
from lerobot_ros.resources import config_path
from lerobot_ros.robots import panda

pytestmark = pytest.mark.ros


def topics_in(node: object) -> set[str]:
    """Every ``... Topic: {Value: ...}`` in an RViz config tree."""
    found = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key.endswith("Topic") and isinstance(value, dict) and "Value" in value:
                found.add(value["Value"])
            found |= topics_in(value)
    elif isinstance(node, list):
        for item in node:
            found |= topics_in(item)
    return found


def test_rviz_config_topics_are_published_by_the_graph(start_node, probe):
    config = yaml.safe_load(config_path("lerobot_ros.rviz").read_text())
    wanted = topics_in(config)
    assert {"/robot_description", "/scene/markers", "/camera/front/image_raw"} <= wanted

    graph = sim_graph(rviz_enabled=True, rviz_config=str(config_path("lerobot_ros.rviz")))
    names = [spec.name for spec in graph]
    assert "robot_state_publisher" in names, (
        "RViz needs TF: the graph must start robot_state_publisher"
    )
    declared = {topic for spec in graph for topic in spec.publishes}
    assert wanted <= declared, (
        f"RViz config names topics no node of the graph publishes: {wanted - declared}"
    )

    # What the graph declares is what sim_node really publishes (the rest needs a ROS install).
    sim = start_node("lerobot_ros.nodes.sim_node", {"image_width": 64, "image_height": 64})
    sim_spec = next(spec for spec in graph if spec.name == "sim_node")

    def published() -> set[str]:
        return {name for name, _ in probe.node.get_topic_names_and_types()}

    assert probe.spin_until(lambda: set(sim_spec.publishes) <= published(), 30.0), (
        f"declared but not published: {set(sim_spec.publishes) - published()}; log: {sim.log_text()[-2000:]}"
    )


def test_rviz_fixed_frame_and_marker_frame_exist_in_the_urdf():
    config = yaml.safe_load(config_path("lerobot_ros.rviz").read_text())
    fixed_frame = config["Visualization Manager"]["Global Options"]["Fixed Frame"]
    links = {link.get("name") for link in ET.fromstring(panda.robot_description()).iter("link")}
    assert fixed_frame == panda.WORLD_FRAME and fixed_frame in links
