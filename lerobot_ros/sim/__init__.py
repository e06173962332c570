"""Pure-Python MuJoCo simulation core (no ROS): scene, pick-cube task, scripted expert, gym env."""
