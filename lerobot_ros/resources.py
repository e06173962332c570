"""Where the package's data files (config/, launch/, urdf/) are, however it was installed."""

from __future__ import annotations

import functools
from pathlib import Path

PACKAGE_NAME = "lerobot_ros"


@functools.lru_cache(maxsize=1)
def share_dir() -> Path:
    """The directory holding ``config/``, ``launch/`` and ``urdf/``.

    The source tree this module lives in (the pip set-up's editable install), else the ament
    index (a colcon/ROS install, where CMakeLists.txt installs them). The source tree comes
    first, so a checkout never reads stale installed copies.
    """
    source_root = Path(__file__).resolve().parent.parent
    if (source_root / "package.xml").is_file() and (source_root / "config").is_dir():
        return source_root
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

        return Path(get_package_share_directory(PACKAGE_NAME))
    except (ImportError, PackageNotFoundError):
        pass
    raise FileNotFoundError(
        f"cannot find the {PACKAGE_NAME} share directory (looked in {source_root} and the "
        "ament index): build it with colcon, or use the checkout's `make setup`"
    )


def config_path(name: str) -> Path:
    """Path of a file in ``config/``; FileNotFoundError names what is missing."""
    path = share_dir() / "config" / name
    if not path.is_file():
        raise FileNotFoundError(f"{PACKAGE_NAME} config file not found: {path}")
    return path


def node_defaults(node_name: str) -> dict:
    """``ros__parameters`` of ``/<node_name>`` in ``config/<node_name>.yaml``."""
    import yaml

    path = config_path(f"{node_name}.yaml")
    document = yaml.safe_load(path.read_text()) or {}
    try:
        return dict(document[f"/{node_name}"]["ros__parameters"])
    except (KeyError, TypeError) as error:
        raise ValueError(f"{path} has no '/{node_name}: ros__parameters:' section") from error
