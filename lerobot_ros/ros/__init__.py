"""ROS 2 plumbing shared by the nodes: network defaults, topic names, message conversions."""
