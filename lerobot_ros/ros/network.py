"""Whose DDS settings a process uses: the user's, or the project's localhost-only defaults.

Fast DDS multicasts discovery out of every interface by default, and Kilted ignores
ROS_LOCALHOST_ONLY. Every lerobot_ros entry point calls ``apply_network_defaults()`` before
``rclpy.init()``: a user who set any RMW/DDS variable (another middleware, a multi-host
profile, static peers) keeps exactly those settings; with none set, nodes talk only over shared
memory and UDP on 127.0.0.1. ``LEROBOT_ROS_NETWORK`` overrides the choice: ``localhost``
forces the defaults (tests, make targets, CI), ``system`` keeps the environment as it is.
For nodes on several machines the project ships a profile pinned to one interface
(``multihost_environment``); a user profile that cannot be read, or that refers to a variable
left unset, is refused (NetworkSettingsError) rather than half applied by Fast DDS.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path

from lerobot_ros.resources import config_path

NETWORK_MODE_VARIABLE = "LEROBOT_ROS_NETWORK"
AUTO_MODE = "auto"
LOCALHOST_MODE = "localhost"
SYSTEM_MODE = "system"
MODES = (AUTO_MODE, LOCALHOST_MODE, SYSTEM_MODE)
LOCALHOST_PROFILE_NAME = "fastdds_localhost.xml"
MULTIHOST_PROFILE_NAME = "fastdds_multihost.xml"
# The multi-host profile's interface: this machine's address on the robots' network.
DDS_ADDRESS_VARIABLE = "LEROBOT_ROS_DDS_ADDRESS"
PROFILE_FILE_VARIABLES = ("FASTDDS_DEFAULT_PROFILES_FILE", "FASTRTPS_DEFAULT_PROFILES_FILE")
# ${NAME} in a Fast DDS XML profile is replaced by the variable NAME when the file is loaded.
_PROFILE_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

# Variables by which a user picks a middleware or opens/confines its network. Any of them
# set (non-empty) means the user has chosen, and the defaults must not replace the choice.
USER_NETWORK_VARIABLES = (
    "RMW_IMPLEMENTATION",
    "ROS_AUTOMATIC_DISCOVERY_RANGE",
    "ROS_STATIC_PEERS",
    "ROS_LOCALHOST_ONLY",
    "ROS_DISCOVERY_SERVER",
    "ROS_SUPER_CLIENT",
    "FASTDDS_DEFAULT_PROFILES_FILE",
    "FASTRTPS_DEFAULT_PROFILES_FILE",
    "FASTDDS_ENVIRONMENT_FILE",
    "CYCLONEDDS_URI",
    "NDDS_QOS_PROFILES",
)
USER_NETWORK_PREFIXES = ("ZENOH_",)


class NetworkSettingsError(ValueError):
    """The environment's network settings cannot be used as they are (the message says why)."""


@dataclass(frozen=True)
class NetworkChoice:
    """The settings a process runs with and why (``mode`` is localhost or system)."""

    mode: str
    user_variables: tuple[str, ...]

    def describe(self) -> str:
        if self.mode == LOCALHOST_MODE:
            return (
                "DDS localhost only (lerobot_ros defaults: "
                f"{LOCALHOST_PROFILE_NAME}, ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST)"
            )
        if self.user_variables:
            return "DDS settings from your environment: " + ", ".join(self.user_variables)
        return f"DDS settings of the middleware ({NETWORK_MODE_VARIABLE}=system, none set)"


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


def multihost_environment(address: str) -> dict[str, str]:
    """The variables for nodes on several machines: the shipped multi-host profile, pinned
    to ``address`` (this machine's address on the network the other machines are on)."""
    profile = str(config_path(MULTIHOST_PROFILE_NAME))
    return {
        NETWORK_MODE_VARIABLE: SYSTEM_MODE,
        "ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET",
        "RMW_IMPLEMENTATION": "rmw_fastrtps_cpp",
        "FASTDDS_DEFAULT_PROFILES_FILE": profile,
        "FASTRTPS_DEFAULT_PROFILES_FILE": profile,
        DDS_ADDRESS_VARIABLE: address,
    }


def profile_problems(environ: Mapping[str, str]) -> list[str]:
    """What is wrong with the Fast DDS profiles ``environ`` names: a file that cannot be read,
    or a ``${NAME}`` in it with NAME unset. Fast DDS only logs either and goes on without the
    setting; a lost interface pin means discovery on every interface."""
    problems = []
    for variable in PROFILE_FILE_VARIABLES:
        path = environ.get(variable, "").strip()
        if not path:
            continue
        try:
            text = Path(path).read_text()
        except OSError as error:
            problems.append(f"{variable}={path} cannot be read ({error.strerror})")
            continue
        unset = [
            name for name in _PROFILE_REFERENCE.findall(text) if not environ.get(name, "").strip()
        ]
        for name in sorted(set(unset)):
            problems.append(f"{variable}={path} uses ${{{name}}}, and {name} is not set")
    return problems


def user_network_variables(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The RMW/DDS variables set (non-empty) in ``environ``, sorted."""
    return tuple(
        sorted(
            name
            for name, value in environ.items()
            if value.strip()
            and (name in USER_NETWORK_VARIABLES or name.startswith(USER_NETWORK_PREFIXES))
        )
    )


def choose_network(environ: Mapping[str, str]) -> NetworkChoice:
    """Decide, without changing anything, which settings ``environ`` leads to."""
    mode = environ.get(NETWORK_MODE_VARIABLE, AUTO_MODE).strip().lower() or AUTO_MODE
    if mode not in MODES:
        raise NetworkSettingsError(
            f"{NETWORK_MODE_VARIABLE}={mode!r} is not valid: use '{AUTO_MODE}' (default: your "
            f"RMW/DDS variables if any is set, else this host only), '{LOCALHOST_MODE}' (this "
            f"host only, always) or '{SYSTEM_MODE}' (the environment as it is)"
        )
    user_variables = user_network_variables(environ)
    if mode == LOCALHOST_MODE or (mode == AUTO_MODE and not user_variables):
        return NetworkChoice(LOCALHOST_MODE, ())
    if problems := profile_problems(environ):
        raise NetworkSettingsError(
            "; ".join(problems) + f": Fast DDS would go on without it (for the multi-host "
            f"profile, set {DDS_ADDRESS_VARIABLE} to this machine's address on the network "
            "of the other machines)"
        )
    return NetworkChoice(SYSTEM_MODE, user_variables)


_reported = False


def apply_network_defaults(environ: MutableMapping[str, str] | None = None) -> str:
    """Apply the choice to ``environ`` (default ``os.environ``); return its mode.

    Applying the defaults also writes ``LEROBOT_ROS_NETWORK=localhost``, so child processes
    inherit the decision rather than mistaking the defaults for a user's settings. The
    process's own choice (``environ`` omitted) is logged once on stderr.
    """
    global _reported
    own = environ is None
    environ = os.environ if own else environ
    choice = choose_network(environ)
    if choice.mode == LOCALHOST_MODE:
        environ.update(localhost_environment())
        environ[NETWORK_MODE_VARIABLE] = LOCALHOST_MODE
    if own and not _reported:
        _reported = True
        print(f"lerobot_ros: {choice.describe()}", file=sys.stderr, flush=True)
    return choice.mode
