"""LeRobot plugins: what LeRobot's command lines load with ``discover_packages_path`` (it
imports this package and each module in it, and they register themselves):
``pick_cube_env`` is the simulation as ``--env.type=lerobot_ros_pick_cube``."""
