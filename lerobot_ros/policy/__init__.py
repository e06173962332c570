"""LeRobot policies behind ROS: loading checkpoints, building observations, safety, queues."""
