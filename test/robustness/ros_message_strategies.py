"""Strategies for ROS messages of the command side (shared by the plain-Python and the
ROS request tests): times ROS can carry, FollowJointTrajectory goals."""

from __future__ import annotations

import numpy as np
from bad_input_support import any_float, float_arrays, joint_name_lists, lengths_near, texts
from builtin_interfaces.msg import Duration, Time
from control_msgs.action import FollowJointTrajectory
from control_msgs.msg import JointTolerance
from hypothesis import strategies as st
from trajectory_msgs.msg import JointTrajectoryPoint

from lerobot_ros.robots import panda

LOWER, UPPER = panda.joint_limits()
HOME = np.asarray(panda.HOME_POSITION, dtype=float)
ARM = panda.ARM_JOINT_NAMES

seconds = st.integers(-(2**31), 2**31 - 1)
nanoseconds = st.integers(0, 2**32 - 1)
durations = st.one_of(
    st.builds(Duration, sec=seconds, nanosec=nanoseconds),
    st.builds(Duration, sec=st.integers(0, 5), nanosec=st.integers(0, 10**9 - 1)),
)
stamps = st.one_of(st.just(Time()), st.builds(Time, sec=seconds, nanosec=nanoseconds))


@st.composite
def tolerances(draw: st.DrawFn, names: list[str]) -> list[JointTolerance]:
    return [
        JointTolerance(
            name=draw(st.one_of(st.sampled_from(names or ["x"]), texts)),
            position=draw(any_float),
            velocity=draw(any_float),
            acceleration=draw(any_float),
        )
        for _ in range(draw(st.integers(0, 2)))
    ]


@st.composite
def follow_goals(draw: st.DrawFn) -> tuple[FollowJointTrajectory.Goal, bool]:
    """A goal, and whether it is valid (the arm can follow it from HOME)."""
    goal = FollowJointTrajectory.Goal()
    trajectory = goal.trajectory
    kind = draw(st.sampled_from(["valid", "bad points", "random"]))
    if kind == "valid":  # arm joints, slow enough, within the limits
        names = draw(st.lists(st.sampled_from(ARM), min_size=1, unique=True))
        trajectory.joint_names = names
        columns = [panda.JOINT_NAMES.index(n) for n in names]
        t = 0.0
        for _ in range(draw(st.integers(1, 4))):
            t += draw(st.floats(0.5, 3.0))
            offset = draw(st.lists(st.floats(-0.1, 0.1), min_size=len(names), max_size=len(names)))
            positions = np.clip(HOME[columns] + offset, LOWER[columns], UPPER[columns])
            point = JointTrajectoryPoint(positions=positions.tolist())
            point.time_from_start.sec = int(t)
            point.time_from_start.nanosec = int((t - int(t)) * 1e9)
            trajectory.points.append(point)
        return goal, True
    if kind == "bad points":  # the right joints, anything else wrong
        trajectory.joint_names = draw(st.lists(st.sampled_from(ARM), min_size=1, unique=True))
    else:
        trajectory.joint_names = draw(
            st.one_of(joint_name_lists(ARM), joint_name_lists(panda.JOINT_NAMES))
        )
    trajectory.header.stamp = draw(stamps)
    n = len(trajectory.joint_names)
    for _ in range(draw(st.integers(0, 4))):
        point = JointTrajectoryPoint(positions=draw(float_arrays(draw(lengths_near(n)))))
        if draw(st.booleans()):
            point.velocities = draw(float_arrays(draw(st.sampled_from([0, n, n + 1]))))
        if draw(st.booleans()):
            point.accelerations = draw(float_arrays(draw(st.sampled_from([0, n, max(n - 1, 0)]))))
        point.time_from_start = draw(durations)
        trajectory.points.append(point)
    goal.path_tolerance = draw(tolerances(list(trajectory.joint_names)))
    goal.goal_tolerance = draw(tolerances(list(trajectory.joint_names)))
    goal.goal_time_tolerance = draw(durations)
    if draw(st.integers(0, 9)) == 0:
        goal.multi_dof_trajectory.joint_names = [draw(texts)]
    return goal, False
