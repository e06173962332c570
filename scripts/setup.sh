#!/usr/bin/env bash
# Idempotent set-up from nothing, for one ROS 2 lane: Debian packages, a Python 3.12 venv with
# the lane's ROS 2 wheels and our pinned dependencies, the CMake repair of the ROS 2 wheels,
# the rosidl interface build and an editable install. Each step is skipped when its inputs
# have not changed since it last succeeded.
#   ROS_LANE=kilted (default; ros-* wheels, Fast DDS 3) -> .venv
#   ROS_LANE=jazzy  (ros-jazzy-* wheels, Fast DDS 2.14) -> .venv-jazzy
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ROS_LANE=${ROS_LANE:-kilted}
case "$ROS_LANE" in
  kilted) DEFAULT_VENV=$ROOT/.venv ;;
  jazzy) DEFAULT_VENV=$ROOT/.venv-jazzy ;;
  *) echo "[setup] ROS_LANE=$ROS_LANE is not a lane: use kilted or jazzy (Humble's Python 3.10 cannot run LeRobot >= 0.5)" >&2; exit 2 ;;
esac
VENV=${VENV:-$DEFAULT_VENV}
REQUIREMENTS="requirements/ros-$ROS_LANE.txt requirements/runtime.txt requirements/dev.txt"
STAMPS=$VENV/.lerobot_ros_setup
LOGS=$ROOT/build/setup-logs/$ROS_LANE
mkdir -p "$LOGS"

log() { printf '[setup %s] %s\n' "$ROS_LANE" "$*"; }
run_logged() {  # run quietly; show the log's tail if it fails
  local name=$1; shift
  if ! "$@" >"$LOGS/$name.log" 2>&1; then
    tail -n 40 "$LOGS/$name.log" >&2
    log "FAILED: $name (full log: $LOGS/$name.log)"
    exit 1
  fi
}
fingerprint() { cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1; }
up_to_date() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }
mark_done() { mkdir -p "$STAMPS"; echo "$2" >"$STAMPS/$1"; }

# One set-up of a lane at a time: two `make` runs building into the same venv and build
# directory at once would delete each other's files.
exec 9>"$LOGS/.lock"
flock -n 9 || { log "waiting for another set-up of this lane to finish"; flock 9; }

# 1. Debian packages: ffmpeg (video encode/decode for LeRobot datasets and eval videos),
#    EGL/Mesa (headless MuJoCo rendering), the compilers rosidl needs.
APT_PACKAGES="ffmpeg libegl1 libegl-mesa0 libgl1-mesa-dri cmake make g++"
missing=$(for p in $APT_PACKAGES; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || echo "$p"; done)
if [ -n "$missing" ]; then
  log "installing Debian packages: $missing"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  run_logged apt $SUDO env DEBIAN_FRONTEND=noninteractive sh -c \
    "apt-get update -q && apt-get install -y -q --no-install-recommends $missing"
fi

# 2. The virtual environment: Python 3.12 (LeRobot 0.6 needs >= 3.12; so do Jazzy and Kilted).
#    PYTHON=... wins; then python3.12 on PATH; then a pyenv-installed 3.12.
find_python() {
  if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return; fi
  if python3.12 -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1; then
    command -v python3.12; return
  fi
  if command -v pyenv >/dev/null; then
    local version
    version=$(pyenv versions --bare 2>/dev/null | grep -E '^3\.12(\.[0-9]+)?$' | sort -V | tail -n 1)
    if [ -n "$version" ] && [ -x "$(pyenv prefix "$version")/bin/python3.12" ]; then
      echo "$(pyenv prefix "$version")/bin/python3.12"; return
    fi
  fi
}
if [ -x "$VENV/bin/python" ] && ! "$VENV/bin/python" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
  log "$VENV is not a Python 3.12 venv (an older set-up's?): making it again"
  rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
  PYTHON=$(find_python)
  if [ -z "$PYTHON" ] || ! "$PYTHON" -c 'import sys, venv; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
    log "need Python 3.12 with venv: none found as \$PYTHON (${PYTHON:-unset}), as python3.12 on" \
      "PATH, or under pyenv. Install it (Ubuntu 24.04: apt install python3.12-venv; elsewhere:" \
      "pyenv install 3.12) or set PYTHON=/path/to/python3.12"
    exit 1
  fi
  log "creating $VENV with $PYTHON"
  "$PYTHON" -m venv "$VENV"
fi
deps=$(fingerprint $REQUIREMENTS)
if ! up_to_date requirements "$deps"; then
  # torch's CUDA wheels make the venv ~6.5 GB; refuse early rather than fail half-installed.
  NEED_FREE_GB=${NEED_FREE_GB:-9}
  free_gb=$(( $(df -Pk "$VENV" | awk 'NR==2 {print $4}') / 1024 / 1024 ))
  if [ "$free_gb" -lt "$NEED_FREE_GB" ]; then
    log "only ${free_gb} GB free on the disk holding $VENV; the Python packages need about" \
      "${NEED_FREE_GB} GB (free some space, or set VENV=... to a larger disk)"
    exit 1
  fi
  log "installing pinned Python packages (a few minutes the first time)"
  run_logged pip "$VENV/bin/pip" install --disable-pip-version-check --no-cache-dir \
    $(printf -- "-r %s " $REQUIREMENTS)
  mark_done requirements "$deps"
fi

# 3. The ROS wheels' CMake files name their builder's Python; point them at this venv.
run_logged repair "$VENV/bin/python" scripts/repair_ros_wheel_cmake.py "$VENV"

# 4. Our messages/services/actions: the root package's CMakeLists.txt in its interfaces-only
#    mode, installed into the venv prefix, where the ROS wheels' loader already looks for
#    libraries. The generated lerobot_ros.msg/.srv/.action land in site-packages/lerobot_ros/
#    without an __init__.py; the editable source package (step 6) extends its __path__ there.
interfaces=$(fingerprint CMakeLists.txt package.xml msg/* srv/* action/* $REQUIREMENTS)
if ! up_to_date interfaces "$interfaces" || ! "$VENV/bin/python" -c "import lerobot_ros.msg" 2>/dev/null; then
  log "building the lerobot_ros interfaces (rosidl)"
  rm -rf build/$ROS_LANE/interfaces
  run_logged interfaces env AMENT_PREFIX_PATH="$VENV" CMAKE_PREFIX_PATH="$VENV" PATH="$VENV/bin:$PATH" \
    "$VENV/bin/colcon" --log-base build/$ROS_LANE/log build --base-paths . --packages-select lerobot_ros \
    --build-base build/$ROS_LANE/interfaces --install-base "$VENV" --merge-install \
    --cmake-args -DPython3_EXECUTABLE="$VENV/bin/python" -DBUILD_TESTING=OFF \
    -DLEROBOT_ROS_INTERFACES_ONLY=ON
  mark_done interfaces "$interfaces"
fi

# 5. control_msgs (FollowJointTrajectory, GripperCommand: the actions MoveIt drives) for the
#    tests, only where no ROS install brings the real package: the pip ROS wheels have none.
#    test/interfaces/control_msgs has Jazzy's 5.x field lists under the real package name,
#    so the action servers run unchanged against either. Rebuilt only if we built it before.
control=$(fingerprint test/interfaces/control_msgs/{package.xml,CMakeLists.txt} \
  test/interfaces/control_msgs/msg/* test/interfaces/control_msgs/action/* $REQUIREMENTS)
if ! "$VENV/bin/python" -c "import control_msgs.action" 2>/dev/null \
  || { [ -f "$STAMPS/control_msgs" ] && ! up_to_date control_msgs "$control"; }; then
  log "building control_msgs for the tests (rosidl)"
  rm -rf build/$ROS_LANE/control_msgs
  run_logged control_msgs env AMENT_PREFIX_PATH="$VENV" CMAKE_PREFIX_PATH="$VENV" PATH="$VENV/bin:$PATH" \
    "$VENV/bin/colcon" --log-base build/$ROS_LANE/log build --base-paths test/interfaces \
    --build-base build/$ROS_LANE/control_msgs --install-base "$VENV" --merge-install \
    --cmake-args -DPython3_EXECUTABLE="$VENV/bin/python" -DBUILD_TESTING=OFF
  mark_done control_msgs "$control"
fi

# 6. lerobot_ros itself, editable, with its console scripts (sim_node, lerobot-ros). "compat"
#    mode puts the checkout on sys.path (a .pth line), so the source package, which has an
#    __init__.py, wins over step 4's generated site-packages/lerobot_ros, which has none. The
#    default mode's import hook comes after sys.path and would lose to that directory.
package=$(fingerprint setup.py setup.cfg pyproject.toml package.xml)
if ! up_to_date package "$package" || [ ! -x "$VENV/bin/lerobot-ros" ] \
  || ! grep -qsxF "$ROOT" "$VENV"/lib/python3.12/site-packages/__editable__.lerobot_ros-*.pth; then
  log "installing lerobot_ros (editable)"
  run_logged package "$VENV/bin/pip" install --disable-pip-version-check --no-deps --no-build-isolation \
    --config-settings editable_mode=compat -e .
  mark_done package "$package"
fi
log "ready: $VENV"
