"""Hugging Face LeRobot as ROS 2 nodes.

The rosidl-generated subpackages (``lerobot_ros.msg``, ``.srv``, ``.action``) may live in a
second ``lerobot_ros`` directory on ``sys.path``: the pip-only set-up installs them into the
environment's site-packages while this source package is installed editable. Extending
``__path__`` finds them there; in a colcon install both are one directory and nothing changes.
"""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
