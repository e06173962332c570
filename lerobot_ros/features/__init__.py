"""ROS topics <-> LeRobot features: the mapping file, message adapters, stamp alignment."""
