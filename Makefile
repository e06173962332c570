# Two commands from nothing: `make demo` and `make test` (each runs `make setup` first).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# Offline and headless always; the DDS localhost profile is applied by the code itself
# (lerobot_ros.ros.network) and, for tests, per test with its own ROS_DOMAIN_ID.
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export WANDB_MODE := disabled
export MUJOCO_GL ?= egl
export ROS_AUTOMATIC_DISCOVERY_RANGE := LOCALHOST
export FASTDDS_DEFAULT_PROFILES_FILE := $(CURDIR)/config/fastdds_localhost.xml
export RMW_IMPLEMENTATION := rmw_fastrtps_cpp

.PHONY: setup demo test lint format bench bench-quick clean

setup:
	@scripts/setup.sh

demo: setup
	$(VENV)/bin/lerobot-ros eval

lint: setup
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: lint
	$(PY) -m pytest

bench: setup
	$(PY) bench/run_benchmarks.py

bench-quick: setup
	$(PY) bench/run_benchmarks.py --quick

clean:
	rm -rf build log install outputs
