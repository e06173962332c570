"""Starting nodes as processes without ROS's `launch` (not installable from a registry)."""
