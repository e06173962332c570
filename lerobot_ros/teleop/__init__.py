"""Teleoperation logic without ROS: keyboard end-effector jog."""
