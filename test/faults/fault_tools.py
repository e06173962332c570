"""Tools of the fault-injection suite: a graph of node processes to kill and restart, a
test-side ROS probe, an /evaluate client, and the fault log behind faults.json."""

from __future__ import annotations

import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import rclpy
from action_msgs.msg import GoalStatusArray
from rclpy.action import ActionClient
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import qos_profile_action_status_default

from lerobot_ros.interfaces import EvaluatePolicy, PolicyStatus
from lerobot_ros.orchestration.graphs import NodeSpec
from lerobot_ros.orchestration.processes import NodeProcess, stop_all
from lerobot_ros.orchestration.runner import runnable
from lerobot_ros.ros import qos, topics
from lerobot_ros.ros.action_handshake import handshake_action_server
from lerobot_ros.ros.sim_client import spin_until

# After a kill -9 the DDS graph still lists the dead node's endpoints until its participant
# lease runs out (Fast DDS default: 20 s), so "no publisher" is only visible after that.
DDS_LEASE_S = 20.0


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MiB (VmRSS of /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"no VmRSS for process {pid}")


def with_parameters(graph: Iterable[NodeSpec], name: str, **parameters: object) -> list[NodeSpec]:
    """``graph`` with extra parameters for the node called ``name``."""
    return [
        replace(spec, parameters=spec.parameters | parameters) if spec.name == name else spec
        for spec in graph
    ]


class NodeGraph:
    """A graph's own nodes, each in its own process, killed and restarted by name."""

    def __init__(self, graph: Iterable[NodeSpec], log_dir: Path) -> None:
        self.specs = {spec.name: spec for spec in runnable(list(graph))[0]}
        self.log_dir = log_dir
        self.processes: dict[str, NodeProcess] = {}
        self._generation: Counter[str] = Counter()

    def start(self, *names: str) -> NodeGraph:
        """Start ``names`` (default: every node)."""
        for name in names or tuple(self.specs):
            spec = self.specs[name]
            self._generation[name] += 1
            rename = spec.name if spec.name != spec.executable else None
            log = self.log_dir / f"{name}-{self._generation[name]}.log"
            self.processes[name] = NodeProcess(
                spec.module, spec.parameters, log_path=log, node_name=rename
            ).start()
        return self

    def kill(self, name: str) -> float:
        """SIGKILL ``name``, as a crash would; returns the monotonic time of the kill."""
        process = self.processes[name]
        assert process.running, f"{name} was already dead:\n{process.log_text()[-2000:]}"
        process.kill()
        return time.monotonic()

    def restart(self, name: str) -> None:
        self.processes[name].stop()  # closes the log of the dead process
        self.start(name)

    def running(self, name: str) -> bool:
        return self.processes[name].running

    def pid(self, name: str) -> int:
        return self.processes[name].process.pid

    def dead(self) -> list[str]:
        return [name for name, process in self.processes.items() if not process.running]

    def logs(self, *names: str) -> str:
        return "\n".join(
            f"--- {name}:\n{self.processes[name].log_text()[-2500:]}"
            for name in names or tuple(self.processes)
        )

    def stop(self) -> None:
        stop_all(list(self.processes.values()))


class Probe:
    """A test-side node in a context of its own, spun by the test thread."""

    def __init__(self, name: str = "fault_probe") -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = Node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._subscriptions: dict[str, object] = {}

    def collect(self, msg_type: type, topic: str, qos_profile: object, convert=None) -> list:
        """Messages of ``topic`` (through ``convert(msg)`` when given), as they arrive."""
        received: list = []
        add = received.append if convert is None else (lambda m: received.append(convert(m)))
        self._subscriptions[topic] = self.node.create_subscription(
            msg_type, topic, add, qos_profile
        )
        return received

    def matched(self, topic: str) -> bool:
        """Whether the subscription of ``collect(..., topic, ...)`` has matched a publisher
        (DDS-level: what is published from now on arrives)."""
        return self._subscriptions[topic].get_publisher_count() > 0

    def spin_until(self, condition: Callable[[], bool], timeout: float) -> bool:
        return spin_until(self.executor, condition, timeout)

    def spin_for(self, seconds: float) -> None:
        spin_until(self.executor, lambda: False, seconds)

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


class EvalClient:
    """The /evaluate action as a user's client drives it, plus /policy/status."""

    def __init__(self, probe: Probe) -> None:
        self.probe = probe
        self.action = ActionClient(probe.node, EvaluatePolicy, topics.EVALUATE)
        # The DDS-level match count of the servers' status publishers: unlike the graph
        # cache behind server_is_ready(), a match here means our endpoints discovered the
        # server's, so a request sent now is not lost to a server that cannot see it yet.
        self._status = probe.node.create_subscription(
            GoalStatusArray,
            f"{topics.EVALUATE}/_action/status",
            lambda _: None,
            qos_profile_action_status_default,
        )
        self.policy_states = probe.collect(
            PolicyStatus, topics.POLICY_STATUS, qos.STATE, lambda m: (time.monotonic(), m.state)
        )

    def policy_active_since(self, since: float) -> bool:
        return any(t >= since and s in ("waiting", "acting") for t, s in self.policy_states)

    def servers(self) -> int:
        """/evaluate servers matched (a killed one stays matched for DDS_LEASE_S)."""
        return self._status.get_publisher_count()

    def wait_ready(
        self,
        policy: bool = True,
        since: float = 0.0,
        servers_above: int = 0,
        timeout: float = 120.0,
    ) -> bool:
        """More than ``servers_above`` action servers (a restarted one next to the stale
        entry of the killed one) and, with ``policy``, a policy active since ``since``."""
        ready = self.probe.spin_until(
            lambda: (
                self.servers() > servers_above
                and self.action.server_is_ready()
                and (not policy or self.policy_active_since(since))
            ),
            timeout,
        )
        # A restarted server must also know our response readers (see action_handshake).
        return ready and handshake_action_server(
            self.probe.node, self.probe.executor, topics.EVALUATE, timeout
        )

    def send(self, **goal: object):
        # float() first: an int in a float64 field aborts rclpy's C conversion outright.
        goal["episode_timeout_s"] = float(goal.get("episode_timeout_s", 0.0))
        send = self.action.send_goal_async(EvaluatePolicy.Goal(**goal))
        assert self.probe.spin_until(send.done, 30), "the /evaluate goal was not answered"
        handle = send.result()
        assert handle is not None and handle.accepted, "the /evaluate goal was rejected"
        return handle.get_result_async()

    def result(self, future, timeout: float):
        """(status, result, seconds waited), or None after ``timeout``."""
        started = time.monotonic()
        if not self.probe.spin_until(future.done, timeout):
            return None
        wrapped = future.result()
        return wrapped.status, wrapped.result, time.monotonic() - started


# --- the fault log --------------------------------------------------------------------------


@dataclass
class FaultCase:
    """One injected fault: where, when, what was checked, and whether the graph survived it."""

    test: str
    graph: str
    node: str
    fault: str
    when: str = ""
    seed: int = 0
    checks: list[dict] = field(default_factory=list)
    survived: bool = False
    error: str = ""
    known_bug: str = ""  # the xfail reason, for a test that documents a known bug

    def check(self, what: str, ok: bool, detail: object = "") -> None:
        """Record one user-visible check and assert it."""
        detail = str(detail)[: 300 if ok else 2000]  # logs in full only when it failed
        self.checks.append({"check": what, "ok": bool(ok), "detail": detail})
        assert ok, f"{what}: {detail}"

    def note(self, what: str, detail: object) -> None:
        """Record a measurement that is not pass/fail."""
        self.checks.append({"check": what, "ok": None, "detail": str(detail)[:2000]})


class FaultLog:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.cases: list[FaultCase] = []

    @contextmanager
    def inject(self, **case: object) -> Iterator[FaultCase]:
        """A fault case: survived when the block ends without a failed check or error."""
        record = FaultCase(seed=self.seed, **case)
        self.cases.append(record)
        try:
            yield record
        except BaseException as error:
            record.error = "".join(traceback.format_exception_only(error)).strip()[:2000]
            raise
        record.survived = True

    def summary(self) -> dict:
        return {
            "seed": self.seed,
            "faults_injected": len(self.cases),
            "survived": sum(case.survived for case in self.cases),
            "cases": [vars(case) for case in self.cases],
        }
