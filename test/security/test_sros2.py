"""SROS2 with the PyPI wheels: what ``ROS_SECURITY_STRATEGY=Enforce`` does here.

The wheels' Fast DDS is built without its security plugins (no DDS-Security authentication,
access control or encryption), so a secured graph cannot run on them; with a ROS 2 install
built with ``-DSECURITY=ON`` the usual ``ros2 security`` keystore and enclaves apply. What
can be checked here: under Enforce a node without credentials never comes up (it cannot
publish a command), and with credentials the missing plugins are reported, not ignored.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.ros

COMMANDER = """
import rclpy
from std_msgs.msg import Float64MultiArray
from lerobot_ros.ros import qos, topics
rclpy.init()
node = rclpy.create_node("commander")
node.create_publisher(Float64MultiArray, topics.POSITION_COMMANDS, qos.COMMAND).publish(
    Float64MultiArray(data=[0.0] * 8)
)
print("PUBLISHED")
"""


def _commander(keystore) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env |= {
        "ROS_SECURITY_ENABLE": "true",
        "ROS_SECURITY_STRATEGY": "Enforce",
        "ROS_SECURITY_KEYSTORE": str(keystore),
    }
    return subprocess.run(
        [sys.executable, "-c", COMMANDER], env=env, capture_output=True, text=True, timeout=60
    )


def test_enforce_without_credentials_refuses_the_node(tmp_path):
    result = _commander(tmp_path / "keystore")
    assert result.returncode != 0 and "PUBLISHED" not in result.stdout
    assert "SECURITY ERROR" in result.stderr


def test_enforce_with_an_enclave_needs_fast_dds_security(tmp_path):
    (tmp_path / "keystore" / "enclaves" / "commander").mkdir(parents=True)
    result = _commander(tmp_path / "keystore")
    assert result.returncode != 0 and "PUBLISHED" not in result.stdout
    assert "doesn't have the security libraries" in result.stderr
