from pathlib import Path

import pytest

from lerobot_ros.ros.network import (
    DDS_ADDRESS_VARIABLE,
    NETWORK_MODE_VARIABLE,
    NetworkSettingsError,
    apply_network_defaults,
    choose_network,
    multihost_environment,
    user_network_variables,
)


def test_nothing_set_gives_the_localhost_defaults():
    environ = {"PATH": "/usr/bin", "ROS_DOMAIN_ID": "7"}
    assert apply_network_defaults(environ) == "localhost"
    assert environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    assert environ["RMW_IMPLEMENTATION"] == "rmw_fastrtps_cpp"
    # Fast DDS 3 (Kilted) reads the first name, Fast DDS 2 (Jazzy) only the second.
    assert environ["FASTRTPS_DEFAULT_PROFILES_FILE"] == environ["FASTDDS_DEFAULT_PROFILES_FILE"]
    profile = Path(environ["FASTDDS_DEFAULT_PROFILES_FILE"])
    assert profile.name == "fastdds_localhost.xml" and profile.is_file()
    text = profile.read_text()
    assert "<useBuiltinTransports>false</useBuiltinTransports>" in text
    assert "<address>127.0.0.1</address>" in text and "<type>SHM</type>" in text
    # Children inherit the decision, not something that looks like a user's settings.
    assert environ[NETWORK_MODE_VARIABLE] == "localhost"
    assert environ["ROS_DOMAIN_ID"] == "7" and environ["PATH"] == "/usr/bin"
    child = dict(environ)
    assert apply_network_defaults(child) == "localhost" and child == environ


@pytest.mark.parametrize(
    "settings",
    [
        {"RMW_IMPLEMENTATION": "rmw_cyclonedds_cpp", "CYCLONEDDS_URI": "file:///etc/cyclone.xml"},
        {"RMW_IMPLEMENTATION": "rmw_zenoh_cpp", "ZENOH_SESSION_CONFIG_URI": "/etc/z.json5"},
        {"FASTDDS_DEFAULT_PROFILES_FILE": "{profile}"},
        {"FASTRTPS_DEFAULT_PROFILES_FILE": "{profile}"},
        {"ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET", "ROS_STATIC_PEERS": "10.0.0.2"},
        {"ROS_DISCOVERY_SERVER": "127.0.0.1:11811"},
    ],
)
def test_any_user_setting_is_kept_exactly(settings, tmp_path):
    profile = tmp_path / "multi_host.xml"
    profile.write_text("<dds/>")
    settings = {name: value.format(profile=profile) for name, value in settings.items()}
    environ = {"ROS_DOMAIN_ID": "3", **settings}
    before = dict(environ)
    assert apply_network_defaults(environ) == "system"
    assert environ == before
    assert choose_network(before).describe() == (
        "DDS settings from your environment: " + ", ".join(sorted(settings))
    )


def test_empty_variables_are_not_settings():
    environ = {"RMW_IMPLEMENTATION": "", "CYCLONEDDS_URI": "  "}
    assert user_network_variables(environ) == ()
    assert apply_network_defaults(environ) == "localhost"
    assert environ["RMW_IMPLEMENTATION"] == "rmw_fastrtps_cpp"


def test_localhost_mode_wins_over_a_leftover_profile():
    environ = {
        NETWORK_MODE_VARIABLE: "localhost",
        "FASTDDS_DEFAULT_PROFILES_FILE": "/somewhere/multicast_everywhere.xml",
        "FASTRTPS_DEFAULT_PROFILES_FILE": "/somewhere/multicast_everywhere.xml",
        "ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET",
    }
    assert apply_network_defaults(environ) == "localhost"
    assert Path(environ["FASTDDS_DEFAULT_PROFILES_FILE"]).name == "fastdds_localhost.xml"
    assert Path(environ["FASTRTPS_DEFAULT_PROFILES_FILE"]).name == "fastdds_localhost.xml"
    assert environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"


def test_system_mode_leaves_the_environment_alone_even_with_nothing_set():
    environ = {NETWORK_MODE_VARIABLE: "system"}
    assert apply_network_defaults(environ) == "system"
    assert environ == {NETWORK_MODE_VARIABLE: "system"}
    assert "none set" in choose_network(environ).describe()


def test_unknown_mode_is_a_clear_error():
    with pytest.raises(ValueError, match="LEROBOT_ROS_NETWORK='lan' is not valid"):
        apply_network_defaults({NETWORK_MODE_VARIABLE: "lan"})


def test_the_shipped_multihost_profile_pins_udp_to_the_address_it_is_given():
    environ = multihost_environment("10.0.0.5")
    assert environ[DDS_ADDRESS_VARIABLE] == "10.0.0.5"
    before = dict(environ)
    assert apply_network_defaults(environ) == "system" and environ == before
    profile = Path(environ["FASTDDS_DEFAULT_PROFILES_FILE"])
    assert environ["FASTRTPS_DEFAULT_PROFILES_FILE"] == str(profile)
    text = profile.read_text()
    assert f"<address>${{{DDS_ADDRESS_VARIABLE}}}</address>" in text
    assert "<type>UDPv4</type>" in text and "<type>SHM</type>" not in text
    assert "<useBuiltinTransports>false</useBuiltinTransports>" in text


def test_a_profile_variable_left_unset_is_refused_naming_it():
    environ = multihost_environment("10.0.0.5")
    del environ[DDS_ADDRESS_VARIABLE]
    with pytest.raises(NetworkSettingsError) as refused:
        apply_network_defaults(environ)
    message = str(refused.value)
    assert f"uses ${{{DDS_ADDRESS_VARIABLE}}}, and {DDS_ADDRESS_VARIABLE} is not set" in message
    assert (
        "FASTDDS_DEFAULT_PROFILES_FILE=" in message and "FASTRTPS_DEFAULT_PROFILES_FILE=" in message
    )
    environ[DDS_ADDRESS_VARIABLE] = " "
    with pytest.raises(NetworkSettingsError, match="is not set"):
        apply_network_defaults(environ)


def test_an_unreadable_profile_is_refused(tmp_path):
    missing = tmp_path / "nowhere.xml"
    with pytest.raises(
        NetworkSettingsError, match=f"FASTDDS_DEFAULT_PROFILES_FILE={missing} cannot be read"
    ):
        apply_network_defaults({"FASTDDS_DEFAULT_PROFILES_FILE": str(missing)})
