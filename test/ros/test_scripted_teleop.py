"""The scripted expert drives sim_node purely over the topic contract and solves the task."""

from __future__ import annotations

import pytest

from lerobot_ros.interfaces import TaskStatus
from lerobot_ros.nodes.scripted_teleop_node import ScriptedTeleopNode
from lerobot_ros.ros import qos, topics

pytestmark = pytest.mark.ros

SEEDS = (101, 202, 303)
MAX_STEPS = 300


def test_scripted_expert_solves_seeded_episodes_through_ros(start_node, probe):
    start_node("lerobot_ros.nodes.sim_node", {"cameras": ["front"], "max_episode_steps": MAX_STEPS})
    teleop = ScriptedTeleopNode(context=probe.context)
    probe.executor.add_node(teleop)
    statuses = probe.collect(TaskStatus, topics.TASK_STATUS, qos.STATE)
    results = {}
    try:
        for seed in SEEDS:
            episode = probe.sim.reset(seed).episode_index

            def done(episode=episode) -> bool:
                current = [s for s in statuses if s.episode_index == episode]
                return bool(current) and (current[-1].success or current[-1].truncated)

            assert probe.spin_until(done, timeout=MAX_STEPS / 30 * 4 + 20), f"seed {seed}: no end"
            final = [s for s in statuses if s.episode_index == episode][-1]
            results[seed] = (final.success, final.step)
    finally:
        probe.executor.remove_node(teleop)
        teleop.destroy_node()
    assert all(success for success, _ in results.values()), results
    assert teleop.commands_sent > 0
