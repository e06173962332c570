"""Quiet node processes: a node logs through ROS; its libraries' banners stay off by default.

Without this, one recording prints SVT-AV1's ~19-line banner per video stream, tqdm progress
bars and LeRobot's "Loading weights" into the launch terminal. ``--log-level debug`` lets
them through; a variable the user sets explicitly is never changed.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Iterator, MutableMapping, Sequence

# Read by the libraries when they load or start encoding, so set before they are imported.
QUIET_ENVIRONMENT = {
    "SVT_LOG": "1",  # SVT-AV1 (LeRobot's video codec): errors only, no banner
    "TQDM_DISABLE": "1",  # every tqdm progress bar
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # huggingface_hub passes its own ``disable``
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
}
LOG_LEVELS = ("debug", "info", "warn", "error", "fatal")
DEFAULT_LOG_LEVEL = "info"


def log_level_from_args(argv: Sequence[str]) -> str | None:
    """The node-wide level of ``--ros-args --log-level LEVEL`` (None if not given; a
    per-logger ``--log-level name:=level`` is not the node-wide one)."""
    level = None
    for flag, value in zip(argv, argv[1:], strict=False):
        if flag == "--log-level" and ":=" not in value:
            level = value.lower()
    return level


def library_environment(log_level: str | None) -> dict[str, str]:
    """The variables that quiet the libraries at ``log_level`` (none at debug)."""
    return {} if (log_level or DEFAULT_LOG_LEVEL).lower() == "debug" else dict(QUIET_ENVIRONMENT)


def quiet_libraries(
    argv: Sequence[str], environ: MutableMapping[str, str] | None = None
) -> dict[str, str]:
    """Set the quieting variables a node process started with ``argv`` has not set; returns
    those it set."""
    environ = os.environ if environ is None else environ
    added = {
        name: value
        for name, value in library_environment(log_level_from_args(argv)).items()
        if name not in environ
    }
    environ.update(added)
    return added


@contextlib.contextmanager
def stdout_to_log(log: Callable[[str], None]) -> Iterator[None]:
    """Lines a library prints (LeRobot's "Loading weights from local directory") go to
    ``log`` (e.g. a ROS logger's debug) instead of the terminal."""
    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured):
            yield
    finally:
        for line in captured.getvalue().splitlines():
            if line.strip():
                log(line)
