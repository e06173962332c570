"""Keep DDS traffic on this host unless the user asks for a real network.

Fast DDS multicasts discovery out of every interface by default, and Kilted ignores
ROS_LOCALHOST_ONLY. Every lerobot_ros entry point calls ``apply_network_defaults()``
before ``rclpy.init()`` so nodes only talk over shared memory and UDP on 127.0.0.1.
Set ``LEROBOT_ROS_NETWORK=system`` to keep your own RMW/DDS settings (multi-host use).
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

from lerobot_ros.resources import config_path

NETWORK_MODE_VARIABLE = "LEROBOT_ROS_NETWORK"
LOCALHOST_MODE = "localhost"
SYSTEM_MODE = "system"
LOCALHOST_PROFILE_NAME = "fastdds_localhost.xml"


def localhost_environment() -> dict[str, str]:
    """The variables that confine ROS 2 to this host (also used by launch files and tests)."""
    profile = str(config_path(LOCALHOST_PROFILE_NAME))
    return {
        "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
        "RMW_IMPLEMENTATION": "rmw_fastrtps_cpp",
        "FASTDDS_DEFAULT_PROFILES_FILE": profile,
        # Fast DDS 2.x (Jazzy) reads only the old name; without it the profile is ignored.
        "FASTRTPS_DEFAULT_PROFILES_FILE": profile,
    }


def apply_network_defaults(environ: MutableMapping[str, str] | None = None) -> str:
    """Apply the network mode to ``environ`` (default ``os.environ``); return the mode.

    In localhost mode the variables are forced, not defaulted: a profile left over in the
    shell must not be able to open the graph to the network by accident.
    """
    environ = os.environ if environ is None else environ
    mode = environ.get(NETWORK_MODE_VARIABLE, LOCALHOST_MODE).strip().lower() or LOCALHOST_MODE
    if mode == SYSTEM_MODE:
        return mode
    if mode != LOCALHOST_MODE:
        raise ValueError(
            f"{NETWORK_MODE_VARIABLE}={mode!r} is not valid: use '{LOCALHOST_MODE}' (default, "
            f"this host only) or '{SYSTEM_MODE}' (your own ROS 2 network settings)"
        )
    environ.update(localhost_environment())
    return mode
