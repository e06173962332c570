"""A loaded policy driving a control loop, without ROS (policy_node translates messages and
calls it, as nav2_simple_commander's plain classes under their nodes).

Two ways to act:

* lockstep, :meth:`PolicyRunner.act`: one ``select_action`` per observation, as LeRobot's
  rollout;
* real time, :meth:`PolicyRunner.tick`: one action per control tick from a queue of action
  chunks (:class:`ActionChunkQueue`) that a worker thread predicts, asked for while fewer
  actions remain than ``refill_below`` or than the ticks the recent inferences took (the
  lead, :func:`lead_ticks`), so inference never blocks the loop.

Episodes: :meth:`restart` forgets queued actions, and a chunk still being computed for the old
episode is dropped when it arrives (a generation counter); :meth:`seed` seeds the policy's
generators for a repeatable episode.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from lerobot_ros.policy.action_queue import (
    DEFAULT_AGGREGATION,
    DEFAULT_ENSEMBLE_COEFF,
    ActionChunkQueue,
)
from lerobot_ros.policy.inference import predict_action_chunk, seed_episode, select_action
from lerobot_ros.policy.loading import LoadedPolicy

Observation = dict[str, Any]
# The lead follows the slowest of the last few inferences (a chunk asked for that late would
# arrive after the queue ran dry), plus one tick for the request's own delay.
RECENT_INFERENCES = 8


def lead_ticks(inference_s: Iterable[float], control_period_s: float) -> int:
    """Ticks a chunk asked for now takes to arrive, from recent inference durations."""
    durations = list(inference_s)
    if not durations or control_period_s <= 0:
        return 0
    return math.ceil(max(durations) / control_period_s) + 1


class PolicyRunner:
    def __init__(
        self,
        loaded: LoadedPolicy,
        refill_below: int,
        current_tick: Callable[[], int],
        on_error: Callable[[Exception], None] = lambda error: None,
        predict_chunk: Callable[
            [LoadedPolicy, Observation, str], np.ndarray
        ] = predict_action_chunk,
        select: Callable[[LoadedPolicy, Observation, str], np.ndarray] = select_action,
        aggregation: str = DEFAULT_AGGREGATION,
        ensemble_coeff: float = DEFAULT_ENSEMBLE_COEFF,
        control_period_s: float = 0.0,
    ) -> None:
        """``current_tick``: the control loop's tick now (a late chunk's past actions are
        dropped); ``on_error``: told of a failed inference (the runner goes on);
        ``aggregation``, ``ensemble_coeff``: how overlapping chunks merge
        (:class:`ActionChunkQueue`); ``control_period_s``: the tick's length, > 0 to ask for
        chunks early enough for the measured inference time (0: ``refill_below`` only)."""
        self.loaded = loaded
        self.actions = ActionChunkQueue(refill_below, aggregation, ensemble_coeff)
        self.control_period_s = control_period_s
        self._recent_inference_s: deque[float] = deque(maxlen=RECENT_INFERENCES)
        self.task = ""
        self.last_inference_s = 0.0
        self.accepting = True  # False: arriving chunks are dropped (the policy is inactive)
        self._current_tick = current_tick
        self._on_error = on_error
        self._predict_chunk = predict_chunk
        self._select = select
        self._lock = threading.Lock()  # the caller's thread <-> the worker
        self._generation = 0
        self._busy = False
        self._requests: queue.Queue = queue.Queue(maxsize=1)
        self._worker = threading.Thread(target=self._work, name="policy_inference", daemon=True)
        self._worker.start()

    # --- episodes ---------------------------------------------------------------------------
    def restart(self) -> None:
        """A new episode (or a new plan): queued actions and chunks in flight are dropped."""
        with self._lock:
            self._generation += 1
            self.actions.clear()
        self.loaded.policy.reset()

    def seed(self, seed: int) -> None:
        """Seed torch, numpy and python for a repeatable episode (not while a chunk is
        being computed from them)."""
        with self._lock:
            seed_episode(seed)

    def set_task(self, task: str) -> None:
        """The instruction of language-conditioned policies, from the next inference on."""
        with self._lock:
            self.task = task

    # --- acting -----------------------------------------------------------------------------
    def act(self, observation: Observation) -> np.ndarray:
        """Lockstep: the action for this observation (LeRobot's ``select_action``)."""
        started = time.perf_counter()
        action = self._select(self.loaded, observation, self.task)
        self.last_inference_s = time.perf_counter() - started
        return action

    def tick(self, tick: int, observation: Callable[[], Observation]) -> np.ndarray | None:
        """Real time: the action for control tick ``tick`` (None while no chunk covers it).
        ``observation`` is called only when a new chunk is asked for."""
        with self._lock:
            if not self._busy and self.actions.needs_refill(tick, self.lead_ticks):
                self._busy = True
                self._requests.put((self._generation, tick, observation(), self.task))
            return self.actions.pop(tick)

    @property
    def queue_depth(self) -> int:
        return len(self.actions)

    @property
    def lead_ticks(self) -> int:
        """Ticks ahead of running dry at which the next chunk is asked for (0: not measured)."""
        return lead_ticks(self._recent_inference_s, self.control_period_s)

    @property
    def busy(self) -> bool:
        """A chunk is being computed."""
        return self._busy

    def close(self) -> None:
        """Stop the worker (a chunk in flight finishes and is dropped)."""
        self.accepting = False
        self._requests.put(None)

    def _work(self) -> None:
        while (request := self._requests.get()) is not None:
            generation, tick, observation, task = request
            started = time.perf_counter()
            try:
                chunk = self._predict_chunk(self.loaded, observation, task)
            except Exception as error:  # noqa: BLE001 - reported; the loop goes on
                self._on_error(error)
                chunk = None
            with self._lock:
                self._busy = False
                self.last_inference_s = time.perf_counter() - started
                if chunk is not None:
                    self._recent_inference_s.append(self.last_inference_s)
                if chunk is not None and generation == self._generation and self.accepting:
                    self.actions.add_chunk(chunk, tick, self._current_tick())
