import numpy as np
import pytest

from lerobot_ros.control.joint_commands import JointLimits
from lerobot_ros.policy.safety import SafetyLayer

LIMITS = JointLimits(("a", "b"), np.array([-1.0, 0.0]), np.array([1.0, 0.04]))


def test_actions_are_clamped_to_limits():
    result = SafetyLayer(LIMITS).filter(np.array([3.0, 0.02]), measured=None)
    np.testing.assert_allclose(result.action, [1.0, 0.02])
    assert result.clamped and result.reason == "clamped"


def test_max_relative_target_bounds_the_step_from_the_measured_position():
    layer = SafetyLayer(LIMITS, max_relative_target=0.1)
    result = layer.filter(np.array([0.9, 0.0]), measured=np.array([0.0, 0.03]))
    np.testing.assert_allclose(result.action, [0.1, 0.0])
    assert result.clamped
    inside = layer.filter(np.array([0.05, 0.03]), measured=np.array([0.0, 0.03]))
    assert not inside.clamped


@pytest.mark.parametrize("action", [np.array([np.nan, 0.0]), np.array([0.0, np.inf]), np.zeros(3)])
def test_invalid_actions_are_refused(action):
    result = SafetyLayer(LIMITS).filter(action, measured=np.zeros(2))
    assert result.action is None and result.reason


def test_estop_refuses_everything_until_released():
    layer = SafetyLayer(LIMITS)
    layer.engage_estop()
    assert layer.filter(np.zeros(2), np.zeros(2)).action is None
    layer.release_estop()
    assert layer.filter(np.zeros(2), np.zeros(2)).action is not None


def test_hold_is_the_measured_position_within_limits():
    np.testing.assert_allclose(SafetyLayer(LIMITS).hold(np.array([2.0, 0.01])), [1.0, 0.01])


def test_bad_max_relative_target():
    with pytest.raises(ValueError):
        SafetyLayer(LIMITS, max_relative_target=-1.0)
