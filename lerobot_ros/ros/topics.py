"""The topic contract: every name the sim and the real hardware side publish or serve.

Nodes, launch files, the RViz config test and the feature mapping all read names from here.
"""

from __future__ import annotations

JOINT_STATES = "/joint_states"
CLOCK = "/clock"
ROBOT_DESCRIPTION = "/robot_description"
SCENE_MARKERS = "/scene/markers"

# ros2_control conventions, so MoveIt and ros2_control tooling find them where they expect.
POSITION_COMMANDS = "/position_controller/commands"
JOINT_TRAJECTORY = "/arm_controller/joint_trajectory"

TASK_STATUS = "/task/status"
TASK_RESET = "/task/reset"
SIM_PAUSE = "/sim/pause"
SIM_STEP = "/sim/step"


def camera_image(camera: str) -> str:
    """Image topic of a named camera (``front``, ``wrist``)."""
    return f"/camera/{camera}/image_raw"


def camera_info(camera: str) -> str:
    """CameraInfo topic of a named camera."""
    return f"/camera/{camera}/camera_info"


POLICY_STATUS = "/policy/status"
POLICY_ESTOP = "/policy/estop"
POLICY_RESET = "/policy/reset"
EVALUATE = "/evaluate"
