"""Action chunks consumed at control rate while the next chunk is computed (async inference).

A chunk predicted from the observation of tick ``k`` holds the actions for ticks ``k``,
``k+1``, ... . By the time it arrives the control loop has moved on, so the actions for ticks
already past are dropped. Where it overlaps queued actions the two are merged by the
queue's aggregation (:data:`AGGREGATIONS`); queued actions beyond its end are dropped.
A new chunk is requested while fewer than ``refill_below`` actions (or the caller's lead,
see :meth:`ActionChunkQueue.needs_refill`) are still queued, so the queue never runs dry as
long as inference takes fewer ticks than that.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

# Overlap rules of LeRobot's async inference, by its names (``--aggregate_fn_name``) and
# weights: (queued, new) -> merged. Its registry needs the grpc extra, so it is not imported.
PAIRWISE: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "latest_only": lambda old, new: new,
    "weighted_average": lambda old, new: 0.3 * old + 0.7 * new,
    "average": lambda old, new: 0.5 * old + 0.5 * new,
    "conservative": lambda old, new: 0.7 * old + 0.3 * new,
}
# ACT's temporal ensembling applied to every chunk that covers a tick: the i-th prediction
# for a tick (0 = oldest) weighs exp(-coeff * i), as ACTTemporalEnsembler does.
TEMPORAL_ENSEMBLE = "temporal_ensemble"
AGGREGATIONS = (*PAIRWISE, TEMPORAL_ENSEMBLE)
DEFAULT_AGGREGATION = "latest_only"
DEFAULT_ENSEMBLE_COEFF = 0.01  # ACT's temporal_ensemble_coeff of the original work


class _Planned:
    """The actions planned for one tick: their weighted sum and the weights so far."""

    __slots__ = ("count", "total", "weight")

    def __init__(self, action: np.ndarray) -> None:
        self.total, self.weight, self.count = action, 1.0, 1

    @property
    def action(self) -> np.ndarray:
        return self.total / self.weight


class ActionChunkQueue:
    def __init__(
        self,
        refill_below: int,
        aggregation: str = DEFAULT_AGGREGATION,
        ensemble_coeff: float = DEFAULT_ENSEMBLE_COEFF,
    ) -> None:
        """``aggregation``: how a new chunk merges with the actions it overlaps, one of
        :data:`AGGREGATIONS`; ``ensemble_coeff``: the temporal ensemble's coefficient (ACT's
        ``temporal_ensemble_coeff``; 0 weighs every prediction alike, > 0 favours older)."""
        if refill_below < 1:
            raise ValueError(f"refill_below must be >= 1, got {refill_below}")
        if aggregation not in AGGREGATIONS:
            raise ValueError(
                f"aggregation must be one of {list(AGGREGATIONS)}, got {aggregation!r}"
            )
        self.refill_below = refill_below
        self.aggregation = aggregation
        self.ensemble_coeff = ensemble_coeff
        self._queue: dict[int, _Planned] = {}  # tick -> plan, in tick order
        self.dropped_late = 0

    def __len__(self) -> int:
        return len(self._queue)

    def clear(self) -> None:
        self._queue.clear()

    def depth_at(self, tick: int) -> int:
        """Actions still ahead of ``tick`` (inclusive)."""
        return sum(1 for t in self._queue if t >= tick)

    def needs_refill(self, tick: int, lead: int = 0) -> bool:
        """Whether to ask for a chunk now: fewer than ``max(refill_below, lead)`` actions are
        ahead (``lead``: the ticks a chunk takes to arrive). A temporal ensemble asks for one
        at every chance: each prediction of a tick adds to its average."""
        if self.aggregation == TEMPORAL_ENSEMBLE:
            return True
        return self.depth_at(tick) < max(self.refill_below, lead)

    def add_chunk(self, chunk: np.ndarray, observed_tick: int, current_tick: int) -> int:
        """Merge a (T, D) chunk observed at ``observed_tick``; returns how many were usable."""
        fresh = [
            (observed_tick + i, np.asarray(a, dtype=np.float64))
            for i, a in enumerate(chunk)
            if observed_tick + i >= current_tick
        ]
        self.dropped_late += len(chunk) - len(fresh)
        if not fresh:
            return 0
        first = fresh[0][0]
        queued = self._queue
        self._queue = {t: p for t, p in queued.items() if current_tick <= t < first}
        for tick, action in fresh:
            self._queue[tick] = self._merge(queued.get(tick), action)
        return len(fresh)

    def _merge(self, planned: _Planned | None, action: np.ndarray) -> _Planned:
        if planned is None:
            return _Planned(action)
        if self.aggregation != TEMPORAL_ENSEMBLE:
            return _Planned(PAIRWISE[self.aggregation](planned.action, action))
        weight = math.exp(-self.ensemble_coeff * planned.count)
        planned.total = planned.total + weight * action
        planned.weight += weight
        planned.count += 1
        return planned

    def pop(self, tick: int) -> np.ndarray | None:
        """The action for ``tick`` (older ones are discarded), or None if there is none."""
        for t in [t for t in self._queue if t < tick]:
            del self._queue[t]
        planned = self._queue.pop(tick, None)
        return None if planned is None else planned.action
