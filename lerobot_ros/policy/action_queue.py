"""Action chunks consumed at control rate while the next chunk is computed (async inference).

A chunk predicted from the observation of tick ``k`` holds the actions for ticks ``k``,
``k+1``, ... . By the time it arrives the control loop has moved on, so the actions for ticks
already past are dropped, and any queued actions it overlaps are replaced by the fresher ones.
A new chunk is requested while ``refill_below`` actions are still queued, so the queue never
runs dry as long as inference takes fewer ticks than that.
"""

from __future__ import annotations

from collections import deque

import numpy as np


class ActionChunkQueue:
    def __init__(self, refill_below: int) -> None:
        if refill_below < 1:
            raise ValueError(f"refill_below must be >= 1, got {refill_below}")
        self.refill_below = refill_below
        self._queue: deque[tuple[int, np.ndarray]] = deque()
        self.dropped_late = 0

    def __len__(self) -> int:
        return len(self._queue)

    def clear(self) -> None:
        self._queue.clear()

    def depth_at(self, tick: int) -> int:
        """Actions still ahead of ``tick`` (inclusive)."""
        return sum(1 for t, _ in self._queue if t >= tick)

    def needs_refill(self, tick: int) -> bool:
        return self.depth_at(tick) < self.refill_below

    def add_chunk(self, chunk: np.ndarray, observed_tick: int, current_tick: int) -> int:
        """Merge a (T, D) chunk observed at ``observed_tick``; returns how many were usable."""
        fresh = [
            (observed_tick + i, np.asarray(a))
            for i, a in enumerate(chunk)
            if observed_tick + i >= current_tick
        ]
        self.dropped_late += len(chunk) - len(fresh)
        if fresh:
            first = fresh[0][0]
            self._queue = deque((t, a) for t, a in self._queue if t < first and t >= current_tick)
            self._queue.extend(fresh)
        return len(fresh)

    def pop(self, tick: int) -> np.ndarray | None:
        """The action for ``tick`` (older ones are discarded), or None if there is none."""
        while self._queue and self._queue[0][0] < tick:
            self._queue.popleft()
        if self._queue and self._queue[0][0] == tick:
            return self._queue.popleft()[1]
        return None
