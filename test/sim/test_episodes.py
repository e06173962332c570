"""The end-of-episode rule sim_node, the Gymnasium env and eval_node share."""

from lerobot_ros.sim.episodes import STEP_LIMIT, SUCCESS, episode_end


def test_success_ends_an_episode_even_on_its_last_step():
    assert episode_end(step=3, max_steps=10, success=True) == SUCCESS
    assert episode_end(step=10, max_steps=10, success=True) == SUCCESS


def test_the_step_limit_truncates_and_before_it_the_episode_goes_on():
    assert episode_end(step=9, max_steps=10, success=False) is None
    assert episode_end(step=10, max_steps=10, success=False) == STEP_LIMIT
