"""When an episode ends: the one rule of sim_node, the Gymnasium env and eval_node (light to
import: no MuJoCo, so eval_node can use it for a sim on another machine)."""

from __future__ import annotations

SUCCESS, STEP_LIMIT = "success", "step_limit"


def episode_end(step: int, max_steps: int, success: bool) -> str | None:
    """How an episode stands after ``step`` control steps: ended by ``SUCCESS`` (terminated),
    by ``STEP_LIMIT`` (truncated at ``max_steps`` without success), or going on (None)."""
    if success:
        return SUCCESS
    if step >= max_steps:
        return STEP_LIMIT
    return None
