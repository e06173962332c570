"""Dataset frames from stamped inputs: the one sampling rule of live recording and bags.

A frame at tick ``t`` holds, per observation input, the newest sample with stamp <= ``t``
(at most ``max_age`` old), and as its action the newest command stamped before the next tick
(``< t + 1/fps``): the command issued in response to the observation at ``t``, LeRobot's
frame convention (observe, then act). ``recorder_node`` and ``bag2dataset`` both sample
with ``sample_frame``, so a live recording and the bag of the same run hold the same frames.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from lerobot_ros.features.alignment import NotReady, ObservationAligner
from lerobot_ros.features.mapping import ACTION, OBS_ENVIRONMENT_STATE, OBS_STATE

# A stamp this close after a tick counts as at the tick: stamps on a 1/fps grid land on
# ticks only up to nanosecond rounding (LeRobot's own timestamp tolerance).
STAMP_TOLERANCE_S = 1e-4
# Vector features are stored as float32 (LeRobot's dtype for state and action).
_FLOAT_FEATURES = (OBS_STATE, OBS_ENVIRONMENT_STATE, ACTION)


def sample_frame(
    observations: ObservationAligner,
    commands: ObservationAligner,
    tick: float,
    action_deadline: float,
    compose: Callable[[dict], dict] = dict,
) -> dict[str, np.ndarray] | NotReady:
    """The frame of ``tick`` (values by dataset key), or why it has none.

    Observations are looked up at ``tick`` within ``STAMP_TOLERANCE_S``.
    ``action_deadline``: the latest command stamp that still belongs to this tick (just
    before the next tick). ``compose``: aligned inputs -> dataset keys
    (``FeatureMapping.compose``, which joins state_extra inputs to observation.state).
    """
    observed = observations.sample(tick + STAMP_TOLERANCE_S)
    commanded = commands.sample(action_deadline)
    reasons = {}
    for result in (observed, commanded):
        if isinstance(result, NotReady):
            reasons.update(result.reasons)
    if reasons:
        return NotReady(tick, reasons)
    frame = compose({**observed.values, ACTION: commanded.values[ACTION]})
    for key in _FLOAT_FEATURES:
        if key in frame:
            frame[key] = np.asarray(frame[key], dtype=np.float32)
    return frame


def reason_summary(reasons: Iterable[tuple[str, str]]) -> list[str]:
    """Short reason labels (``key: stale``) for counting skipped ticks."""
    return [f"{key}: {reason.split(':')[0].split(' (')[0]}" for key, reason in reasons]
