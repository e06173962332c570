import numpy as np
import pytest

from lerobot_ros.policy.action_queue import ActionChunkQueue


def chunk(start, n):
    return np.arange(start, start + n, dtype=float)[:, None]


def test_late_chunk_drops_actions_for_ticks_already_past():
    queue = ActionChunkQueue(refill_below=3)
    usable = queue.add_chunk(chunk(100, 10), observed_tick=100, current_tick=103)
    assert usable == 7 and queue.dropped_late == 3
    assert queue.pop(103)[0] == 103


def test_fresh_chunk_replaces_overlapping_actions():
    queue = ActionChunkQueue(refill_below=3)
    queue.add_chunk(chunk(0, 10), observed_tick=0, current_tick=0)
    assert queue.pop(0)[0] == 0 and queue.pop(1)[0] == 1
    queue.add_chunk(chunk(1000, 10), observed_tick=5, current_tick=2)
    assert queue.pop(2)[0] == 2  # kept: before the new chunk starts
    assert queue.pop(5)[0] == 1000  # replaced from tick 5 on; 3 and 4 skipped by pop
    assert len(queue) == 9


def test_refill_before_running_dry_and_empty_pop():
    queue = ActionChunkQueue(refill_below=3)
    assert queue.needs_refill(0) and queue.pop(0) is None
    queue.add_chunk(chunk(0, 5), observed_tick=0, current_tick=0)
    assert not queue.needs_refill(0)
    assert queue.needs_refill(3)  # only ticks 3 and 4 left
    queue.clear()
    assert len(queue) == 0


def test_refill_below_must_be_positive():
    with pytest.raises(ValueError):
        ActionChunkQueue(0)
