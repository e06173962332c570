from pathlib import Path

import pytest

from lerobot_ros.ros.network import NETWORK_MODE_VARIABLE, apply_network_defaults


def test_localhost_mode_is_the_default_and_forced():
    environ = {
        "FASTDDS_DEFAULT_PROFILES_FILE": "/somewhere/multicast_everywhere.xml",
        "FASTRTPS_DEFAULT_PROFILES_FILE": "/somewhere/multicast_everywhere.xml",
    }
    assert apply_network_defaults(environ) == "localhost"
    assert environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    # Fast DDS 3 (Kilted) reads the first name, Fast DDS 2 (Jazzy) only the second.
    assert environ["FASTRTPS_DEFAULT_PROFILES_FILE"] == environ["FASTDDS_DEFAULT_PROFILES_FILE"]
    profile = Path(environ["FASTDDS_DEFAULT_PROFILES_FILE"])
    assert profile.name == "fastdds_localhost.xml" and profile.is_file()
    text = profile.read_text()
    assert "<useBuiltinTransports>false</useBuiltinTransports>" in text
    assert "<address>127.0.0.1</address>" in text and "<type>SHM</type>" in text


def test_system_mode_leaves_the_environment_alone():
    environ = {NETWORK_MODE_VARIABLE: "system", "ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET"}
    assert apply_network_defaults(environ) == "system"
    assert environ == {NETWORK_MODE_VARIABLE: "system", "ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET"}


def test_unknown_mode_is_a_clear_error():
    with pytest.raises(ValueError, match="LEROBOT_ROS_NETWORK='lan' is not valid"):
        apply_network_defaults({NETWORK_MODE_VARIABLE: "lan"})
