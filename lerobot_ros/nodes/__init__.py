"""Thin rclpy wrappers: each node translates messages and calls plain-Python logic."""

import sys

from lerobot_ros.ros.quiet import quiet_libraries
from lerobot_ros.ros.stop_request import install_stop_handlers, started_as_node

# A node process takes Ctrl-C/SIGTERM over before its heavy imports (torch, MuJoCo take
# seconds): a signal while it imports ends it at once with exit 0, not with a traceback.
if started_as_node():
    install_stop_handlers(exit_at_once=True)
    # Before any library loads: their banners and progress bars stay off (lerobot_ros.ros.quiet).
    quiet_libraries(sys.orig_argv)
