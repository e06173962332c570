"""The scripted expert picks and lifts the cube from any spawn, using only joints + cube pose."""

import math

import numpy as np
import pytest

from lerobot_ros.robots import panda
from lerobot_ros.sim.expert import Phase, ScriptedPickExpert, cube_yaw, top_down_rotation
from lerobot_ros.sim.panda_kinematics import PandaKinematics


@pytest.fixture(scope="module")
def expert():
    return ScriptedPickExpert()


def run_episode(sim, expert, seed):
    """Closed loop without rendering; returns (first success step or None, max joint step)."""
    sim.reset(seed=seed)
    expert.reset()
    previous = sim.joint_targets
    largest_step = np.zeros(8)
    first_success = None
    for step in range(sim.config.max_episode_steps):
        position, quaternion = sim.cube_pose()
        target = expert.act(sim.joint_positions(), position, quaternion)
        largest_step = np.maximum(largest_step, np.abs(target - previous))
        previous = sim.set_joint_targets(target)
        sim.step()
        if first_success is None and sim.task_state().success:
            first_success = step
    return first_success, largest_step


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5, 6, 7])
def test_expert_lifts_the_cube(sim, expert, seed):
    first_success, largest_step = run_episode(sim, expert, seed)
    assert first_success is not None, f"seed {seed}: no success, phase {expert.phase}"
    # Still holding it at the end of the episode.
    state = sim.task_state()
    assert state.success and state.reward == 1.0
    assert expert.phase is Phase.HOLD
    # Smooth targets: never more than the per-tick joint limit (gripper open/close aside).
    limit = 0.5 * panda.velocity_limits()[:7] / sim.config.control_hz
    assert np.all(largest_step[:7] <= limit + 1e-9)


def test_ik_reaches_poses_across_the_workspace():
    kinematics = PandaKinematics()
    home = panda.HOME_POSITION[:7]
    for x, y, yaw in [(0.4, -0.2, 0.7), (0.65, 0.2, -0.7), (0.5, 0.0, 0.0)]:
        target = np.array([x, y, 0.03])
        rotation = top_down_rotation(yaw)
        q = kinematics.solve_ik(target, rotation, home, iterations=200)
        position, reached_rotation = kinematics.tcp_pose(q)
        np.testing.assert_allclose(position, target, atol=1e-3)
        np.testing.assert_allclose(reached_rotation, rotation, atol=1e-2)
        lower, upper = panda.joint_limits()
        assert np.all(q >= lower[:7]) and np.all(q <= upper[:7])


@pytest.mark.parametrize("yaw", [0.0, 0.3, -0.6, 1.2, 3.0, -2.5])
def test_cube_yaw_is_folded_to_a_quarter_turn(yaw):
    quaternion = np.array([math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)])
    folded = cube_yaw(quaternion)
    assert -math.pi / 4 <= folded < math.pi / 4
    assert math.remainder(folded - yaw, math.pi / 2) == pytest.approx(0.0, abs=1e-9)


def test_act_rejects_wrong_joint_count(expert):
    expert.reset()
    with pytest.raises(ValueError):
        expert.act(np.zeros(7), np.zeros(3), np.array([1.0, 0, 0, 0]))
