"""Connecting to hardware with a few attempts.

A bus that has just been opened, or a servo busy with something else, can miss the first
packets; a few tries a moment apart tell that from a device that is really absent.
"""

from __future__ import annotations

import time
from collections.abc import Callable

CONNECT_ATTEMPTS = 3
CONNECT_RETRY_DELAY_S = 0.5


def connect_with_retries[T](
    connect: Callable[[], T],
    cleanup: Callable[[], None],
    attempts: int,
    retry_on: type[Exception] | tuple[type[Exception], ...],
    on_retry: Callable[[int, Exception], None],
) -> T:
    """``connect()`` up to ``attempts`` times, ``CONNECT_RETRY_DELAY_S`` apart.

    ``cleanup()`` runs after every failure (nothing is left open behind one);
    ``on_retry(attempt, error)`` before each new attempt. An error that is not ``retry_on``,
    or the last attempt's error, is raised as it is.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be >= 1, got {attempts}")
    for attempt in range(1, attempts + 1):
        try:
            return connect()
        except Exception as error:
            cleanup()
            if not isinstance(error, retry_on) or attempt == attempts:
                raise
            on_retry(attempt, error)
            time.sleep(CONNECT_RETRY_DELAY_S)
    raise AssertionError("unreachable")
