"""Policy evaluation on the pick-cube task: in-process (LeRobot's own rollout) and via ROS."""
