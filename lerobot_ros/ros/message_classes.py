"""The rclpy class of each ROS message type a feature mapping may name
(``FeatureMapping.topic_types``), for the nodes that subscribe to mapped topics."""

from __future__ import annotations

from geometry_msgs.msg import Pose, PoseStamped, Twist, TwistStamped, Wrench, WrenchStamped
from sensor_msgs.msg import CompressedImage, Image, Imu, JointState
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory
from visualization_msgs.msg import MarkerArray

MESSAGE_CLASSES = {
    "sensor_msgs/msg/JointState": JointState,
    "visualization_msgs/msg/MarkerArray": MarkerArray,
    "sensor_msgs/msg/Image": Image,
    "sensor_msgs/msg/CompressedImage": CompressedImage,
    "sensor_msgs/msg/Imu": Imu,
    "geometry_msgs/msg/WrenchStamped": WrenchStamped,
    "geometry_msgs/msg/TwistStamped": TwistStamped,
    "geometry_msgs/msg/PoseStamped": PoseStamped,
    "geometry_msgs/msg/Wrench": Wrench,
    "geometry_msgs/msg/Twist": Twist,
    "geometry_msgs/msg/Pose": Pose,
    "std_msgs/msg/Float64MultiArray": Float64MultiArray,
    "trajectory_msgs/msg/JointTrajectory": JointTrajectory,
}
