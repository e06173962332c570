"""``make bench``: every benchmark of the project in one run, and one report.

Runs, one after the other (each alone on the machine): the sim, policy (latency, eval
throughput ROS vs in-process), chunk execution (refill and aggregation rules), recording and
bag conversion, image transport and soak benchmarks, and the fault-injection and bad-input
suites (pytest ``-m "faults or bad_input"``, for their counts). Each benchmark writes its
JSON under bench/results/; this script then writes ``bench/results/latest.md`` (every figure with its baseline from the same
run, as a ratio), ``latest.json`` (all of it) and ``latest.png`` (the ratios). Each row also
shows the figure of the report this run replaces, with that report's software stack, so a
change of LeRobot, torch or ROS lane shows next to the old numbers. ``--only sim,policy``
re-runs some benchmarks and keeps the others' figures from the report it replaces.
Benchmarks are not tests: nothing here passes or fails on speed.

    .venv/bin/python bench/run_benchmarks.py [--quick] [--report-only] [--only NAMES]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
ROBUSTNESS = HERE.parent / "build" / "robustness"

# script, its JSON, and arguments for the full and the quick run
BENCHMARKS = {
    "sim": ("bench_sim.py", "sim.json", [], []),
    "policy": ("bench_policy.py", "policy.json", [], ["--episodes", "3"]),
    "chunks": ("bench_chunks.py", "chunks.json", [], ["--seeds", "3"]),
    "recording": ("bench_recording.py", "recording.json", [], ["--seconds", "20"]),
    "image_transport": ("bench_image_transport.py", "image_transport.json", [], ["--seconds", "2"]),
    "multihost": ("bench_multihost.py", "multihost.json", [], ["--seconds", "5"]),
    "soak": ("soak_eval.py", "soak.json", [], ["--minutes", "2", "--batch", "5"]),
}


def run_all(quick: bool, suites: bool, only: list[str]) -> list[str]:
    failed = []
    for name, (script, output, full, short) in BENCHMARKS.items():
        if name not in only:
            continue
        print(f"=== {name}", flush=True)
        arguments = [sys.executable, str(HERE / script), "--json", str(RESULTS / output)]
        if subprocess.run(arguments + (short if quick else full), check=False).returncode:
            failed.append(name)
    if not suites:
        return failed
    print("=== fault injection and bad input suites", flush=True)
    suites = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-m",
        "faults or bad_input",
        "-p",
        "no:cacheprovider",
    ]
    if subprocess.run(suites, cwd=HERE.parent, check=False).returncode:
        failed.append("fault/bad-input suites")
    return failed


def machine_description() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.machine()}, {os.cpu_count()} cores ({model}), {memory_gb:.0f} GiB, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def software_stack() -> str:
    """The versions the figures depend on: LeRobot, torch, the ROS 2 lane, MuJoCo, Python."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    jazzy = installed("ros-jazzy-rclpy")
    lane = f"Jazzy rclpy {jazzy}" if jazzy else f"Kilted rclpy {installed('ros-rclpy')}"
    return (
        f"lerobot {installed('lerobot')}, torch {installed('torch')}, {lane}, "
        f"mujoco {installed('mujoco')}, Python {platform.python_version()}"
    )


def _load(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def rows(results: dict) -> list[tuple[str, str, str, float | None]]:
    """(what, measured, baseline, ratio) for every figure present."""
    table = []
    sim = results.get("sim")
    if sim:
        node, core = sim["sim_node"], sim["core"]
        table += [
            (
                "sim_node real-time factor, 30 Hz, 2 cameras 224x224",
                f"{30 * node['real_time_factor']:.1f} Hz",
                "30 Hz (real time)",
                node["real_time_factor"],
            ),
            (
                "sim_node CPU per control tick",
                f"{node['node_cpu_ms_per_step']:.2f} ms",
                f"raw step + 2 renders {sim['raw_tick_ms']:.2f} ms",
                sim["cost_ratio_node_vs_raw"],
            ),
            (
                "raw control step / render front / render wrist",
                f"{core['control_step_ms']:.3f} / {core['render_ms']['front']:.2f} / {core['render_ms']['wrist']:.2f} ms",
                "",
                None,
            ),
        ]
    policy = results.get("policy")
    if policy:
        throughput, latency, realtime = (
            policy["eval_throughput"],
            policy["latency_two_cameras_lockstep"],
            policy["realtime_two_cameras"],
        )
        table += [
            (
                "eval throughput through ROS (lockstep)",
                f"{throughput['ros_steps_per_s']:.0f} steps/s",
                f"in-process rollout {throughput['in_process_steps_per_s']:.0f} steps/s",
                throughput["ratio_ros_vs_in_process"],
            ),
            (
                "policy_node latency beyond the policy call (p50 / p99)",
                f"{latency['beyond_model_ms_p50']:.2f} / {latency['beyond_model_ms_p99']:.2f} ms",
                f"policy call p50 {latency['policy_call_ms_p50']:.2f} ms",
                latency["beyond_model_ms_p50"] / latency["policy_call_ms_p50"],
            ),
            (
                "real-time command rate while chunks compute",
                f"{realtime['commands_per_s']:.2f} Hz",
                "30 Hz",
                realtime["commands_per_s"] / 30,
            ),
        ]
        alone = policy.get("realtime_two_cameras_refill_below_only")
        if alone:
            table.append(
                (
                    "real-time ticks on time while chunks compute (interval <= 1.5 periods)",
                    f"{100 * realtime['ticks_on_time']:.1f} % ({realtime['commands_per_s']:.2f} Hz)",
                    f"refill_below only {100 * alone['ticks_on_time']:.1f} % ({alone['commands_per_s']:.2f} Hz)",
                    realtime["ticks_on_time"] / alone["ticks_on_time"],
                )
            )
    chunks = results.get("chunks")
    if chunks:
        refill, latency = chunks["refill"], chunks["latency_ticks"]
        table.append(
            (
                f"ticks on time, chunks arriving {latency} ticks late (sim time): asked by the lead",
                f"{100 * refill['with_lead']['ticks_on_time']:.1f} %",
                f"refill_below only {100 * refill['refill_below_only']['ticks_on_time']:.1f} %",
                refill["with_lead"]["ticks_on_time"] / refill["refill_below_only"]["ticks_on_time"],
            )
        )
        replaced = chunks["aggregations"]["latest_only"]
        for name, figures in chunks["aggregations"].items():
            if name == "latest_only":
                continue
            table.append(
                (
                    f"joint jerk at chunk seams p50 / p95, {name} (success {100 * figures['success_rate']:.0f} %)",
                    f"{figures['seam_jerk_p50']:.0f} / {figures['seam_jerk_p95']:.0f} rad/s^3",
                    f"replacement {replaced['seam_jerk_p50']:.0f} / {replaced['seam_jerk_p95']:.0f} rad/s^3",
                    figures["seam_jerk_p50"] / replaced["seam_jerk_p50"],
                )
            )
    recording = results.get("recording")
    if recording:
        live, alone, bags = recording["live"], recording["writer_alone"], recording["bags"]
        table += [
            (
                f"recording {live['sim_seconds'] / 60:.1f} min, 2 cameras + state at 30 fps",
                f"{live['frames']} frames, {live['dropped_frames']} dropped, {live['skipped_ticks']} skipped ticks",
                f"{live['expected_frames']} expected",
                live["frames"] / max(1, live["expected_frames"]),
            ),
            (
                "recorder CPU per frame",
                f"{live['recorder_cpu_ms_per_frame']:.2f} ms ({100 * live['recorder_cpu_share_of_a_core']:.0f}% of a core)",
                f"LeRobot's writer alone {alone['cpu_ms_per_frame']:.2f} ms",
                recording["recorder_cpu_vs_writer_alone"],
            ),
        ]
        for vcodec, figures in bags.get("by_codec", {}).items():
            table.append(
                (
                    f"bag2dataset throughput, {vcodec} (reading the bag alone {bags['read_frames_per_s']:.0f} frames/s)",
                    f"{figures['frames_per_s']:.0f} frames/s",
                    f"LeRobotDataset alone, same encoding {figures['lerobot_alone_frames_per_s']:.0f} frames/s",
                    figures["vs_lerobot_alone"],
                )
            )
    transport = results.get("image_transport")
    if transport:
        for case in transport["cases"]:
            table.append(
                (
                    f"image transport {case['size']} at {case['requested_hz']:g} Hz (latency p50 / p99)",
                    f"{case['latency_ms_p50']:.2f} / {case['latency_ms_p99']:.2f} ms, {case['received_hz']:.1f} Hz",
                    f"in-process serialize+deserialize {case['serialize_roundtrip_ms']:.3f} ms",
                    case["latency_vs_serialization"],
                )
            )
    multihost = results.get("multihost")
    if multihost:
        one, two = multihost["lockstep"]["one_host"], multihost["lockstep"]["two_hosts"]
        table.append(
            (
                "policy on another host (veth pair): observation -> action -> step, lockstep, 2 cameras (p50 / p99)",
                f"{two['step_period_ms_p50']:.2f} / {two['step_period_ms_p99']:.1f} ms (+{multihost['added_latency_ms_p50']:.2f} ms at p50)",
                f"one host {one['step_period_ms_p50']:.2f} / {one['step_period_ms_p99']:.1f} ms",
                two["step_period_ms_p50"] / one["step_period_ms_p50"],
            )
        )
        one, two = multihost["realtime"]["one_host"], multihost["realtime"]["two_hosts"]

        def rates(figures: dict) -> str:
            images = " / ".join(f"{n:.1f}" for n in figures["images_per_s"].values())
            return (
                f"images {images} /s, {figures['image_megabytes_per_s']:.2f} MB/s, "
                f"commands {figures['commands_per_s']:.1f} /s"
            )

        table.append(
            (
                "policy on another host (veth pair): real time at 30 Hz, at the policy's host",
                rates(two),
                f"one host {rates(one)}",
                two["image_megabytes_per_s"] / one["image_megabytes_per_s"],
            )
        )
    soak = results.get("soak")
    if soak:
        worst = max(soak["memory_growth_mb"].values())
        table += [
            (
                f"soak: {soak['sim_minutes']:.0f} min of sim time, {soak['episodes']} episodes, memory growth (worst process)",
                f"{worst:.1f} MB",
                f"bound {soak['memory_bound_mb']:g} MB",
                None,
            ),
            (
                "soak: time per env step, end vs warm start",
                f"{soak['batches'][-1]['ms_per_step']:.2f} ms",
                f"bound {soak['latency_bound']}x",
                soak["latency_ratio_last_vs_warm"],
            ),
        ]
    faults, bad_input = results.get("faults"), results.get("bad_input")
    if faults:
        table.append(
            (
                "fault injection (kill -9 a node of the eval / record graphs)",
                f"{faults.get('survived')} survived",
                f"{faults.get('faults_injected')} injected",
                faults.get("survived", 0) / max(1, faults.get("faults_injected", 0)),
            )
        )
    if bad_input:
        tried, clean = bad_input.get("total_tried", 0), bad_input.get("total_rejected_cleanly", 0)
        table.append(
            (
                "bad inputs (hypothesis: adapters, mapping parser, requests)",
                f"{clean} rejected cleanly, {bad_input.get('total_accepted', 0)} valid",
                f"{tried} tried",
                None,
            )
        )
    return table


def _ratio(ratio: float | None) -> str:
    return "" if ratio is None else f"{ratio:.2f}x"


def write_report(results: dict, previous: dict | None) -> Path:
    table = rows(results)
    before = {what: (measured, ratio) for what, measured, _, ratio in rows(previous or {})}
    before_stack = (previous or {}).get("stack", "an earlier stack")
    lines = [
        "# Benchmark report",
        "",
        f"Machine: {results['machine']}. Stack: {results['stack']}. Generated "
        f"{results['generated']} by `make bench` (bench/run_benchmarks.py); every baseline is",
        'measured in the same run. "Previous report": the same figure in the report this one',
        f"replaced ({before_stack}, generated {(previous or {}).get('generated', 'never')}).",
        "",
        "| what | measured | baseline (same run) | ratio | previous report (ratio) |",
        "|---|---|---|---|---|",
    ]
    for what, measured, baseline, ratio in table:
        old_measured, old_ratio = before.get(what, ("", None))
        old_text = old_measured if old_ratio is None else f"{old_measured} ({_ratio(old_ratio)})"
        lines.append(f"| {what} | {measured} | {baseline} | {_ratio(ratio)} | {old_text} |")
    if results.get("kept_from_previous"):
        lines += [
            "",
            "Not re-run (figures kept from the previous report, "
            f"{before_stack}): {', '.join(results['kept_from_previous'])}.",
        ]
    missing = [name for name in (*BENCHMARKS, "faults", "bad_input") if not results.get(name)]
    if missing:
        lines += ["", f"Not measured in this run: {', '.join(missing)}."]
    report = RESULTS / "latest.md"
    report.write_text("\n".join(lines) + "\n")
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2))
    _plot(table, RESULTS / "latest.png")
    return report


def _plot(table: list, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ratios = [(what, ratio) for what, _, _, ratio in table if ratio is not None]
    if not ratios:
        return
    figure, axis = plt.subplots(figsize=(9, 0.35 * len(ratios) + 1.2))
    axis.barh([w[:70] for w, _ in ratios][::-1], [r for _, r in ratios][::-1], color="tab:blue")
    axis.axvline(1.0, color="black", linewidth=0.8)
    axis.set_xscale("log")
    axis.set_xlabel("ratio to the baseline measured in the same run (log scale)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short runs (a smoke test)")
    parser.add_argument("--report-only", action="store_true", help="rebuild the report")
    parser.add_argument(
        "--no-suites", action="store_true", help="use the counts of the last test run instead"
    )
    parser.add_argument(
        "--only",
        default=",".join(BENCHMARKS),
        help=f"comma-separated benchmarks to run (of {', '.join(BENCHMARKS)}); the others and "
        "the suites keep the previous report's figures",
    )
    args = parser.parse_args()
    only = [name for name in args.only.split(",") if name]
    unknown = sorted(set(only) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmarks {unknown}; choose from {list(BENCHMARKS)}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    previous = _load(RESULTS / "latest.json")
    partial = set(only) != set(BENCHMARKS)
    suites = not args.no_suites and not partial
    failed = [] if args.report_only else run_all(args.quick, suites=suites, only=only)
    results = {name: _load(RESULTS / output) for name, (_, output, _, _) in BENCHMARKS.items()}
    results["faults"] = _load(ROBUSTNESS / "faults.json")
    results["bad_input"] = _load(ROBUSTNESS / "bad_input.json")
    results["kept_from_previous"] = []
    if partial and previous:
        kept = [name for name in (*BENCHMARKS, "faults", "bad_input") if name not in only]
        for name in kept:
            results[name] = previous.get(name)
        results["kept_from_previous"] = [name for name in kept if results[name]]
    results["machine"] = machine_description()
    results["stack"] = software_stack()
    results["generated"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    report = write_report(results, previous)
    print(report.read_text())
    if failed:
        print(f"failed: {failed}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
