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
# Actions (control_msgs) MoveIt's controller manager drives: arm and gripper controllers.
FOLLOW_JOINT_TRAJECTORY = "/arm_controller/follow_joint_trajectory"
GRIPPER_COMMAND = "/gripper_controller/gripper_cmd"

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


def camera_optical_frame(camera: str) -> str:
    """A named camera's optical frame (z forward, x right, y down): its images' frame_id.
    A robot's URDF names its camera frames so (the Panda's scene: urdf/)."""
    return f"{camera}_camera_optical_frame"


def camera_depth(camera: str) -> str:
    """Depth image (16UC1, mm) of a named camera, aligned to its color image (as realsense2_camera)."""
    return f"/camera/{camera}/aligned_depth_to_color/image_raw"


def camera_depth_info(camera: str) -> str:
    """CameraInfo of the aligned depth image (the color camera's intrinsics)."""
    return f"/camera/{camera}/aligned_depth_to_color/camera_info"


# diagnostic_msgs/DiagnosticArray, as diagnostic_updater publishes (hardware drivers' health).
DIAGNOSTICS = "/diagnostics"

POLICY_STATUS = "/policy/status"
POLICY_ESTOP = "/policy/estop"
POLICY_RESET = "/policy/reset"
POLICY_RUN = "/policy/run"  # RunPolicy action
EVALUATE = "/evaluate"

RECORDER_STATUS = "/recorder/status"
RECORDER_START = "/recorder/start_episode"
RECORDER_STOP = "/recorder/stop_episode"
RECORDER_DISCARD = "/recorder/discard_episode"
