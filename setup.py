"""pip metadata of lerobot_ros, for the pip-only set-up (`pip install -e .`, see scripts/setup.sh).

In a ROS workspace colcon builds the package with CMakeLists.txt instead. Console scripts are
listed once, in setup.cfg; the version is package.xml's.
"""

import xml.etree.ElementTree as ElementTree

from setuptools import find_packages, setup

PACKAGE_NAME = "lerobot_ros"

setup(
    name=PACKAGE_NAME,
    version=ElementTree.parse("package.xml").getroot().findtext("version"),
    packages=find_packages(include=[PACKAGE_NAME, f"{PACKAGE_NAME}.*"]),
    # Runtime dependencies are pinned in requirements/ (ROS 2 wheels per lane, lerobot, mujoco).
    # Data files (config/, launch/, urdf/, models/) are read from the source tree
    # (lerobot_ros.resources) or installed by CMakeLists.txt.
    zip_safe=False,
    maintainer="lerobot_ros maintainers",
    maintainer_email="maintainers@lerobot-ros.dev",
    description="Hugging Face LeRobot as ROS 2 nodes, with a MuJoCo Franka Panda simulation.",
    license="Apache-2.0",
    python_requires=">=3.12",
)
