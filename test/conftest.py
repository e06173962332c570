"""Test-wide environment: offline, headless, and ROS confined to this host and this run."""

import itertools
import json
import os
import random

import pytest

from lerobot_ros.ros.network import LOCALHOST_MODE, NETWORK_MODE_VARIABLE, apply_network_defaults

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["WANDB_MODE"] = "disabled"
# Tests always run localhost-only, whatever the shell holds; a test that checks the user's
# settings passes its own environment to the node it starts.
os.environ[NETWORK_MODE_VARIABLE] = LOCALHOST_MODE
apply_network_defaults(os.environ)
# Each run, and each test module within it, gets its own DDS domain: concurrent runs (CI, a
# developer) never cross-talk, and a node left running by a failed test cannot publish into
# the next module's graph. 1..100 stays clear of the port ranges of domains above 101 on Linux.
_DOMAINS = list(range(1, 101))
random.SystemRandom().shuffle(_DOMAINS)
_next_domain = itertools.cycle(_DOMAINS)
os.environ["ROS_DOMAIN_ID"] = str(next(_next_domain))


@pytest.fixture(scope="module", autouse=True)
def module_ros_domain():
    """A fresh ROS_DOMAIN_ID for each test module (nodes and probes read it when they start)."""
    os.environ["ROS_DOMAIN_ID"] = str(next(_next_domain))
    yield int(os.environ["ROS_DOMAIN_ID"])


@pytest.fixture
def checkpoint_config(tmp_path):
    """A checkpoint directory with the given input features in its config.json (the other
    files empty): enough for what reads a checkpoint's description, not for loading it."""

    def make(input_features: dict, name: str = "checkpoint"):  # noqa: ANN202
        path = tmp_path / name
        path.mkdir()
        for file in ("model.safetensors", "policy_preprocessor.json", "policy_postprocessor.json"):
            (path / file).write_text("")
        config = {"type": "act", "input_features": input_features}
        (path / "config.json").write_text(json.dumps(config))
        return path

    return make
