"""Bad service requests and action goals to real nodes, each in its own process.

One graph for the module: sim_node (no cameras, 6-step episodes), recorder_node, policy_node
(its mapping points at topics nobody publishes, so it stays configured and idle) and
eval_node, watched from a test node over localhost DDS. Requests are drawn by hypothesis
within what the wire can carry (uint32, int64, any double, any UTF-8 string):

/task/reset, /sim/pause, /sim/step, /policy/estop, /policy/reset, /recorder/start_episode
(+ stop), /evaluate goals and /arm_controller/follow_joint_trajectory goals.

Property: every request gets an answer, either the documented behaviour or a clear refusal
(success=false with the reason, an aborted goal with an error string), and the nodes stay
up and answering, with no traceback in their logs. Unicode task strings end up in the
dataset exactly (ROS strings end at the first NUL: that part is what the recorder gets).

The last tests send inputs that once took a node down or hung it (an empty image, a huge
step count); they run their own nodes on a ROS domain of their own, so a regression there
leaves the module's graph alone.
"""

from __future__ import annotations

import json
import math
import os
import random
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import rclpy
import yaml
from action_msgs.msg import GoalStatus
from bad_input_support import TALLY, examples, texts
from control_msgs.action import FollowJointTrajectory
from hypothesis import example, given
from hypothesis import strategies as st
from rclpy.action import ActionClient
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from ros_message_strategies import follow_goals
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Float64MultiArray
from std_srvs.srv import SetBool, Trigger

from lerobot_ros.control.trajectory_goals import ErrorCode
from lerobot_ros.interfaces import (
    EvaluatePolicy,
    PolicyStatus,
    RecorderStatus,
    ResetEpisode,
    ResetPolicy,
    StartEpisode,
    StepSimulation,
)
from lerobot_ros.nodes.sim_node import MAX_STEPS_PER_CALL
from lerobot_ros.orchestration.processes import NodeProcess
from lerobot_ros.resources import node_defaults
from lerobot_ros.robots import panda
from lerobot_ros.ros import conversions, qos, topics
from lerobot_ros.ros.action_handshake import handshake_action_server
from lerobot_ros.ros.sim_client import DISCOVERY_SETTLE_S, spin_until

pytestmark = [pytest.mark.bad_input, pytest.mark.ros]

CONTROL_HZ = 30.0
EPISODE_STEPS = 6
UINT32_MAX = 2**32 - 1
INT64 = (-(2**63), 2**63 - 1)
DEFAULT_TASK = node_defaults("recorder_node")["task"]
ABORTED, CANCELED, SUCCEEDED = (
    GoalStatus.STATUS_ABORTED,
    GoalStatus.STATUS_CANCELED,
    GoalStatus.STATUS_SUCCEEDED,
)


def _write_mapping(path: Path, state: str, markers: str, action: str, images: dict | None = None):
    observation = {
        "state": {"topic": state},
        "environment_state": {"topic": markers, "marker": "cube"},
    }
    if images:
        observation["images"] = images
    path.write_text(
        yaml.safe_dump(
            {
                "robot": "panda",
                "fps": 10,
                "max_age": 0.5,
                "observation": observation,
                "action": {"topic": action},
            }
        )
    )
    return path


class Graph(SimpleNamespace):
    """The module's nodes and the test node that talks to them."""

    def call(self, client, request, timeout: float = 15.0):  # noqa: ANN001, ANN201
        if client.srv_name not in self.settled:
            assert client.wait_for_service(timeout_sec=60.0), f"{client.srv_name} never appeared"
            self.probe.spin_for(DISCOVERY_SETTLE_S)
            self.settled.add(client.srv_name)
        future = client.call_async(request)
        if not self.probe.spin_until(future.done, timeout):
            client.remove_pending_request(future)
            return None
        return future.result()

    def assert_alive(self) -> None:
        for name, process in self.processes.items():
            assert process.running, f"{name} died:\n{process.log_text()[-3000:]}"
        assert self.call(self.pause, SetBool.Request(data=False)) is not None, "sim_node is deaf"
        assert self.call(self.policy_reset, ResetPolicy.Request()) is not None, (
            "policy_node is deaf"
        )
        assert self.call(self.recorder_stop, Trigger.Request()) is not None, "recorder is deaf"
        assert self.eval_client.wait_for_server(timeout_sec=10.0), "eval_node is deaf"


@pytest.fixture(scope="module")
def graph(start_module_node, module_probe, tmp_path_factory):
    folder = tmp_path_factory.mktemp("requests")
    recorder_mapping = _write_mapping(
        folder / "recorder.yaml",
        topics.JOINT_STATES,
        topics.SCENE_MARKERS,
        topics.POSITION_COMMANDS,
    )
    # The policy listens where nobody publishes: configured, e-stoppable, never acting.
    policy_mapping = _write_mapping(
        folder / "policy.yaml", "/robustness/joint_states", "/robustness/markers", "/robustness/cmd"
    )
    processes = {
        "sim_node": start_module_node(
            "lerobot_ros.nodes.sim_node",
            {"cameras": [], "max_episode_steps": EPISODE_STEPS, "control_hz": CONTROL_HZ},
        ),
        "recorder_node": start_module_node(
            "lerobot_ros.nodes.recorder_node",
            {
                "root": str(folder / "dataset"),
                "repo_id": "robustness/requests",
                "mapping": str(recorder_mapping),
                "use_sim_time": True,
                "use_videos": False,
                "min_free_mb": 1.0,
                "topic_timeout": 10.0,
            },
        ),
        # Deaf on purpose: no "missing inputs" verdict within the test (it would end evals).
        "policy_node": start_module_node(
            "lerobot_ros.nodes.policy_node",
            {"mapping": str(policy_mapping), "input_timeout_s": 3600.0},
        ),
        "eval_node": start_module_node("lerobot_ros.nodes.eval_node", {}),
    }
    probe = module_probe
    node = probe.node
    graph = Graph(
        probe=probe,
        processes=processes,
        folder=folder,
        root=folder / "dataset",
        settled=set(),
        reset=node.create_client(ResetEpisode, topics.TASK_RESET),
        pause=node.create_client(SetBool, topics.SIM_PAUSE),
        step=node.create_client(StepSimulation, topics.SIM_STEP),
        estop=node.create_client(SetBool, topics.POLICY_ESTOP),
        policy_reset=node.create_client(ResetPolicy, topics.POLICY_RESET),
        recorder_start=node.create_client(StartEpisode, topics.RECORDER_START),
        recorder_stop=node.create_client(Trigger, topics.RECORDER_STOP),
        eval_client=ActionClient(node, EvaluatePolicy, topics.EVALUATE),
        arm=ActionClient(node, FollowJointTrajectory, topics.FOLLOW_JOINT_TRAJECTORY),
        policy_statuses=probe.collect(PolicyStatus, topics.POLICY_STATUS, qos.STATE),
        recorder_statuses=probe.collect(RecorderStatus, topics.RECORDER_STATUS, qos.LATCHED),
    )
    # The policy is configured once its status says so (it loads a checkpoint first).
    assert probe.spin_until(
        lambda: any(s.state in ("waiting", "paused") for s in graph.policy_statuses), 120
    ), f"policy_node never configured:\n{processes['policy_node'].log_text()[-3000:]}"
    return graph


def reset_sim(graph: Graph, seed: int = 1) -> ResetEpisode.Response:
    response = graph.call(graph.reset, ResetEpisode.Request(use_seed=True, seed=seed))
    assert response is not None and response.success
    return response


# --- /task/reset ------------------------------------------------------------------------------

seeds = st.one_of(
    st.integers(*INT64),
    st.integers(0, 1000),
    st.sampled_from([-1, 0, 2**31, 2**32, INT64[0], INT64[1]]),
)
step_limits = st.one_of(st.integers(0, UINT32_MAX), st.sampled_from([0, 1, UINT32_MAX]))


def test_task_reset_requests(graph):
    last_episode = [reset_sim(graph).episode_index]

    @examples(25, shrink=False)
    @given(st.booleans(), seeds, step_limits)
    def reset(use_seed, seed, max_steps):
        request = ResetEpisode.Request(use_seed=use_seed, seed=seed, max_episode_steps=max_steps)
        with TALLY.attempt(topics.TASK_RESET) as attempt:
            response = graph.call(graph.reset, request)
            assert response is not None, "no answer"
            if use_seed and seed < 0:
                assert not response.success and f"seed must be >= 0, got {seed}" in response.message
                attempt.rejected("success=false")
                return
            assert response.success, response.message
            assert response.seed == seed if use_seed else response.seed >= 0
            assert response.episode_index == last_episode[0] + 1
            last_episode[0] = response.episode_index
            attempt.accepted()

    reset()
    reset_sim(graph)  # back to the node's own step limit
    graph.assert_alive()


# --- /sim/pause and /sim/step ---------------------------------------------------------------------

step_counts = st.one_of(
    st.integers(0, 40),
    st.integers(0, 40),
    st.integers(MAX_STEPS_PER_CALL + 1, UINT32_MAX),  # more than one call may run: refused
    st.sampled_from([MAX_STEPS_PER_CALL + 1, UINT32_MAX]),
)
sim_operations = st.lists(
    st.one_of(
        st.tuples(st.just("pause"), st.booleans()),
        st.tuples(st.just("step"), step_counts),
    ),
    min_size=1,
    max_size=5,
)


def test_pause_and_step_requests(graph):
    @examples(20, shrink=False)
    @given(st.sampled_from([True, True, False]), sim_operations)
    def operate(paused, operations):
        last_step_time = None
        graph.call(graph.pause, SetBool.Request(data=paused))  # the state the sequence starts in
        for operation, value in operations:
            if operation == "pause":
                with TALLY.attempt(topics.SIM_PAUSE) as attempt:
                    response = graph.call(graph.pause, SetBool.Request(data=value))
                    assert response is not None and response.success
                    assert response.message == ("paused" if value else "running")
                    paused, last_step_time = value, None
                    attempt.accepted()
                continue
            with TALLY.attempt(topics.SIM_STEP) as attempt:
                response = graph.call(graph.step, StepSimulation.Request(num_steps=value))
                assert response is not None, "no answer"
                now = conversions.time_to_seconds(response.sim_time)
                if not paused:
                    assert not response.success and topics.SIM_PAUSE in response.message
                    attempt.rejected("success=false (running)")
                    continue
                if value > MAX_STEPS_PER_CALL:
                    assert not response.success, response.message
                    assert f"num_steps {value} is more than" in response.message
                    if last_step_time is not None:  # refused: not a step taken
                        assert now == last_step_time
                    attempt.rejected("success=false (too many steps)")
                    continue
                steps = max(1, value)  # documented: 0 is treated as 1
                assert response.success and response.message == f"stepped {steps}"
                if last_step_time is not None:
                    assert now - last_step_time == pytest.approx(steps / CONTROL_HZ, abs=1e-6)
                last_step_time = now
                attempt.accepted("0 treated as 1" if value == 0 else "stepped")

    operate()
    graph.call(graph.pause, SetBool.Request(data=False))
    graph.assert_alive()


# --- /policy/estop and /policy/reset ----------------------------------------------------------------

policy_operations = st.lists(
    st.one_of(
        st.tuples(st.just("estop"), st.booleans()),
        # Any int64 seed, or none.
        st.tuples(st.just("reset"), st.none() | st.integers(-(2**63), 2**63 - 1)),
    ),
    min_size=1,
    max_size=5,
)


def test_policy_estop_and_reset_requests(graph):
    statuses = graph.policy_statuses

    @examples(20, shrink=False)
    @given(policy_operations)
    def operate(operations):
        estopped = statuses[-1].state == "estopped"
        for operation, value in operations:
            if operation == "reset":
                with TALLY.attempt(topics.POLICY_RESET) as attempt:
                    request = ResetPolicy.Request(use_seed=value is not None, seed=value or 0)
                    response = graph.call(graph.policy_reset, request)
                    assert response is not None and response.success
                    expected = "policy reset" + (f", seed {value}" if value is not None else "")
                    assert response.message == expected
                    attempt.accepted()
                continue
            with TALLY.attempt(topics.POLICY_ESTOP) as attempt:
                count = len(statuses)
                response = graph.call(graph.estop, SetBool.Request(data=value))
                assert response is not None and response.success
                assert response.message == ("e-stop engaged" if value else "e-stop released")
                # The status the call publishes (released: waiting, then paused for inputs).
                wanted = ("estopped",) if value else ("waiting", "paused")
                assert graph.probe.spin_until(
                    lambda wanted=wanted, count=count: any(
                        s.state in wanted for s in statuses[count:]
                    ),
                    5.0,
                ), [s.state for s in statuses[count:]]
                detail = "repeated" if value == estopped else ("engaged" if value else "released")
                estopped = value
                attempt.accepted(detail)

    operate()
    assert graph.call(graph.estop, SetBool.Request(data=False)).success
    graph.assert_alive()


# --- /arm_controller/follow_joint_trajectory ---------------------------------------------------------


def _goal_result(graph: Graph, goal: FollowJointTrajectory.Goal):  # noqa: ANN202
    """(status, result) of a goal; one still running after a second is canceled."""
    future = graph.arm.send_goal_async(goal)
    assert graph.probe.spin_until(future.done, 15.0), "no goal response"
    handle = future.result()
    assert handle.accepted, "the server accepts goals, then judges them"
    result = handle.get_result_async()
    if not graph.probe.spin_until(result.done, 1.0):
        handle.cancel_goal_async()
        assert graph.probe.spin_until(result.done, 15.0), "no result after cancel"
    return result.result().status, result.result().result


def test_follow_joint_trajectory_goals(graph):
    assert graph.arm.wait_for_server(timeout_sec=30.0)
    assert handshake_action_server(
        graph.probe.node, graph.probe.executor, topics.FOLLOW_JOINT_TRAJECTORY, 30.0
    )

    @examples(25, shrink=False)
    @given(follow_goals())
    def send(case):
        goal, valid = case
        reset_sim(graph)  # the arm at home, as the valid goals assume
        with TALLY.attempt(topics.FOLLOW_JOINT_TRAJECTORY) as attempt:
            status, result = _goal_result(graph, goal)
            judged = (ErrorCode.PATH_TOLERANCE_VIOLATED, ErrorCode.GOAL_TOLERANCE_VIOLATED)
            if status == ABORTED and result.error_code in judged:
                assert result.error_string  # ran, and failed the tolerances it asked for
                attempt.accepted(ErrorCode(result.error_code).name)
                return
            if status == ABORTED:
                assert result.error_code in (
                    ErrorCode.INVALID_GOAL,
                    ErrorCode.INVALID_JOINTS,
                    ErrorCode.OLD_HEADER_TIMESTAMP,
                ), (result.error_code, result.error_string)
                assert result.error_string and not valid, result.error_string
                attempt.rejected(ErrorCode(result.error_code).name)
                return
            assert status in (CANCELED, SUCCEEDED), status
            assert result.error_code == ErrorCode.SUCCESSFUL and result.error_string
            attempt.accepted("canceled while running" if status == CANCELED else "succeeded")

    send()
    graph.assert_alive()


# --- /evaluate ------------------------------------------------------------------------------------


@st.composite
def eval_goals(draw: st.DrawFn) -> EvaluatePolicy.Goal:
    steps = draw(st.sampled_from([0, 1, 3, EPISODE_STEPS, UINT32_MAX]))
    if steps == UINT32_MAX:  # no step limit to speak of: the timeout must end the episode
        timeout = draw(st.sampled_from([-1.0, 0.2, 0.5]))
    else:
        timeout = draw(st.sampled_from([0.0, 5.0, -1.0, 0.2, math.nan, math.inf, 1e308]))
    start_seed = draw(
        st.one_of(
            st.integers(0, 10**6),
            st.integers(0, 10),
            st.integers(INT64[0], -1),
            st.integers(INT64[1] - 2, INT64[1]),  # the last episodes' seeds may pass int64
        )
    )
    output = draw(st.sampled_from(["", "", "valid", "unicode", "unwritable"]))
    return EvaluatePolicy.Goal(
        n_episodes=draw(st.sampled_from([0, 1, 2, UINT32_MAX])),
        start_seed=start_seed,
        max_episode_steps=steps,
        n_videos=draw(st.sampled_from([0, 1, UINT32_MAX])) if output == "" else 0,
        output_dir=output,
        episode_timeout_s=timeout,
    )


def _evaluate(graph: Graph, goal: EvaluatePolicy.Goal, timeout: float = 60.0):  # noqa: ANN202
    """(status, result, feedback); an endless goal is canceled after its first episode."""
    feedback: list = []
    future = graph.eval_client.send_goal_async(goal, feedback_callback=feedback.append)
    assert graph.probe.spin_until(future.done, 15.0), "no goal response"
    handle = future.result()
    assert handle.accepted, "eval_node refused a goal while idle"
    result = handle.get_result_async()
    if goal.n_episodes == UINT32_MAX:
        graph.probe.spin_until(lambda: feedback or result.done(), timeout)
        handle.cancel_goal_async()
    assert graph.probe.spin_until(result.done, timeout), "no eval result"
    return result.result().status, result.result().result, feedback


def _goal_problems(goal: EvaluatePolicy.Goal, unwritable: bool) -> dict[str, str]:
    """What is wrong with ``goal`` -> the words an abort message about it holds."""
    problems = {}
    if goal.start_seed < 0:
        problems["negative seed"] = "seed must be >= 0"
    if goal.start_seed + max(1, goal.n_episodes) - 1 > INT64[1]:
        problems["seeds past int64"] = "seed"
    timeout = goal.episode_timeout_s
    if not (math.isfinite(timeout) and timeout >= 0):
        problems["invalid timeout"] = "episode_timeout_s"
    if unwritable:
        problems["unwritable output_dir"] = "output_dir"
    return problems


def test_evaluate_goals(graph):
    assert graph.eval_client.wait_for_server(timeout_sec=30.0)
    assert handshake_action_server(graph.probe.node, graph.probe.executor, topics.EVALUATE, 30.0)

    @examples(16, shrink=False)
    @given(eval_goals(), st.text(min_size=1, max_size=8).filter(lambda t: "/" not in t))
    @example(  # its last seed would be 2**63: past int64, otherwise a valid goal
        EvaluatePolicy.Goal(n_episodes=3, start_seed=INT64[1] - 1, max_episode_steps=1), "x"
    )
    def evaluate(goal, folder_name):
        unwritable = goal.output_dir == "unwritable"
        if goal.output_dir:
            folder = Path(tempfile.mkdtemp(dir=graph.folder))
            if unwritable:  # a directory under a file cannot be made
                (folder / "a_file").write_text("not a directory")
                folder = folder / "a_file"
            name = folder_name if goal.output_dir == "unicode" else "out"
            goal.output_dir = str(folder / name.replace("\0", ""))
        problems = _goal_problems(goal, unwritable)
        with TALLY.attempt(topics.EVALUATE) as attempt:
            status, result, feedback = _evaluate(graph, goal)
            assert result.message, "a result without a message"
            if problems:
                assert status == ABORTED and not result.success, (status, result.message)
                named = [kind for kind, words in problems.items() if words in result.message]
                assert named, (problems, result.message)
                attempt.rejected(f"aborted: {named[0]}")
                return
            info = json.loads(result.eval_info_json)
            episodes = info["per_episode"]
            if goal.n_episodes == UINT32_MAX:
                assert status == CANCELED and result.message == "canceled"
                attempt.accepted("endless run canceled")
                return
            assert status == SUCCEEDED, (status, result.message)
            assert len(episodes) == max(1, goal.n_episodes) >= len(feedback)
            assert result.success == all("timeout" not in m for m in info.get("messages", [])), (
                result.message
            )
            if goal.output_dir:
                assert (Path(goal.output_dir) / "eval_info.json").is_file()
            attempt.accepted("all episodes ran" if result.success else "episodes timed out")

    evaluate()
    graph.assert_alive()


# --- /recorder/start_episode ---------------------------------------------------------------------

tasks = st.one_of(texts, st.just(""), st.just("\x00hidden"))


def test_recorder_start_episode_with_any_task(graph):
    """Random unicode tasks: each saved episode carries exactly the task it was started with."""
    probe = graph.probe
    # Commands for the recorder's action input (the arm holds home); stamped on arrival.
    publisher = probe.node.create_publisher(
        Float64MultiArray, topics.POSITION_COMMANDS, qos.COMMAND
    )
    timer = probe.node.create_timer(
        0.05, lambda: publisher.publish(Float64MultiArray(data=list(panda.HOME_POSITION)))
    )
    reset_sim(graph)
    saved: dict[int, str] = {}

    @examples(12, shrink=False)
    @given(tasks)
    def record(task):
        expected = task.split("\0")[0] or DEFAULT_TASK  # a ROS string ends at NUL
        with TALLY.attempt(topics.RECORDER_START) as attempt:
            response = graph.call(graph.recorder_start, StartEpisode.Request(task=task))
            assert response is not None and response.success, response and response.message
            assert repr(expected) in response.message
            again = graph.call(graph.recorder_start, StartEpisode.Request(task=task))
            assert not again.success and "being recorded" in again.message
            probe.spin_for(0.5)
            stopped = graph.call(graph.recorder_stop, Trigger.Request())
            assert stopped.success, stopped.message
            if stopped.message.startswith("saving episode"):
                saved[response.episode_index] = expected
            else:
                assert "discarded 0 frames" in stopped.message, stopped.message
            attempt.accepted("empty: default task" if expected == DEFAULT_TASK else "task kept")
        with TALLY.attempt(topics.RECORDER_STOP) as attempt:
            idle = graph.call(graph.recorder_stop, Trigger.Request())
            assert not idle.success and idle.message == "no episode is being recorded"
            attempt.rejected("success=false (idle)")

    record()
    probe.node.destroy_timer(timer)
    probe.node.destroy_publisher(publisher)
    assert len(saved) >= 6, f"too few episodes had frames: {saved}"
    statuses = graph.recorder_statuses
    assert probe.spin_until(
        lambda: statuses and statuses[-1].saved_episodes >= len(saved) and not statuses[-1].saving,
        120,
    ), statuses[-1] if statuses else None
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    dataset = LeRobotDataset("robustness/requests", root=graph.root)
    with TALLY.attempt("recorder dataset (tasks loaded back)") as attempt:
        for episode, task in saved.items():
            assert dataset.meta.episodes[episode]["tasks"] == [task], episode
            start = dataset.meta.episodes[episode]["dataset_from_index"]
            assert dataset[start]["task"] == task
        attempt.accepted(f"{len(saved)} episodes")
    graph.assert_alive()


# --- /evaluate goals that cannot run: refused up front, with the reason -----------------------------


def test_an_unwritable_output_dir_is_a_clear_failure(graph):
    blocker = graph.folder / "a_file"
    blocker.write_text("not a directory")
    goal = EvaluatePolicy.Goal(n_episodes=1, max_episode_steps=2, output_dir=str(blocker / "out"))
    status, result, feedback = _evaluate(graph, goal)
    assert graph.processes["eval_node"].running
    assert status == ABORTED and not result.success and not feedback, (status, result)
    assert "output_dir" in result.message and str(blocker) in result.message, result


def test_a_seed_range_past_int64_is_a_clear_failure(graph):
    goal = EvaluatePolicy.Goal(n_episodes=2, start_seed=INT64[1], max_episode_steps=2)
    status, result, feedback = _evaluate(graph, goal)
    assert graph.processes["eval_node"].running
    assert status == ABORTED and not result.success and not feedback, (status, result)
    assert "seed" in result.message, result


def test_no_node_logged_a_traceback(graph):
    """After every request to the module's graph above (this runs after them, in file
    order)."""
    graph.assert_alive()
    for name, process in graph.processes.items():
        assert "Traceback" not in process.log_text(), f"{name}:\n{process.log_text()[-3000:]}"


# --- inputs that once took a node down: own nodes, own ROS domain ------------------------------------


@pytest.fixture
def isolated(tmp_path):
    """Nodes and a test node on a ROS domain of their own (not the module graph's)."""
    used = int(os.environ["ROS_DOMAIN_ID"])
    domain = random.choice([d for d in range(1, 101) if d != used])
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain))
    started: list[NodeProcess] = []
    context = rclpy.Context()
    rclpy.init(context=context, domain_id=domain)
    node = Node("robustness_isolated", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)

    def start(module: str, parameters: dict) -> NodeProcess:
        log = tmp_path / f"{module.rsplit('.', 1)[-1]}.log"
        process = NodeProcess(module, parameters, env=env, log_path=log).start()
        started.append(process)
        return process

    def wait(condition, timeout: float) -> bool:  # noqa: ANN001
        return spin_until(executor, condition, timeout)

    yield SimpleNamespace(start=start, node=node, spin_until=wait, folder=tmp_path)
    for process in started:
        process.stop(timeout=10.0)
    executor.shutdown()
    node.destroy_node()
    rclpy.shutdown(context=context)


def test_an_empty_image_does_not_kill_the_recorder(isolated):
    image_topic = "/robustness/front/image_raw"
    mapping = _write_mapping(
        isolated.folder / "mapping.yaml",
        topics.JOINT_STATES,
        topics.SCENE_MARKERS,
        topics.POSITION_COMMANDS,
        images={"front": {"topic": image_topic, "height": 8, "width": 8}},
    )
    recorder = isolated.start(
        "lerobot_ros.nodes.recorder_node",
        {"root": str(isolated.folder / "dataset"), "mapping": str(mapping), "min_free_mb": 1.0},
    )
    publisher = isolated.node.create_publisher(Image, image_topic, qos.IMAGE)
    assert isolated.spin_until(lambda: publisher.get_subscription_count() > 0, 60), "no recorder"
    isolated.spin_until(lambda: False, DISCOVERY_SETTLE_S)
    empty = Image(height=0, width=0, step=0, encoding="rgb8")
    for _ in range(5):
        publisher.publish(empty)
        isolated.spin_until(lambda: False, 0.2)
    isolated.spin_until(lambda: not recorder.running, 3.0)
    assert recorder.running, f"recorder_node died:\n{recorder.log_text()[-2000:]}"


def test_a_huge_step_request_does_not_hang_the_sim(isolated):
    sim = isolated.start("lerobot_ros.nodes.sim_node", {"cameras": [], "start_paused": True})
    step = isolated.node.create_client(StepSimulation, topics.SIM_STEP)
    states: list = []
    isolated.node.create_subscription(JointState, topics.JOINT_STATES, states.append, qos.STATE)
    assert step.wait_for_service(timeout_sec=60.0), "no sim"
    isolated.spin_until(lambda: False, DISCOVERY_SETTLE_S)
    future = step.call_async(StepSimulation.Request(num_steps=UINT32_MAX))
    answered = isolated.spin_until(future.done, 8.0)
    assert sim.running
    # Either refused at once or done: in both cases the node answers within seconds.
    assert answered, "sim_node is still stepping (2**32 - 1 steps, weeks) and answers nothing"
    response = future.result()
    assert not response.success and f"num_steps {UINT32_MAX}" in response.message, response
    assert np.isfinite(conversions.time_to_seconds(response.sim_time))
