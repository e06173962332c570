"""dynamixel_node in its own process, driving emulated servos on a pty (in this process), and
watched from a probe node over localhost DDS and from the servos themselves."""

from __future__ import annotations

import time

import numpy as np
import pytest
from builtin_interfaces.msg import Duration
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from lerobot_ros.emulators.dynamixel_emulator import DynamixelEmulator
from lerobot_ros.hardware.dynamixel.arm import load_arm_config
from lerobot_ros.resources import config_path
from lerobot_ros.robots import panda
from lerobot_ros.ros import qos, topics

pytestmark = pytest.mark.ros

NODE = "lerobot_ros.nodes.dynamixel_node"
CONFIG = load_arm_config(config_path("dynamixel_arm.yaml"))
IDS = CONFIG.servo_ids
RATE_HZ = 50.0


@pytest.fixture
def servos():
    """The default arm description's eight servos, starting at the Panda's home pose."""
    models = {j.servo_id: j.model_number for j in CONFIG.joints}
    home = CONFIG.to_ticks(panda.HOME_POSITION)
    with DynamixelEmulator(IDS, models=models, positions=home) as emulator:
        yield emulator


def goals(emulator) -> list[int]:
    return [emulator.servo(i).goal_position for i in IDS]


def torques(emulator) -> list[bool]:
    return [emulator.servo(i).torque_enabled for i in IDS]


def presents(emulator) -> np.ndarray:
    return np.array([emulator.servo(i).present_position for i in IDS])


class Lifecycle:
    def __init__(self, probe) -> None:
        self.probe = probe
        self.client = probe.node.create_client(ChangeState, "/dynamixel_node/change_state")
        assert self.client.wait_for_service(timeout_sec=60), "dynamixel_node did not come up"
        probe.spin_for(0.5)  # let the server see our response reader (see sim_client.py)

    def __call__(self, transition_id: int) -> bool:
        future = self.client.call_async(
            ChangeState.Request(transition=Transition(id=transition_id))
        )
        assert self.probe.spin_until(future.done, 30), "no answer to change_state"
        return future.result().success


def bus_status(diagnostics: list) -> DiagnosticStatus | None:
    for array in reversed(diagnostics):
        for status in array.status:
            if status.name.startswith("dynamixel_node"):
                return status
    return None


def start(start_node, emulator, **parameters):
    defaults = {
        "port": emulator.port,
        "rate_hz": RATE_HZ,
        "command_timeout": 0.5,
        "latency_timer_ms": 40.0,  # tolerant of a loaded test machine (the SDK's is 16)
    }
    return start_node(NODE, defaults | parameters)


def stream(probe, command, seconds: float) -> None:
    """Publish a position command at 30 Hz for ``seconds``, as a commander would."""
    publisher = probe.node.create_publisher(
        Float64MultiArray, topics.POSITION_COMMANDS, qos.COMMAND
    )
    timer = probe.node.create_timer(
        1 / 30, lambda: publisher.publish(Float64MultiArray(data=list(command)))
    )
    probe.spin_for(seconds)
    probe.node.destroy_timer(timer)
    probe.node.destroy_publisher(publisher)


def test_lifecycle_state_commands_and_trajectories(servos, start_node, probe):
    states = probe.collect(JointState, topics.JOINT_STATES, qos.STATE)
    start(start_node, servos)
    lifecycle = Lifecycle(probe)
    assert lifecycle(Transition.TRANSITION_CONFIGURE)

    # Configured: /joint_states at rate_hz, stamped now, following the servos; torque off.
    assert probe.spin_until(lambda: len(states) >= 5, 20)
    states.clear()
    probe.spin_for(2.0)
    rate = len(states) / 2.0
    assert 0.5 * RATE_HZ < rate < 1.3 * RATE_HZ, rate
    latest = states[-1]
    assert tuple(latest.name) == panda.JOINT_NAMES
    age = time.time() - (latest.header.stamp.sec + latest.header.stamp.nanosec * 1e-9)
    assert 0.0 <= age < 1.0
    np.testing.assert_allclose(latest.position, panda.HOME_POSITION, atol=1e-3)
    assert torques(servos) == [False] * 8
    servos.servo(2).set_present_position(CONFIG.joints[1].to_ticks(0.5))  # moved by hand
    assert probe.spin_until(lambda: abs(states[-1].position[1] - 0.5) < 1e-3, 10)
    before = goals(servos)
    stream(probe, panda.HOME_POSITION, 0.5)  # inactive: ignored
    assert goals(servos) == before

    # Activate: goal := present first (joint 2 stays at 0.5, no jump back), then torque on.
    assert lifecycle(Transition.TRANSITION_ACTIVATE)
    assert torques(servos) == [True] * 8
    assert goals(servos) == list(presents(servos))
    probe.spin_for(0.5)
    assert abs(states[-1].position[1] - 0.5) < 1e-3

    # A position command moves the goals, clamped to the limits.
    target = panda.HOME_POSITION.copy()
    target[0] = 10.0  # beyond panda_joint1's 2.8973
    target[1] = 0.0
    target[7] = 0.01
    stream(probe, target, 2.5)  # joint 1 needs 1.3 s at its velocity limit
    clamped = target.copy()
    clamped[0] = 2.8973
    assert goals(servos) == list(CONFIG.to_ticks(clamped).values())
    assert np.abs(np.array(states[-1].position) - clamped).max() < 2e-3, states[-1].position
    # Silence: after command_timeout the arm holds where it is.
    probe.spin_for(1.0)
    assert goals(servos) == list(CONFIG.to_ticks(clamped).values())

    # A trajectory (two joints named, the rest keep their target) is followed.
    trajectory = JointTrajectory(joint_names=["panda_joint3", "panda_joint1"])
    trajectory.points = [
        JointTrajectoryPoint(
            positions=[0.4, 2.0], time_from_start=Duration(sec=0, nanosec=600_000_000)
        ),
        JointTrajectoryPoint(
            positions=[0.8, 1.5], time_from_start=Duration(sec=1, nanosec=200_000_000)
        ),
    ]
    publisher = probe.node.create_publisher(JointTrajectory, topics.JOINT_TRAJECTORY, qos.COMMAND)
    publisher.publish(trajectory)
    final = clamped.copy()
    final[0], final[2] = 1.5, 0.8
    halfway_seen = []
    assert probe.spin_until(
        lambda: (
            halfway_seen.append(states[-1].position[2])
            or np.abs(np.array(states[-1].position) - final).max() < 2e-3
        ),
        20,
    ), states[-1].position
    assert any(0.05 < q < 0.75 for q in halfway_seen), "joint 3 did not pass through the middle"
    assert goals(servos) == list(CONFIG.to_ticks(final).values())

    # A few corrupted status packets are retried: the node carries on.
    servos.corrupt_next(4)
    count = len(states)
    probe.spin_for(1.0)
    assert len(states) > count + 0.5 * RATE_HZ * 0.8
    assert torques(servos) == [True] * 8

    # Deactivate: torque off again; cleanup closes the port.
    assert lifecycle(Transition.TRANSITION_DEACTIVATE)
    assert torques(servos) == [False] * 8
    assert lifecycle(Transition.TRANSITION_CLEANUP)
    count = len(states)
    probe.spin_for(0.5)
    assert len(states) <= count + 1


def activated(start_node, servos, probe, **parameters):
    diagnostics = probe.collect(DiagnosticArray, topics.DIAGNOSTICS, qos.STATE)
    states = probe.collect(JointState, topics.JOINT_STATES, qos.STATE)
    node = start(start_node, servos, **parameters)
    lifecycle = Lifecycle(probe)
    assert lifecycle(Transition.TRANSITION_CONFIGURE)
    assert lifecycle(Transition.TRANSITION_ACTIVATE)
    target = panda.HOME_POSITION.copy()
    target[0] = 0.3
    stream(probe, target, 0.5)
    assert probe.spin_until(
        lambda: servos.servo(1).goal_position == CONFIG.joints[0].to_ticks(0.3), 10
    )
    return node, lifecycle, diagnostics, states


def assert_no_jump(probe, servos, seconds: float, command) -> list[int]:
    """While a commander keeps asking for ``command``, no goal changes."""
    held = goals(servos)
    stream(probe, command, seconds)
    assert goals(servos) == held
    return held


def test_silent_servo_is_reported_and_the_arm_holds(servos, start_node, probe):
    node, lifecycle, diagnostics, _ = activated(
        start_node, servos, probe, max_consecutive_errors=3, on_bus_lost="hold"
    )
    servos.silence(5)
    assert probe.spin_until(
        lambda: (s := bus_status(diagnostics)) is not None and s.level == DiagnosticStatus.ERROR,
        20,
    )
    status = bus_status(diagnostics)
    assert "bus lost" in status.message and "servo [5]" in status.message
    assert "hold their last goal" in status.message
    far = panda.HOME_POSITION.copy()
    far[0] = -1.0
    held = assert_no_jump(probe, servos, 1.0, far)
    assert torques(servos) == [True] * 8
    assert held[0] == CONFIG.joints[0].to_ticks(0.3)
    assert "bus lost" in node.log_text() and "ERROR" in node.log_text()

    # The servo comes back: still no goals until the operator re-activates (goal := present).
    servos.unsilence(5)
    assert_no_jump(probe, servos, 0.5, far)
    assert lifecycle(Transition.TRANSITION_DEACTIVATE)
    assert lifecycle(Transition.TRANSITION_ACTIVATE)
    assert goals(servos) == list(presents(servos))
    stream(probe, far, 0.5)
    assert servos.servo(1).goal_position == CONFIG.joints[0].to_ticks(-1.0)


def test_silent_servo_with_disable_torque(servos, start_node, probe):
    _, _, diagnostics, _ = activated(
        start_node, servos, probe, max_consecutive_errors=2, on_bus_lost="disable_torque"
    )
    servos.silence(3)
    assert probe.spin_until(
        lambda: (s := bus_status(diagnostics)) is not None and s.level == DiagnosticStatus.ERROR,
        20,
    )
    assert "torque disabled on servos [1, 2, 4, 5, 6, 7, 8]" in bus_status(diagnostics).message
    assert torques(servos) == [False, False, True, False, False, False, False, False]
    assert_no_jump(probe, servos, 0.5, panda.HOME_POSITION)


def test_vanished_port_ends_in_a_clear_error_without_a_jump(servos, start_node, probe):
    node, lifecycle, diagnostics, states = activated(
        start_node, servos, probe, on_bus_lost="disable_torque"
    )
    held = goals(servos)
    servos.vanish()
    assert probe.spin_until(
        lambda: (s := bus_status(diagnostics)) is not None and s.level == DiagnosticStatus.ERROR,
        20,
    )
    status = bus_status(diagnostics)
    assert "serial port lost" in status.message
    assert "no servo answered to disable torque" in status.message
    assert goals(servos) == held  # the servos (still inspectable) got nothing after the loss
    count = len(states)
    probe.spin_for(0.5)
    assert len(states) == count  # nothing to report any more
    # The node stays up; a new configure fails with the reason, it does not crash.
    assert lifecycle(Transition.TRANSITION_DEACTIVATE)
    assert lifecycle(Transition.TRANSITION_CLEANUP)
    assert not lifecycle(Transition.TRANSITION_CONFIGURE)
    assert probe.spin_until(
        lambda: "cannot open serial port" in bus_status(diagnostics).message, 10
    )
    assert node.running
    assert "serial port lost" in node.log_text()


def test_configure_fails_with_the_reason(start_node, probe):
    diagnostics = probe.collect(DiagnosticArray, topics.DIAGNOSTICS, qos.STATE)
    with DynamixelEmulator(IDS[:-1]) as emulator:  # the finger servo is missing
        start_node(NODE, {"port": emulator.port, "on_bus_lost": "hold"})
        lifecycle = Lifecycle(probe)
        assert not lifecycle(Transition.TRANSITION_CONFIGURE)
        assert probe.spin_until(
            lambda: (s := bus_status(diagnostics)) is not None and "configure failed" in s.message,
            10,
        )
        message = bus_status(diagnostics).message
        assert "servo 8 (panda_finger_joint1) does not answer" in message
        assert "(3 connection attempts)" in message
        assert bus_status(diagnostics).level == DiagnosticStatus.ERROR
        assert not any(emulator.servo(i).torque_enabled for i in IDS[:-1])


def test_a_servo_that_misses_the_first_connection_attempt_is_found_by_a_retry(
    servos, start_node, probe
):
    servos.silence(8)
    node = start(start_node, servos, connect_attempts=5)  # margin for a slow test thread
    lifecycle = Lifecycle(probe)
    future = lifecycle.client.call_async(
        ChangeState.Request(transition=Transition(id=Transition.TRANSITION_CONFIGURE))
    )
    assert probe.spin_until(lambda: "connection attempt 1 of 5 failed" in node.log_text(), 30)
    servos.unsilence(8)
    assert probe.spin_until(future.done, 30), "no answer to change_state"
    assert future.result().success, node.log_text()
    assert "servo 8 (panda_finger_joint1) does not answer" in node.log_text()


def test_autostart_brings_the_arm_up_as_a_lifecycle_manager_would(servos, start_node, probe):
    states = probe.collect(JointState, topics.JOINT_STATES, qos.STATE)
    start(start_node, servos, autostart=True)
    assert probe.spin_until(lambda: len(states) >= 3, 60)
    assert probe.spin_until(lambda: torques(servos) == [True] * 8, 10)
    np.testing.assert_allclose(states[-1].position, panda.HOME_POSITION, atol=1e-3)
    assert goals(servos) == list(CONFIG.to_ticks(panda.HOME_POSITION).values())


def test_autostart_on_a_missing_port_exits_with_the_reason(start_node, probe):
    node = start_node(NODE, {"port": "/nonexistent/ttyDXL", "autostart": True})
    assert probe.spin_until(lambda: not node.running, 60), "the node kept running"
    assert node.process.returncode == 2
    assert "cannot open serial port '/nonexistent/ttyDXL'" in node.log_text()


def test_bad_parameters_fail_configure_naming_them(start_node, probe):
    diagnostics = probe.collect(DiagnosticArray, topics.DIAGNOSTICS, qos.STATE)
    start_node(NODE, {"port": "/nonexistent/ttyDXL", "on_bus_lost": "explode"})
    assert not Lifecycle(probe)(Transition.TRANSITION_CONFIGURE)
    assert probe.spin_until(
        lambda: (
            (s := bus_status(diagnostics)) is not None
            and "parameter on_bus_lost='explode' must be one of ['hold', 'disable_torque']"
            in s.message
        ),
        10,
    )


def test_follow_joint_trajectory_moves_the_servos(servos, start_node, probe):
    """MoveIt's controller action on the real-arm driver, as on sim_node."""
    from control_msgs.action import FollowJointTrajectory
    from rclpy.action import ActionClient

    node, _, _, states = activated(start_node, servos, probe)
    client = ActionClient(probe.node, FollowJointTrajectory, topics.FOLLOW_JOINT_TRAJECTORY)
    assert client.wait_for_server(timeout_sec=30)
    probe.spin_for(0.5)
    start = np.array(states[-1].position[:7])
    target = start.copy()
    target[3] += 0.3
    goal = FollowJointTrajectory.Goal()
    goal.trajectory.joint_names = list(panda.ARM_JOINT_NAMES)
    point = JointTrajectoryPoint(positions=target.tolist())
    point.time_from_start = Duration(sec=1, nanosec=500_000_000)
    goal.trajectory.points.append(point)
    feedback: list = []
    sent = client.send_goal_async(goal, feedback_callback=feedback.append)
    assert probe.spin_until(sent.done, 15) and sent.result().accepted
    result = sent.result().get_result_async()
    assert probe.spin_until(result.done, 30), "no result"
    assert result.result().result.error_code == FollowJointTrajectory.Result.SUCCESSFUL
    assert feedback, "no feedback"
    # The servo of joint 4 was driven to the goal (ticks of the calibrated target).
    assert abs(servos.servo(IDS[3]).goal_position - CONFIG.joints[3].to_ticks(target[3])) <= 2
    assert node.running
