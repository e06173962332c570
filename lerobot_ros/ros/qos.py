"""QoS profiles of the topic contract, defined once so publishers and subscribers match."""

from __future__ import annotations

from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_profile_sensor_data,
)

# Latched like robot_state_publisher's: late joiners (RViz) still get the URDF.
LATCHED = QoSProfile(
    depth=1,
    history=HistoryPolicy.KEEP_LAST,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
    reliability=ReliabilityPolicy.RELIABLE,
)

# State and commands: reliable, shallow (only the newest sample matters).
STATE = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
COMMAND = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)

# Task status: every step's reward counts (eval sums them), so keep a deep reliable queue.
TASK_STATUS = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE)

# Images: reliable by default so recorders and RViz (reliable by default) both match;
# subscribers may ask for best effort (sensor data QoS), which is compatible.
IMAGE = QoSProfile(depth=2, reliability=ReliabilityPolicy.RELIABLE)
SENSOR_SUBSCRIPTION = qos_profile_sensor_data


def with_reliability(profile: QoSProfile, reliability: str | None) -> QoSProfile:
    """``profile`` with a feature mapping's reliability for one input (None: unchanged)."""
    if reliability is None:
        return profile
    return QoSProfile(
        depth=profile.depth,
        history=profile.history,
        durability=profile.durability,
        reliability=ReliabilityPolicy.BEST_EFFORT
        if reliability == "best_effort"
        else ReliabilityPolicy.RELIABLE,
    )
