"""kill -9 each node of the lockstep eval graph (sim_node, policy_node, eval_node) in the
middle of an /evaluate goal, at a random step, as seen by a client of the action (a user's
``ros2 action send_goal`` or a client on another machine, with the graph left running).

The user checks: the goal ends with a clear status naming the interrupted episode (or goes
on with the next one), nothing hangs, and restarting the killed node makes a new goal
complete."""

from __future__ import annotations

import json
import time

import pytest
from action_msgs.msg import GoalStatus
from fault_tools import EvalClient

from lerobot_ros.interfaces import TaskStatus
from lerobot_ros.orchestration.graphs import eval_sim_graph
from lerobot_ros.ros import qos, topics

pytestmark = [pytest.mark.faults, pytest.mark.ros]

GRAPH = "eval_sim (lockstep)"
MAX_STEPS = 300
EPISODE_TIMEOUT_S = 3.0
# A dead service still listed in the DDS graph costs eval_node its own 10 s call timeout,
# and the sim reset is tried 3 times.
NO_ANSWER_S = 10.0
# Goals that check the interrupted episode outlast a kill that the test sees late.
N_EPISODES = 3
STATUS_NAMES = {GoalStatus.STATUS_SUCCEEDED: "succeeded", GoalStatus.STATUS_ABORTED: "aborted"}


@pytest.fixture
def eval_graph(node_graph, probe):
    graph = node_graph(eval_sim_graph(max_episode_steps=MAX_STEPS))
    client = EvalClient(probe)
    assert client.wait_ready(), graph.logs()
    statuses = probe.collect(TaskStatus, topics.TASK_STATUS, qos.TASK_STATUS)
    # Kills are timed by these statuses: none of a goal's may be missed.
    assert probe.spin_until(lambda: probe.matched(topics.TASK_STATUS), 30), graph.logs()
    return graph, client, statuses


def _kill_at_step(probe, graph, statuses, name: str, step: int, case) -> None:
    """Kill ``name`` once the goal's first episode reaches ``step`` (if it ends sooner, at
    the start of the next one), as the test sees the sim's statuses: under load it may see
    them an episode late (goals that check the interrupted episode run several)."""

    def due() -> bool:
        return any(
            s.episode_index >= 2 or (s.episode_index == 1 and s.step >= step) for s in statuses
        )

    assert probe.spin_until(due, 60), graph.logs()
    graph.kill(name)
    last = statuses[-1]
    case.when = (
        f"goal episode {last.seed}, step {last.step} as seen at the kill (drawn: step {step})"
    )


def _interrupted_episode(probe, statuses, case) -> int:
    """The goal episode a kill of the sim or the policy stopped: a lockstep sim steps no
    more, so the last status, once none arrive for a second, is where it stood (goals here
    start at seed 0, and the sim reports each episode's seed). After an episode's last step
    the kill stops the next one."""
    count = -1
    while count != len(statuses):
        count = len(statuses)
        probe.spin_for(1.0)
    last = statuses[-1]
    case.when += f"; stopped at episode {last.seed}, step {last.step}"
    return last.seed + 1 if last.success or last.truncated else last.seed


def _describe(outcome) -> str:
    if outcome is None:
        return "no result"
    status, result, seconds = outcome
    return (
        f"{STATUS_NAMES.get(status, status)} after {seconds:.1f} s, success={result.success}, "
        f"message {result.message!r}"
    )


def _info(outcome) -> dict:
    return json.loads(outcome[1].eval_info_json) if outcome and outcome[1].eval_info_json else {}


def _goal_completes(client, case, after: str) -> None:
    future = client.send(n_episodes=1, start_seed=7, max_episode_steps=60, episode_timeout_s=10.0)
    outcome = client.result(future, 60)
    case.check(
        f"after {after}: a new goal succeeds with every episode complete",
        outcome is not None and outcome[0] == GoalStatus.STATUS_SUCCEEDED and outcome[1].success,
        _describe(outcome),
    )


def test_policy_killed_mid_episode(eval_graph, probe, rng, inject):
    graph, client, statuses = eval_graph
    with inject(graph=GRAPH, node="policy_node", fault="kill -9") as case:
        future = client.send(
            n_episodes=N_EPISODES,
            start_seed=0,
            max_episode_steps=MAX_STEPS,
            episode_timeout_s=EPISODE_TIMEOUT_S,
        )
        _kill_at_step(probe, graph, statuses, "policy_node", rng.randint(5, 90), case)
        episode = _interrupted_episode(probe, statuses, case)
        outcome = client.result(
            future, N_EPISODES * EPISODE_TIMEOUT_S + (N_EPISODES - 1) * NO_ANSWER_S + 30
        )
        message = outcome[1].message if outcome else ""
        case.check(
            "the goal ends, success=false",
            outcome is not None
            and outcome[0] == GoalStatus.STATUS_SUCCEEDED
            and not outcome[1].success,
            _describe(outcome),
        )
        case.check(
            "the result names the interrupted episode",
            f"episode {episode} (seed {episode}): timeout after" in message,
            message,
        )
        per_episode = _info(outcome).get("per_episode", [])
        case.check(
            "the eval goes on: every episode reported", len(per_episode) == N_EPISODES, per_episode
        )
        if episode < N_EPISODES - 1:
            case.check(
                "the next episode names the missing policy",
                f"episode {episode + 1}: {topics.POLICY_RESET} did not answer" in message,
                message,
            )
        case.check("sim_node and eval_node stay up", graph.dead() == ["policy_node"], graph.dead())

        since = time.monotonic()
        graph.restart("policy_node")
        case.check(
            "the restarted policy_node reports active",
            client.wait_ready(since=since),
            graph.logs("policy_node"),
        )
        _goal_completes(client, case, "restarting policy_node")


def test_sim_killed_mid_episode(eval_graph, probe, rng, inject):
    graph, client, statuses = eval_graph
    with inject(graph=GRAPH, node="sim_node", fault="kill -9") as case:
        future = client.send(
            n_episodes=N_EPISODES,
            start_seed=0,
            max_episode_steps=MAX_STEPS,
            episode_timeout_s=EPISODE_TIMEOUT_S,
        )
        _kill_at_step(probe, graph, statuses, "sim_node", rng.randint(5, 90), case)
        episode = _interrupted_episode(probe, statuses, case)
        outcome = client.result(future, EPISODE_TIMEOUT_S + 3 * NO_ANSWER_S + 30)
        case.check(
            "the goal ends, success=false",
            outcome is not None and not outcome[1].success,
            _describe(outcome),
        )
        text = "; ".join([outcome[1].message, *_info(outcome).get("messages", [])])
        reset_failed = f"{topics.TASK_RESET} failed (no answer)"
        case.check(
            "the result names the interrupted episode (timed out, or its reset unanswered)",
            f"episode {episode} (seed {episode}): timeout after" in text
            or f"episode {episode}: {reset_failed}" in text,
            text,
        )
        ran_all = len(_info(outcome).get("per_episode", [])) == N_EPISODES
        case.check(
            "an episode that could not start aborts the goal, naming the failed reset",
            ran_all or (outcome[0] == GoalStatus.STATUS_ABORTED and reset_failed in text),
            _describe(outcome),
        )
        case.check("policy_node and eval_node stay up", graph.dead() == ["sim_node"], graph.dead())

        # The new sim's clock starts again at 0: the lockstep policy has to be restarted
        # with it (test_sim_restart_alone_recovers_lockstep_eval shows why).
        since = time.monotonic()
        graph.restart("sim_node")
        graph.restart("policy_node")
        case.check(
            "the restarted sim_node and policy_node come up",
            client.wait_ready(since=since),
            graph.logs("sim_node", "policy_node"),
        )
        _goal_completes(client, case, "restarting sim_node and policy_node")


def test_eval_node_killed_mid_episode(eval_graph, probe, rng, inject):
    graph, client, statuses = eval_graph
    with inject(graph=GRAPH, node="eval_node", fault="kill -9") as case:
        client.send(n_episodes=3, start_seed=0, max_episode_steps=MAX_STEPS, episode_timeout_s=30.0)
        _kill_at_step(probe, graph, statuses, "eval_node", rng.randint(5, 90), case)
        # Without its evaluator the lockstep graph plays the episode in progress to its end,
        # then stands still: no new episode starts.
        probe.spin_for(4.0)
        episodes = sorted({s.episode_index for s in statuses})
        case.check("sim_node and policy_node stay up", graph.dead() == ["eval_node"], graph.dead())
        case.check("no episode starts without the evaluator", episodes[-1] <= 2, episodes)
        stale = client.servers()
        graph.restart("eval_node")
        case.check(
            "the restarted eval_node serves /evaluate",
            client.wait_ready(policy=False, servers_above=stale),
            graph.logs("eval_node"),
        )
        _goal_completes(client, case, "restarting eval_node")


def test_sim_restart_alone_recovers_lockstep_eval(eval_graph, probe, rng, inject):
    graph, client, statuses = eval_graph
    with inject(graph=GRAPH, node="sim_node", fault="kill -9, restart sim_node only") as case:
        future = client.send(
            n_episodes=1, start_seed=0, max_episode_steps=MAX_STEPS, episode_timeout_s=5.0
        )
        _kill_at_step(probe, graph, statuses, "sim_node", rng.randint(5, 90), case)
        graph.restart("sim_node")
        outcome = client.result(future, 40)
        case.check("the interrupted goal ends", outcome is not None, _describe(outcome))
        _goal_completes(client, case, "restarting sim_node alone")


def test_eval_node_exits_on_sigint_during_a_goal(eval_graph, probe, rng, inject):
    graph, client, statuses = eval_graph
    with inject(graph=GRAPH, node="policy_node", fault="kill -9, then SIGINT eval_node") as case:
        client.send(n_episodes=2, start_seed=0, max_episode_steps=MAX_STEPS, episode_timeout_s=60.0)
        _kill_at_step(probe, graph, statuses, "policy_node", rng.randint(5, 90), case)
        probe.spin_for(0.5)  # eval_node is now waiting for the dead policy's episode
        started = time.monotonic()
        code = graph.processes["eval_node"].stop(timeout=5.0)  # SIGINT, SIGKILL after 5 s
        case.check(
            "eval_node exits cleanly within 5 s of SIGINT",
            code == 0,
            f"exit code {code} after {time.monotonic() - started:.1f} s (-9: had to be killed)",
        )
