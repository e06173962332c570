"""rosbag2 recordings <-> LeRobotDataset (see ``bags``)."""

from lerobot_ros.datasets.bags import BagError, bag2dataset, dataset2bag, typestore

__all__ = ["BagError", "bag2dataset", "dataset2bag", "typestore"]
