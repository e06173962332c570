"""``ros2 param set`` on live nodes, through rclpy's parameter client: a live parameter takes
effect (checked by its effect), a fixed one is refused with the reason, a configure-time one
is refused while its lifecycle node is active, an out-of-range value is refused."""

from __future__ import annotations

import time

import pytest
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState
from rclpy.parameter import Parameter, parameter_value_to_python
from rclpy.parameter_client import AsyncParameterClient
from rosgraph_msgs.msg import Clock

from lerobot_ros.policy.loading import shipped_policy_dir
from lerobot_ros.ros import conversions, qos, topics
from lerobot_ros.ros.sim_client import DISCOVERY_SETTLE_S

pytestmark = pytest.mark.ros


class Parameters:
    """``ros2 param`` against one node, from the probe."""

    def __init__(self, probe, node_name: str) -> None:
        self.probe = probe
        self.client = AsyncParameterClient(probe.node, node_name)
        assert self.client.wait_for_services(timeout_sec=60), f"{node_name} did not come up"
        # The node may not have matched our response readers yet: an answer sent now is lost.
        probe.spin_for(DISCOVERY_SETTLE_S)

    def set(self, name: str, value: object):  # noqa: ANN201 - SetParametersResult
        future = self.client.set_parameters([Parameter(name, value=value)])
        assert self.probe.spin_until(future.done, 10), "no answer to set_parameters"
        return future.result().results[0]

    def get(self, name: str) -> object:
        future = self.client.get_parameters([name])
        assert self.probe.spin_until(future.done, 10), "no answer to get_parameters"
        return parameter_value_to_python(future.result().values[0])

    def describe(self, name: str):  # noqa: ANN201 - ParameterDescriptor
        future = self.client.describe_parameters([name])
        assert self.probe.spin_until(future.done, 10), "no answer to describe_parameters"
        return future.result().descriptors[0]


def clock_rate(probe, seconds: float = 3.0) -> tuple[float, float]:
    """/clock messages per wall second, and sim seconds per message, over ``seconds``."""
    clocks = probe.collect(Clock, topics.CLOCK, qos.STATE)
    assert probe.spin_until(lambda: len(clocks) > 2, 30), "no /clock"
    clocks.clear()
    start = time.monotonic()
    probe.spin_for(seconds)
    elapsed = time.monotonic() - start
    stamps = [conversions.time_to_seconds(c.clock) for c in clocks]
    return len(clocks) / elapsed, (stamps[-1] - stamps[0]) / (len(stamps) - 1)


def test_sim_node_control_hz_changes_the_rate_live(start_node, probe):
    start_node("lerobot_ros.nodes.sim_node", {"cameras": []})
    parameters = Parameters(probe, "sim_node")
    before, step_before = clock_rate(probe)
    assert 24 < before < 33, before  # 30 Hz, a loaded machine may lag a little
    assert step_before == pytest.approx(1 / 30, rel=1e-3)

    result = parameters.set("control_hz", 15.0)
    assert result.successful, result.reason
    after, step_after = clock_rate(probe)
    assert 12 < after < 16.5, after
    assert step_after == pytest.approx(1 / 15, rel=1e-3)  # sim time per step follows too
    assert parameters.get("control_hz") == 15.0


def test_sim_node_refuses_fixed_and_out_of_range_values(start_node, probe):
    start_node("lerobot_ros.nodes.sim_node", {"cameras": []})
    parameters = Parameters(probe, "sim_node")

    result = parameters.set("image_width", 320)
    assert not result.successful
    assert "read-only" in result.reason and "image_width" in result.reason
    description = parameters.describe("image_width")
    assert description.read_only and "restart the node" in description.additional_constraints
    assert description.description == "camera image width (px)"  # from config/sim_node.yaml

    result = parameters.set("control_hz", 0.0)
    assert not result.successful and "out of range" in result.reason
    result = parameters.set("max_episode_steps", 0)
    assert not result.successful and "out of range" in result.reason
    assert parameters.get("control_hz") == 30.0  # nothing changed


def test_policy_node_configure_time_parameters(start_node, probe):
    start_node(
        "lerobot_ros.nodes.policy_node",
        {"policy_path": str(shipped_policy_dir()), "autostart": False, "use_sim_time": False},
    )
    parameters = Parameters(probe, "policy_node")
    # Unconfigured: a configure-time parameter is accepted (the next configure reads it).
    assert parameters.set("refill_below", 8).successful
    assert not parameters.set("autostart", True).successful  # read at start only

    change_state = probe.node.create_client(ChangeState, "/policy_node/change_state")
    assert change_state.wait_for_service(timeout_sec=30)
    for transition in (Transition.TRANSITION_CONFIGURE, Transition.TRANSITION_ACTIVATE):
        future = change_state.call_async(ChangeState.Request(transition=Transition(id=transition)))
        assert probe.spin_until(future.done, 120), "no answer to change_state"
        assert future.result().success

    result = parameters.set("refill_below", 3)
    assert not result.successful
    assert "read at configure" in result.reason and "active" in result.reason
    assert parameters.get("refill_below") == 8
    assert not parameters.set("max_relative_target", -1.0).successful  # range, any state
    assert not parameters.set("wait_for_goal", True).successful  # configure-time, active


def test_a_live_control_rate_steps_as_a_sim_built_at_that_rate():
    """What sim_node's live control_hz does to the sim core: the same states, bit for bit, as
    a sim constructed at the new rate."""
    import numpy as np

    from lerobot_ros.sim.pick_cube import PickCubeSim, SimConfig

    small = {"image_width": 32, "image_height": 32}
    with PickCubeSim(SimConfig(control_hz=30.0, **small)) as changed:
        with PickCubeSim(SimConfig(control_hz=15.0, **small)) as built:
            changed.set_control_hz(15.0)
            for sim in (changed, built):
                sim.reset(4)
                sim.set_joint_targets(sim.joint_positions() + 0.1)
                for _ in range(10):
                    sim.step()
            assert changed.time == pytest.approx(10 / 15)
            np.testing.assert_array_equal(changed.joint_positions(), built.joint_positions())
