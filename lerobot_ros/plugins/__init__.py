"""LeRobot plugins: what LeRobot's command lines load with ``discover_packages_path`` (it
imports this package and each module in it, and they register themselves):
``pick_cube_env`` is the simulation as ``--env.type=lerobot_ros_pick_cube``, ``ros_robot``
any ROS robot on the topic contract as ``--robot.type=lerobot_ros``, ``ros_leader`` a leader
arm's joint states on a topic as ``--teleop.type=lerobot_ros_leader``."""

# LeRobot's factories look for the device class in its config's package.
from lerobot_ros.plugins.ros_leader import RosLeader, RosLeaderConfig
from lerobot_ros.plugins.ros_robot import RosRobot, RosRobotConfig

__all__ = ["RosLeader", "RosLeaderConfig", "RosRobot", "RosRobotConfig"]
