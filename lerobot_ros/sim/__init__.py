"""Pure-Python MuJoCo simulation core (no ROS): scene, pick-cube task, scripted expert, gym env."""

import os

# Render off-screen unless the user chose a backend: MuJoCo reads this when first imported,
# and a robot computer or CI runner has no display.
os.environ.setdefault("MUJOCO_GL", "egl")
