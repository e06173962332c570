"""Every node keeps a unique name under a global ``-r __node:=<name>`` remap (ros2 launch
renames each node it starts that way): eval_node's companion node is not renamed with it."""

from __future__ import annotations

import time

import pytest
import rclpy
from rclpy.node import Node

from lerobot_ros.orchestration.processes import NodeProcess

pytestmark = pytest.mark.ros


def test_a_renamed_eval_node_and_its_companion_have_distinct_names(tmp_path):
    context = rclpy.Context()
    rclpy.init(context=context)
    probe = Node("name_probe", context=context)
    eval_node = NodeProcess(
        "lerobot_ros.nodes.eval_node", node_name="my_eval", log_path=tmp_path / "eval.log"
    ).start()
    try:
        names: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert eval_node.running, eval_node.log_text()
            names = [name for name, _ in probe.get_node_names_and_namespaces()]
            if "my_eval" in names and "my_eval_io" in names:
                break
            time.sleep(0.2)
        time.sleep(1.0)  # a duplicate would be discovered by now too
        names = [name for name, _ in probe.get_node_names_and_namespaces()]
        assert names.count("my_eval") == 1, names
        assert names.count("my_eval_io") == 1, names
        assert not {"eval_node", "eval_node_io"} & set(names), names
    finally:
        code = eval_node.stop()
        probe.destroy_node()
        rclpy.shutdown(context=context)
    assert code == 0, eval_node.log_text()
    assert "already registered" not in eval_node.log_text()
