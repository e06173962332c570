"""Whole graphs: the ``lerobot-ros`` CLI, the graphs' node lists, the launch-free runner, the
launch files' helpers and the clients that drive an eval or a recording through ROS. The top
layer: nothing below imports it."""
