"""What the LeRobot devices behind ROS topics share: a background rclpy node while connected,
and no calibration of their own (the ROS driver owns it)."""

from __future__ import annotations

from collections.abc import Iterable

from lerobot_ros.ros.background_node import BackgroundNode

# LeRobot's robots and teleoperators name a joint's position "<joint>.pos", and its tools go by
# the suffix: lerobot-rollout keeps only the ".pos" and ".vel" floats of an observation.
POSITION_SUFFIX = ".pos"


def position_keys(joints: Iterable[str]) -> list[str]:
    """LeRobot's feature key of each joint's position."""
    return [f"{joint}{POSITION_SUFFIX}" for joint in joints]


class RosDevice:
    """Mixed in before LeRobot's Robot / Teleoperator."""

    _ros: BackgroundNode | None = None

    def _start_node(self, name: str) -> BackgroundNode:
        if self._ros is not None:
            raise ConnectionError(f"{self} is already connected")
        self._ros = BackgroundNode(name)
        return self._ros

    @property
    def is_connected(self) -> bool:
        return self._ros is not None

    @property
    def is_calibrated(self) -> bool:
        return True

    def calibrate(self) -> None:
        pass

    def configure(self) -> None:
        pass

    def disconnect(self) -> None:
        ros, self._ros = self._ros, None
        if ros is not None:
            ros.close()
