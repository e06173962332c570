"""Align multi-rate inputs by header stamp: the newest sample not newer than the tick.

Never a future sample (that would leak information a live policy cannot have), never one
older than ``max_age`` (feeding a policy old data is worse than pausing it).
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


class StampedBuffer:
    """The last ``capacity`` samples of one input, ordered by stamp."""

    def __init__(self, capacity: int = 64) -> None:
        self._stamps: deque[float] = deque(maxlen=capacity)
        self._values: deque[Any] = deque(maxlen=capacity)

    def __len__(self) -> int:
        return len(self._stamps)

    def add(self, stamp: float, value: Any) -> None:  # noqa: ANN401 - any sample type
        """Append a sample; one older than the newest (out of order, or a clock jump back)
        clears the buffer first, so nothing from a previous timeline is ever returned."""
        if self._stamps and stamp < self._stamps[-1]:
            self.clear()
        self._stamps.append(stamp)
        self._values.append(value)

    def clear(self) -> None:
        self._stamps.clear()
        self._values.clear()

    def as_of(self, t: float) -> tuple[float, Any] | None:
        """(stamp, value) of the newest sample with stamp <= t, or None."""
        index = bisect.bisect_right(self._stamps, t) - 1
        if index < 0:
            return None
        return self._stamps[index], self._values[index]

    def next_stamp_after(self, t: float) -> float | None:
        """Stamp of the oldest sample newer than ``t``, or None."""
        index = bisect.bisect_right(self._stamps, t)
        return self._stamps[index] if index < len(self._stamps) else None

    @property
    def newest_stamp(self) -> float | None:
        return self._stamps[-1] if self._stamps else None


@dataclass(frozen=True)
class Aligned:
    """Inputs of one tick: values, and each input's age at the tick."""

    tick: float
    values: dict[str, Any]
    ages: dict[str, float]


@dataclass(frozen=True)
class NotReady:
    """Why a tick has no observation: each missing or stale input with the reason."""

    tick: float
    reasons: dict[str, str]

    def __str__(self) -> str:
        return "; ".join(f"{key}: {reason}" for key, reason in sorted(self.reasons.items()))


class ObservationAligner:
    def __init__(self, keys: Iterable[str], max_age: float, capacity: int = 64) -> None:
        if not max_age > 0:
            raise ValueError(f"max_age must be > 0, got {max_age}")
        self.max_age = max_age
        self.buffers = {key: StampedBuffer(capacity) for key in keys}

    def add(self, key: str, stamp: float, value: Any) -> None:  # noqa: ANN401
        self.buffers[key].add(stamp, value)

    def clear(self) -> None:
        for buffer in self.buffers.values():
            buffer.clear()

    def sample(self, tick: float) -> Aligned | NotReady:
        values, ages, reasons = {}, {}, {}
        for key, buffer in self.buffers.items():
            found = buffer.as_of(tick)
            if found is None:
                newest = buffer.newest_stamp
                reasons[key] = (
                    "no message yet"
                    if newest is None
                    else f"only newer messages (from {newest:.3f} s)"
                )
                continue
            stamp, value = found
            age = tick - stamp
            if age > self.max_age:
                reasons[key] = f"stale: {age:.3f} s old > max_age {self.max_age:.3f} s"
                continue
            values[key], ages[key] = value, age
        if reasons:
            return NotReady(tick, reasons)
        return Aligned(tick, values, ages)

    def newest_common_stamp(self) -> float | None:
        """The latest tick at which every input has a sample (lockstep: the sim's last step)."""
        stamps = [buffer.newest_stamp for buffer in self.buffers.values()]
        return None if any(s is None for s in stamps) else min(stamps)


class InputWatch:
    """Which inputs nothing provides, so a policy can say so instead of waiting forever.

    An input is missing once it has been silent for ``timeout_s`` (since the watch started,
    or since its last message) while nothing publishes its topic, or when it never arrived
    at all while other inputs do (a publisher of another type or an incompatible QoS). An
    input that arrived before and pauses, its publisher present, is not missing: a lockstep
    sim idles between episodes while its periodic topics go on.
    """

    def __init__(self, keys: Iterable[str], timeout_s: float, now: float) -> None:
        self.timeout_s = timeout_s
        self._started = now
        self._last: dict[str, float | None] = dict.fromkeys(keys)

    def restart(self, now: float) -> None:
        """Count silence from ``now`` (the policy was just activated or reset)."""
        self._started = now

    def arrived(self, key: str, now: float) -> None:
        self._last[key] = now

    def missing(self, now: float, publisher_counts: dict[str, int]) -> dict[str, str]:
        """Missing input -> why, given how many publishers each input's topic has."""
        silent = {
            key: now - max(self._started, last if last is not None else -float("inf"))
            for key, last in self._last.items()
        }
        arriving = {key for key, seconds in silent.items() if seconds < self.timeout_s}
        reasons = {}
        for key, seconds in silent.items():
            if seconds < self.timeout_s:
                continue
            if publisher_counts.get(key, 0) == 0:
                reasons[key] = f"nothing publishes it ({seconds:.1f} s)"
            elif arriving and self._last[key] is None:
                reasons[key] = (
                    f"no message in {seconds:.1f} s while {', '.join(sorted(arriving))} arrive "
                    "(a publisher of another type, or an incompatible QoS?)"
                )
        return reasons
