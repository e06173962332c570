"""PolicyRunner without ROS: chunks at the right ticks, refills while the loop runs, stale
chunks dropped after a restart, failures reported, the task reaching the policy.

The policy here is a plain function standing in for LeRobot's (these tests are about the
bookkeeping; the real policies run through it in the ROS tests)."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

from lerobot_ros.policy.runner import PolicyRunner, lead_ticks

CHUNK = 4


class ChunkPolicy:
    """Chunks whose actions name their tick (observation tick + i); can be held back."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.release.set()
        self.calls: list[tuple[int, str]] = []
        self.fail = False

    def predict(self, loaded, observation, task):  # noqa: ANN001, ANN201
        self.calls.append((observation["tick"], task))
        assert self.release.wait(10)
        if self.fail:
            raise RuntimeError("out of memory")
        return np.arange(observation["tick"], observation["tick"] + CHUNK)[:, None] * 1.0


@pytest.fixture
def setup():
    policy = ChunkPolicy()
    clock = {"tick": 0}
    errors: list[Exception] = []
    loaded = SimpleNamespace(policy=SimpleNamespace(reset=lambda: None))
    runner = PolicyRunner(
        loaded,
        refill_below=2,
        current_tick=lambda: clock["tick"],
        on_error=errors.append,
        predict_chunk=policy.predict,
        select=lambda loaded, observation, task: np.array([observation["tick"], len(task)]),
    )
    yield runner, policy, clock, errors
    runner.close()


def settle(runner) -> None:  # noqa: ANN001
    """Until the worker has delivered (a released chunk takes no time to compute)."""
    deadline = time.monotonic() + 10
    while runner.busy and time.monotonic() < deadline:
        time.sleep(0.001)


def run_ticks(runner, clock, ticks, wait: bool = True) -> list:  # noqa: ANN001
    actions = []
    for tick in ticks:
        clock["tick"] = tick
        action = runner.tick(tick, lambda tick=tick: {"tick": tick})
        actions.append(None if action is None else float(action[0]))
        if wait:
            settle(runner)
    return actions


def test_each_tick_gets_its_own_action_and_chunks_are_asked_for_early(setup):
    runner, policy, clock, _ = setup
    actions = run_ticks(runner, clock, range(12))
    assert actions[0] is None  # the first chunk is on its way
    assert actions[1:] == [float(t) for t in range(1, 12)]  # never ran dry after that
    # A new chunk while 1 action remained (refill_below 2): asked at ticks 0, 3, 6, 9.
    assert [tick for tick, _ in policy.calls][:4] == [0, 3, 6, 9]


def test_a_chunk_of_the_previous_episode_is_dropped(setup):
    runner, policy, clock, _ = setup
    policy.release.clear()
    assert run_ticks(runner, clock, [0], wait=False) == [None]  # asked, held back
    runner.restart()  # a new episode while that chunk is computed
    policy.release.set()
    settle(runner)
    assert runner.queue_depth == 0
    assert run_ticks(runner, clock, [1, 2]) == [None, 2.0]  # a fresh chunk from tick 1


def test_a_late_chunk_loses_the_ticks_already_past(setup):
    runner, policy, clock, _ = setup
    policy.release.clear()
    run_ticks(runner, clock, [0], wait=False)
    clock["tick"] = 2  # inference took two ticks
    policy.release.set()
    settle(runner)
    assert runner.actions.dropped_late == 2 and runner.queue_depth == 2


def test_a_failed_inference_is_reported_and_the_runner_goes_on(setup):
    runner, policy, clock, errors = setup
    policy.fail = True
    assert run_ticks(runner, clock, [0, 1]) == [None, None]
    assert len(errors) >= 1 and "out of memory" in str(errors[0])
    policy.fail = False
    assert run_ticks(runner, clock, [2, 3])[-1] == 3.0


def test_the_task_reaches_the_policy_in_both_modes(setup):
    runner, policy, clock, _ = setup
    runner.set_task("pick up the red cube")
    run_ticks(runner, clock, [0])
    assert policy.calls[0] == (0, "pick up the red cube")
    assert runner.act({"tick": 7}).tolist() == [7, len("pick up the red cube")]
    assert runner.last_inference_s >= 0.0


def test_seeding_repeats_random_draws():
    import torch

    runner = PolicyRunner(
        SimpleNamespace(policy=SimpleNamespace(reset=lambda: None)), 1, current_tick=lambda: 0
    )
    try:
        runner.seed(11)
        first = torch.rand(3)
        runner.seed(11)
        assert torch.equal(first, torch.rand(3))
    finally:
        runner.close()


def test_lead_ticks_follow_the_slowest_recent_inference():
    assert lead_ticks([], 1 / 30) == 0
    assert lead_ticks([0.05], 0.0) == 0  # no control period: refill_below only
    assert lead_ticks([0.100, 0.167, 0.120], 1 / 30) == 7  # ceil(5.01) + 1


def test_a_slow_policy_is_asked_early_enough_for_its_inference_time():
    policy = ChunkPolicy()
    clock = {"tick": 0}

    def slow(loaded, observation, task):  # noqa: ANN001, ANN202
        time.sleep(0.05)
        return policy.predict(loaded, observation, task)

    loaded = SimpleNamespace(policy=SimpleNamespace(reset=lambda: None))
    runner = PolicyRunner(
        loaded,
        refill_below=1,
        current_tick=lambda: clock["tick"],
        predict_chunk=slow,
        control_period_s=0.01,
    )
    try:
        assert runner.lead_ticks == 0  # nothing measured yet
        run_ticks(runner, clock, [0])
        assert runner.lead_ticks >= 6  # 50 ms at 100 Hz, plus a tick
        # With 4 actions queued (CHUNK) and a lead >= 6, the next chunk is asked for at once.
        run_ticks(runner, clock, [1])
        assert [tick for tick, _ in policy.calls] == [0, 1]
    finally:
        runner.close()
