"""Test-wide environment: offline, headless, and ROS confined to this host and this run."""

import os
import random

from lerobot_ros.ros.network import apply_network_defaults

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["WANDB_MODE"] = "disabled"
os.environ.pop("LEROBOT_ROS_NETWORK", None)  # tests never use the system network settings
apply_network_defaults(os.environ)
# Each run gets its own DDS domain so concurrent runs (CI, a developer) never cross-talk.
# 1..100 stays clear of the port ranges of domains above 101 on Linux.
os.environ["ROS_DOMAIN_ID"] = str(random.SystemRandom().randint(1, 100))
