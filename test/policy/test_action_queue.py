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


def ones_then(new_value, aggregation):
    """Ticks 0..5 queued at 1.0, then a chunk of ``new_value`` for ticks 3..8."""
    queue = ActionChunkQueue(refill_below=3, aggregation=aggregation)
    queue.add_chunk(np.ones((6, 1)), observed_tick=0, current_tick=0)
    queue.add_chunk(np.full((6, 1), new_value), observed_tick=3, current_tick=1)
    return [float(queue.pop(t)[0]) for t in range(1, 9)]


@pytest.mark.parametrize(
    ("aggregation", "overlap"),
    # LeRobot async inference's weights of (queued, new) where chunks overlap.
    [("latest_only", 0.0), ("weighted_average", 0.3), ("average", 0.5), ("conservative", 0.7)],
)
def test_overlapping_actions_merge_by_lerobot_async_rules(aggregation, overlap):
    merged = ones_then(0.0, aggregation)
    # Ticks 1, 2: only the first chunk; 3..5 overlap; 6..8 only the new chunk.
    assert merged == pytest.approx([1.0, 1.0, overlap, overlap, overlap, 0.0, 0.0, 0.0])


def test_queued_actions_past_the_new_chunk_are_dropped():
    queue = ActionChunkQueue(refill_below=1, aggregation="average")
    queue.add_chunk(np.ones((10, 1)), observed_tick=0, current_tick=0)
    queue.add_chunk(np.zeros((3, 1)), observed_tick=2, current_tick=2)
    assert [float(queue.pop(t)[0]) for t in range(2, 5)] == [0.5, 0.5, 0.5]
    assert queue.pop(5) is None and len(queue) == 0


@pytest.mark.parametrize("coeff", [0.01, 0.0, -0.5])
def test_temporal_ensemble_matches_lerobots_act_ensembler(coeff):
    """A chunk at every tick through the queue gives ACTTemporalEnsembler's actions."""
    import torch
    from lerobot.policies.act.modeling_act import ACTTemporalEnsembler

    chunk_size, dims = 6, 3
    chunks = np.random.default_rng(0).normal(size=(20, chunk_size, dims))
    ensembler = ACTTemporalEnsembler(coeff, chunk_size)
    queue = ActionChunkQueue(refill_below=1, aggregation="temporal_ensemble", ensemble_coeff=coeff)
    for tick, predicted in enumerate(chunks):
        expected = ensembler.update(torch.from_numpy(predicted[None]).double())[0].numpy()
        assert queue.needs_refill(tick)  # an ensemble takes every chunk it can get
        queue.add_chunk(predicted, observed_tick=tick, current_tick=tick)
        # ACT computes its weights in float32.
        np.testing.assert_allclose(queue.pop(tick), expected, rtol=1e-6, atol=1e-6)


def test_temporal_ensemble_weighs_late_chunks_by_their_rank():
    queue = ActionChunkQueue(refill_below=1, aggregation="temporal_ensemble", ensemble_coeff=1.0)
    queue.add_chunk(np.zeros((6, 1)), observed_tick=0, current_tick=0)
    queue.add_chunk(np.ones((6, 1)), observed_tick=2, current_tick=3)  # arrived at tick 3
    weights = np.exp(-1.0 * np.arange(2))
    assert queue.pop(3)[0] == pytest.approx(weights[1] / weights.sum())
    assert queue.pop(6)[0] == 1.0  # only the second chunk reaches tick 6


def test_the_lead_asks_earlier_than_refill_below():
    queue = ActionChunkQueue(refill_below=2)
    queue.add_chunk(chunk(0, 10), observed_tick=0, current_tick=0)
    assert not queue.needs_refill(4)  # 6 ahead
    assert queue.needs_refill(4, lead=7)  # a chunk takes 7 ticks to arrive
    assert not queue.needs_refill(4, lead=6)


def test_an_unknown_aggregation_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="weighted_average"):
        ActionChunkQueue(3, aggregation="mean")
