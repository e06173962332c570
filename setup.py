"""lerobot_ros: an ament_python package (colcon) that is also pip-installable."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE_NAME = "lerobot_ros"

setup(
    name=PACKAGE_NAME,
    version="0.1.0",
    packages=find_packages(include=[PACKAGE_NAME, f"{PACKAGE_NAME}.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE_NAME}"]),
        (f"share/{PACKAGE_NAME}", ["package.xml"]),
        (f"share/{PACKAGE_NAME}/launch", glob("launch/*.launch.py")),
        (
            f"share/{PACKAGE_NAME}/config",
            [p for p in glob("config/*") if not p.endswith("features")],
        ),
        (f"share/{PACKAGE_NAME}/config/features", glob("config/features/*.yaml")),
        (f"share/{PACKAGE_NAME}/models/act_panda_pick_cube", glob("models/act_panda_pick_cube/*")),
        (f"share/{PACKAGE_NAME}/urdf", glob("urdf/*")),
    ],
    # Runtime dependencies are pinned in requirements/ (ROS 2 wheels per lane, lerobot, mujoco).
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="lerobot_ros maintainers",
    maintainer_email="maintainers@lerobot-ros.dev",
    description="Hugging Face LeRobot as ROS 2 nodes, with a MuJoCo Franka Panda simulation.",
    license="Apache-2.0",
    python_requires=">=3.12",
    entry_points={
        "console_scripts": [
            "sim_node = lerobot_ros.nodes.sim_node:main",
            "policy_node = lerobot_ros.nodes.policy_node:main",
            "eval_node = lerobot_ros.nodes.eval_node:main",
            "scripted_teleop_node = lerobot_ros.nodes.scripted_teleop_node:main",
            "keyboard_teleop_node = lerobot_ros.nodes.keyboard_teleop_node:main",
            "recorder_node = lerobot_ros.nodes.recorder_node:main",
            "camera_node = lerobot_ros.nodes.camera_node:main",
            "dynamixel_node = lerobot_ros.nodes.dynamixel_node:main",
            "dynamixel_emulator = lerobot_ros.hardware.dynamixel.emulator:main",
            "lerobot_robot_node = lerobot_ros.nodes.lerobot_robot_node:main",
            "lerobot_teleop_node = lerobot_ros.nodes.lerobot_teleop_node:main",
            "lerobot-ros = lerobot_ros.cli:main",
        ],
    },
)
