"""Shared pieces of the bad-input property tests: the tally, hypothesis settings, strategies.

Every property test runs its target inside ``TALLY.attempt(target)`` and marks the outcome:

* ``rejected``  the documented refusal (InputError, MappingError, CommandError, GoalRejected,
  a refused action, success=false, an aborted goal with an error string) whose message says
  what is wrong;
* ``accepted``  a result that satisfies the target's property (finite, right shape, within
  limits, exact round trip);
* ``failed``    anything else: an exception left the block (another exception type, or an
  assertion of the property). A failed attempt also fails its test.

conftest.py writes the tally to build/robustness/bad_input.json (its docstring has the format).
"""

from __future__ import annotations

import math
import os
import threading
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

# Set BAD_INPUT_EXPLORE=1 for fresh random inputs each run; by default every run draws the
# same inputs, so the counts in the report are reproducible.
EXPLORE = os.environ.get("BAD_INPUT_EXPLORE") == "1"
OUTCOMES = ("rejected", "accepted", "failed")


@dataclass
class TargetCounts:
    counts: Counter = field(default_factory=Counter)
    details: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))

    def as_json(self) -> dict:
        data = {"tried": sum(self.counts[o] for o in OUTCOMES)}
        data.update({outcome: self.counts[outcome] for outcome in OUTCOMES})
        for outcome in OUTCOMES:
            if self.details[outcome]:
                data[f"{outcome}_by"] = dict(sorted(self.details[outcome].items()))
        return data


class Attempt:
    """One input given to a target; the test marks how it ended."""

    def __init__(self) -> None:
        self.outcome: str | None = None
        self.detail = ""

    def rejected(self, why: BaseException | str) -> None:
        self.outcome = "rejected"
        self.detail = type(why).__name__ if isinstance(why, BaseException) else str(why)

    def accepted(self, detail: str = "valid") -> None:
        self.outcome, self.detail = "accepted", detail


class Tally:
    """Per-target counts of the inputs tried, for build/robustness/bad_input.json."""

    def __init__(self) -> None:
        self.targets: dict[str, TargetCounts] = defaultdict(TargetCounts)
        self._lock = threading.Lock()

    def add(self, target: str, outcome: str, detail: str) -> None:
        with self._lock:
            self.targets[target].counts[outcome] += 1
            self.targets[target].details[outcome][detail] += 1

    @contextmanager
    def attempt(self, target: str) -> Iterator[Attempt]:
        attempt = Attempt()
        try:
            yield attempt
        except BaseException as error:
            self.add(target, "failed", type(error).__name__)
            raise
        if attempt.outcome is None:
            self.add(target, "failed", "no outcome marked")
            raise AssertionError(f"{target}: the test marked no outcome")
        self.add(target, attempt.outcome, attempt.detail)

    def as_json(self) -> dict:
        targets = {name: self.targets[name].as_json() for name in sorted(self.targets)}
        totals = {"tried": sum(t["tried"] for t in targets.values())}
        totals.update({o: sum(t[o] for t in targets.values()) for o in OUTCOMES})
        return {"targets": targets, "totals": totals}


TALLY = Tally()


def examples(n: int, shrink: bool = True) -> settings:
    """Hypothesis settings of one property: ``n`` inputs, no deadline, nothing stored.
    ``shrink=False`` reports a failing input as it was (requests to live nodes: shrinking
    would replay hundreds of them)."""
    phases = list(Phase) if shrink else [Phase.explicit, Phase.reuse, Phase.generate]
    return settings(
        max_examples=n,
        phases=phases,
        deadline=None,
        database=None,
        derandomize=not EXPLORE,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.large_base_example,
        ],
    )


# --- strategies -------------------------------------------------------------------------

SPECIAL_FLOATS = (math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, -0.0, 0.0)
HUGE_LENGTHS = (1_000, 100_000)

any_float = st.one_of(st.floats(), st.sampled_from(SPECIAL_FLOATS))
finite_float = st.floats(allow_nan=False, allow_infinity=False)
# Unicode the way a user can type or paste it: every category, control characters and NUL
# included (surrogates excluded: they are not text and cannot be encoded to send).
any_text = st.text(max_size=40)
long_text = st.builds(
    lambda piece, n: piece * n, st.text(min_size=1, max_size=4), st.integers(1000, 4000)
)
odd_text = st.sampled_from(
    ["", " ", "\x00", "a\x00b", "\n", "\t\r", "\u202eevil", "e\u0301", "🤖" * 3, "\ufeff", "\x7f"]
)
texts = st.one_of(any_text, odd_text, long_text)


@st.composite
def float_arrays(draw: st.DrawFn, length: int) -> array:
    """``length`` doubles, all finite half of the time (else NaN, inf and extremes mixed
    in): drawn one by one when short, a repeated value when huge."""
    values = finite_float if draw(st.booleans()) else any_float
    if length <= 64:
        return array("d", draw(st.lists(values, min_size=length, max_size=length)))
    return array("d", [draw(values)]) * length


def lengths_near(n: int) -> st.SearchStrategy[int]:
    """The right length most of the time, else off by one, empty, or huge."""
    wrong = sorted({max(n - 1, 0), n + 1, 0, *HUGE_LENGTHS} - {n})
    return st.one_of(st.just(n), st.just(n), st.sampled_from(wrong))


def joint_name_lists(mapped: tuple[str, ...]) -> st.SearchStrategy[list[str]]:
    """Names as a driver may send them: shuffled, with extras, missing or repeated ones."""

    @st.composite
    def build(draw: st.DrawFn) -> list[str]:
        kind = draw(st.sampled_from(["shuffled", "shuffled", "random", "huge"]))
        if kind == "random":
            return draw(st.lists(st.one_of(st.sampled_from(mapped), texts), max_size=12))
        names = list(draw(st.permutations(mapped)))
        if kind == "huge":
            return names + [f"extra_{i}" for i in range(draw(st.sampled_from(HUGE_LENGTHS)))]
        if draw(st.booleans()):
            names.pop(draw(st.integers(0, len(names) - 1)))
        if draw(st.booleans()):
            names.insert(draw(st.integers(0, len(names))), draw(st.sampled_from(mapped)))
        names += draw(st.lists(texts, max_size=3))
        return names

    return build()
