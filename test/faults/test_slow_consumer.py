"""Slow consumers of sim_node's two 30 Hz cameras, and packet loss on their path.

A consumer that cannot keep up must only get fewer images: sim_node keeps real time, its
memory stays flat (no queue grows for the laggard), and the consumer processes fresh images
rather than an ever older backlog. Checked for a best-effort subscriber (the sensor-data QoS
subscribers may ask for) and a reliable one (the contract's image QoS, depth 2), over shared
memory, and over loopback UDP.

Packet loss: ``tc ... netem`` is not available here (the kernel has no sch_netem; no
iptables either), and it would hit every process on ``lo``. Instead the UDP consumers get
a Fast DDS profile with UDP on 127.0.0.1 only, no shared memory, and a 64 KiB socket
receive buffer: a 224x224 image travels as three ~64 KB datagrams, and under load the kernel
drops the ones that find the buffer full - real loss, measured (not forced) by a fast
best-effort consumer, while a slow reliable consumer makes the writer repair what it lost.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from fault_tools import NodeGraph, Probe, rss_mb
from rosgraph_msgs.msg import Clock

from lerobot_ros.orchestration.graphs import sim_node
from lerobot_ros.orchestration.processes import NodeProcess
from lerobot_ros.ros import conversions, qos, topics

pytestmark = [pytest.mark.faults, pytest.mark.ros]

CONSUMER_DIR = Path(__file__).resolve().parent
GRAPH = "sim_node (front + wrist cameras, 30 Hz, real time)"
CAMERA_HZ = 30.0
DURATION_S = 25.0
WORK_S = 0.1  # a slow consumer: at most 10 images/s per camera of the 30 published
WARM_UP_S = 8.0  # memory is compared from here on (first matches allocate once)
SIM_RSS_GROWTH_MB = 25.0  # a queue of 150 KB images at 30-60/s would pass this in 3 s
CONSUMER_RSS_GROWTH_MB = 25.0
MIN_CLOCK_RATE = 0.8  # of the rate measured before any consumer ran
MAX_AGE_S = 1.5  # graph-clock age of a processed image: a backlog only grows

LOOPBACK_UDP_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<dds xmlns="http://www.eprosima.com">
  <profiles>
    <transport_descriptors>
      <transport_descriptor>
        <transport_id>loopback_udp_small_buffer</transport_id>
        <type>UDPv4</type>
        <receiveBufferSize>65500</receiveBufferSize>
        <interfaceWhiteList><address>127.0.0.1</address></interfaceWhiteList>
      </transport_descriptor>
    </transport_descriptors>
    <participant profile_name="loopback_udp_only" is_default_profile="true">
      <rtps>
        <userTransports><transport_id>loopback_udp_small_buffer</transport_id></userTransports>
        <useBuiltinTransports>false</useBuiltinTransports>
      </rtps>
    </participant>
  </profiles>
</dds>
"""


@pytest.fixture(scope="module")
def camera_sim(tmp_path_factory):
    graph = NodeGraph([sim_node()], tmp_path_factory.mktemp("logs")).start()
    probe = Probe("slow_consumer_probe")
    clock = probe.collect(
        Clock,
        topics.CLOCK,
        qos.STATE,
        lambda m: (time.monotonic(), conversions.time_to_seconds(m.clock)),
    )
    assert probe.spin_until(lambda: len(clock) > 30, 90), graph.logs()
    probe.spin_for(2.0)
    start = time.monotonic()
    probe.spin_for(5.0)
    baseline = _clock_rate(clock, start, time.monotonic())
    yield graph, probe, clock, baseline
    probe.close()
    graph.stop()


def _clock_rate(clock, start: float, end: float) -> float:
    """Seconds of sim time per second of wall time between ``start`` and ``end``."""
    window = [(wall, sim) for wall, sim in clock if start <= wall <= end]
    if len(window) < 2:
        return 0.0
    return (window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0])


def _growth(samples, since: float) -> float:
    """RSS growth (MiB) from the first sample at or after ``since`` to the last one."""
    later = [mb for t, mb in samples if t >= since]
    return later[-1] - later[0] if len(later) > 1 else float("nan")


def _loopback_udp_env(directory: Path) -> dict[str, str]:
    """Localhost-only UDP without shared memory (LEROBOT_ROS_NETWORK=system keeps
    NodeProcess from replacing the profile with the project's)."""
    profile = directory / "loopback_udp.xml"
    profile.write_text(LOOPBACK_UDP_PROFILE)
    return dict(
        os.environ,
        LEROBOT_ROS_NETWORK="system",
        RMW_IMPLEMENTATION="rmw_fastrtps_cpp",
        ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
        FASTDDS_DEFAULT_PROFILES_FILE=str(profile),
        FASTRTPS_DEFAULT_PROFILES_FILE=str(profile),
    )


def _run_consumers(camera_sim, consumers: dict[str, dict], directory: Path, env=None) -> dict:
    """Run the consumers together for DURATION_S; their summaries, with sim_node's clock
    rate and RSS over the same time."""
    graph, probe, clock, baseline = camera_sim
    env = dict(env or os.environ, PYTHONPATH=str(CONSUMER_DIR))
    processes = {
        name: NodeProcess(
            "slow_image_consumer",
            {"duration_s": DURATION_S, "output": str(directory / f"{name}.json")} | parameters,
            env=env,
            log_path=directory / f"{name}.log",
        ).start()
        for name, parameters in consumers.items()
    }
    started = time.monotonic()
    sim_rss = []
    try:
        while any(p.running for p in processes.values()):
            probe.spin_for(1.0)
            sim_rss.append((time.monotonic() - started, rss_mb(graph.pid("sim_node"))))
            assert time.monotonic() - started < DURATION_S + 60, "consumers did not finish"
    finally:
        for process in processes.values():
            process.stop()
    summaries = {}
    for name, process in processes.items():
        output = directory / f"{name}.json"
        assert output.exists(), f"{name} wrote no summary:\n{process.log_text()[-3000:]}"
        summaries[name] = json.loads(output.read_text())
    return {
        "consumers": summaries,
        "clock_rate": _clock_rate(clock, started + 3.0, time.monotonic()),
        "baseline_rate": baseline,
        "sim_rss": sim_rss,
        "sim_alive": graph.running("sim_node"),
    }


def _check_sim(case, run: dict) -> None:
    case.check("sim_node stays up", run["sim_alive"], "")
    rate, baseline = run["clock_rate"], run["baseline_rate"]
    case.check(
        "sim_node keeps real time",
        rate >= MIN_CLOCK_RATE * baseline,
        f"clock rate {rate:.3f} (before the consumers: {baseline:.3f})",
    )
    growth = _growth(run["sim_rss"], WARM_UP_S)
    case.check(
        f"sim_node's memory stays flat (< {SIM_RSS_GROWTH_MB} MiB growth after warm-up)",
        growth < SIM_RSS_GROWTH_MB,
        f"{growth:+.1f} MiB over {DURATION_S - WARM_UP_S:.0f} s "
        f"(RSS {run['sim_rss'][0][1]:.0f} -> {run['sim_rss'][-1][1]:.0f} MiB)",
    )


def _check_consumer(case, summary: dict, slow: bool) -> None:
    counts = summary["counts"]
    published = CAMERA_HZ * DURATION_S
    if slow:
        limit = DURATION_S / WORK_S
        case.check(
            "the slow consumer just gets fewer images, but keeps getting them",
            all(0.2 * limit <= n <= limit + 10 for n in counts.values()),
            f"processed {counts} of ~{published:.0f} per camera (at most {limit:.0f})",
        )
    else:
        case.check("the consumer gets images", all(n > 0 for n in counts.values()), counts)
        # Stamps lie on the 1/30 s grid: every step between the first and the last image
        # received was published once.
        sent = {
            t: round((last - first) * CAMERA_HZ) + 1
            for t, (first, last) in summary["stamps"].items()
        }
        case.note(
            "images lost on the way (received / published while receiving)",
            {t: f"{counts[t]}/{n} ({1 - counts[t] / n:.0%} lost)" for t, n in sent.items()},
        )
    ages = np.array(summary["ages"])
    quarter = max(1, len(ages) // 4)
    latest = ages[len(ages) // 2 :]
    case.check(
        "no backlog: processed images stay fresh",
        len(latest) > 0
        and latest.max() <= MAX_AGE_S
        and ages[-quarter:].mean() <= ages[:quarter].mean() + 0.5,
        f"age max {ages.max():.2f} s, first quarter mean {ages[:quarter].mean():.2f} s, "
        f"last quarter mean {ages[-quarter:].mean():.2f} s",
    )
    growth = _growth(summary["rss_mb"], WARM_UP_S)
    case.check(
        f"the consumer's memory stays flat (< {CONSUMER_RSS_GROWTH_MB} MiB growth)",
        growth < CONSUMER_RSS_GROWTH_MB,
        f"{growth:+.1f} MiB",
    )


def _record_cases(inject, run: dict, when: str, consumers: list) -> None:
    """One fault case per consumer; every case is recorded before the first failure is raised."""
    failures = []
    for name, fault, slow in consumers:
        try:
            with inject(graph=GRAPH, node="sim_node", fault=fault) as case:
                case.when = when
                _check_sim(case, run)
                _check_consumer(case, run["consumers"][name], slow=slow)
        except AssertionError as failure:
            failures.append(failure)
    if failures:
        raise failures[0]


def test_slow_consumers_over_shared_memory(camera_sim, tmp_path, inject):
    run = _run_consumers(
        camera_sim,
        {
            "best_effort": {"qos": "sensor", "work_s": WORK_S},
            "reliable": {"qos": "image", "work_s": WORK_S},
        },
        tmp_path,
    )
    _record_cases(
        inject,
        run,
        f"{DURATION_S:.0f} s, {WORK_S} s of work per image, both at once",
        [
            ("best_effort", "slow best-effort image subscriber (shared memory)", True),
            ("reliable", "slow reliable depth-2 image subscriber (shared memory)", True),
        ],
    )


def test_consumers_over_lossy_loopback_udp(camera_sim, tmp_path, inject):
    run = _run_consumers(
        camera_sim,
        {
            "fast_best_effort": {"qos": "sensor", "work_s": 0.0},
            "slow_reliable": {"qos": "image", "work_s": WORK_S},
        },
        tmp_path,
        env=_loopback_udp_env(tmp_path),
    )
    _record_cases(
        inject,
        run,
        f"{DURATION_S:.0f} s, UDP only with a 64 KiB receive buffer, both at once",
        [
            ("fast_best_effort", "best-effort image subscriber, lossy loopback UDP", False),
            ("slow_reliable", "slow reliable depth-2 image subscriber, lossy loopback UDP", True),
        ],
    )
