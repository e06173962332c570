"""``lerobot-ros``: one command line for the project's nodes and jobs."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from lerobot_ros.resources import node_defaults

if TYPE_CHECKING:  # the ROS/LeRobot imports stay lazy: `lerobot-ros --help` is instant
    from lerobot_ros.orchestration.ros_eval import EvalRequest


def _sim(ros_args: list[str]) -> int:
    from lerobot_ros.nodes import sim_node

    return sim_node.main(["lerobot-ros-sim", *ros_args])


def _expert_demo(args: argparse.Namespace) -> int:
    from lerobot_ros.orchestration.graphs import expert_eval_sim_graph
    from lerobot_ros.orchestration.ros_eval import EvalRequest

    request = EvalRequest(
        n_episodes=args.n_episodes, seed=args.seed, output_dir=args.output_dir, n_videos=1
    )
    return _report_eval(request, expert_eval_sim_graph(), args.output_dir)


def _run(args: argparse.Namespace) -> int:
    """A graph of lerobot_ros.orchestration.graphs without ROS's launch: processes, or composed.

    Ctrl-C (the terminal's SIGINT to the whole process group) or SIGTERM stops it: exit 0
    when every node exited 0, 1 (with the codes) otherwise or when a node died by itself.
    """
    from lerobot_ros.orchestration.graphs import GRAPHS
    from lerobot_ros.orchestration.processes import stop_all
    from lerobot_ros.orchestration.runner import runnable, start_processes
    from lerobot_ros.ros.network import apply_network_defaults
    from lerobot_ros.ros.node_main import TEARDOWN_DEADLINE_S
    from lerobot_ros.ros.stop_request import install_stop_handlers

    stop = install_stop_handlers()
    apply_network_defaults()
    try:
        graph = GRAPHS[args.graph](**_graph_arguments(args.arguments))
    except (TypeError, ValueError) as error:
        print(f"{args.graph}: {error}", file=sys.stderr)
        return 2
    ours, skipped = runnable(graph)
    for spec in skipped:
        print(f"skipping {spec.package}/{spec.executable}: needs a ROS 2 install (use ros2 launch)")
    print(
        f"{args.graph}: {', '.join(spec.name for spec in ours)} ({'composed' if args.composed else 'processes'})",
        flush=True,
    )
    if stop.requested:  # Ctrl-C before anything started
        return 0
    if args.composed:
        return _run_composed(graph, args.log_level)
    # The children inherit this terminal (their logs, and their Ctrl-C: a terminal signals
    # the whole group, so each node starts its own shutdown while we wait for it).
    processes = start_processes(graph, inherit_output=True, log_level=args.log_level)
    try:
        while not stop.requested and all(process.running for process in processes):
            stop.wait(0.5)
    finally:
        # Longer than a node's own teardown deadline: a hung node says where it hangs.
        stop_all(processes, timeout=TEARDOWN_DEADLINE_S + 5.0)
        stop.ignore_from_now()
    codes = {process.module.rsplit(".", 1)[-1]: process.process.returncode for process in processes}
    print("exit codes: " + ", ".join(f"{name} {code}" for name, code in codes.items()), flush=True)
    if not stop.requested:
        print("stopped: a node exited by itself", file=sys.stderr)
        return 1
    return 0 if all(code == 0 for code in codes.values()) else 1


def _run_composed(graph: list, log_level: str) -> int:
    """Every node of ``graph`` in this process, on one executor, until Ctrl-C/SIGTERM."""
    import rclpy
    from rclpy.executors import MultiThreadedExecutor
    from rclpy.signals import SignalHandlerOptions

    from lerobot_ros.orchestration.runner import compose
    from lerobot_ros.ros.node_main import spin_until_shutdown, tear_down
    from lerobot_ros.ros.quiet import quiet_libraries

    ros_args = ["--ros-args", "--log-level", log_level]
    quiet_libraries(ros_args)  # as each node process does (lerobot_ros/nodes/__init__.py)
    rclpy.init(args=ros_args, signal_handler_options=SignalHandlerOptions.NO)
    executor = MultiThreadedExecutor()
    nodes = []
    try:
        nodes = compose(graph)
        for node in nodes:
            executor.add_node(node)
        spin_until_shutdown(executor)
    finally:
        tear_down(nodes, executor)
    return 0


def _graph_arguments(arguments: list[str]) -> dict:
    """``name:=value`` arguments (as ``ros2 launch`` takes them), values parsed as YAML."""
    import yaml

    parsed = {}
    for argument in arguments:
        name, separator, value = argument.partition(":=")
        if not separator or not name:
            raise ValueError(f"graph arguments are name:=value, got {argument!r}")
        parsed[name] = yaml.safe_load(value) if value else ""
    return parsed


def _eval(args: argparse.Namespace) -> int:
    from lerobot_ros.orchestration.arguments import split_names
    from lerobot_ros.orchestration.ros_eval import EvalRequest

    request = EvalRequest(
        policy=args.policy,
        n_episodes=args.n_episodes,
        seed=args.seed,
        output_dir=args.output_dir,
        n_videos=args.n_videos,
        max_episode_steps=args.max_episode_steps,
        realtime=args.realtime,
        cameras=split_names(args.cameras) or None,
    )
    return _report_eval(request, None, args.output_dir)


def _report_eval(request: EvalRequest, graph: list | None, output_dir: Path) -> int:
    """Run an eval, print LeRobot's metrics, pc_success last; non-zero if it failed."""
    from lerobot_ros.orchestration.ros_eval import EvalFailed, run_eval

    try:
        info = run_eval(request, graph)
    except EvalFailed as error:
        print(f"eval failed: {error}", file=sys.stderr)
        return 1
    aggregated = info["aggregated"]
    for episode in info["per_episode"]:
        print(
            f"episode {episode['episode_ix']}: seed {episode['seed']} success={episode['success']} "
            f"sum_reward={episode['sum_reward']:.2f} max_reward={episode['max_reward']:.2f}"
        )
    print(
        f"avg_sum_reward: {aggregated['avg_sum_reward']:.3f}  "
        f"avg_max_reward: {aggregated['avg_max_reward']:.3f}  "
        f"eval_s: {aggregated['eval_s']:.1f}  eval_ep_s: {aggregated['eval_ep_s']:.2f}"
    )
    print(f"outputs: {output_dir.resolve()} (eval_info.json, eval_plot.png, videos/, logs/)")
    print(f"pc_success: {aggregated['pc_success']:.1f}")
    return 0


def _record(args: argparse.Namespace) -> int:
    from lerobot_ros.orchestration.arguments import split_names
    from lerobot_ros.orchestration.ros_record import RecordFailed, RecordRequest, run_record

    hardware = {"port": args.port, "arm": args.arm, "robot_type": args.robot_type}
    hardware |= {"robot_config": args.robot_config}
    if args.camera_devices:
        hardware["camera_devices"] = split_names(args.camera_devices)
    request = RecordRequest(
        root=args.root,
        repo_id=args.repo_id,
        num_episodes=args.num_episodes,
        teleop=args.teleop,
        teleop_config=args.teleop_config,
        task=args.task,
        fps=args.fps,
        mapping=str(args.mapping or ""),
        sim=not args.real,
        seed=args.seed,
        episode_time_s=args.episode_time_s,
        reset_time_s=args.reset_time_s,
        hardware=hardware if args.real else {},
    )
    try:
        summary = run_record(request)
    except (RecordFailed, ValueError) as error:
        print(f"record failed: {error}", file=sys.stderr)
        return 1
    print(
        f"{summary['root']}: {summary['episodes']} episodes "
        f"({summary['recorded_now']} recorded now, frames {summary['frames_per_episode']}); "
        f"logs in {summary['logs']}"
    )
    return 0


def _load_mapping(path: Path | None):  # -> FeatureMapping (imported lazily: fast --help)
    from lerobot_ros.features.mapping import default_mapping_path, load_mapping

    return load_mapping(path or default_mapping_path())


def _attach_mapping(args: argparse.Namespace) -> int:
    """Put the feature mapping beside a checkpoint, where policy_node looks for it first."""
    from lerobot_ros.features.mapping import (
        EMBEDDED_MAPPING_FILE,
        MappingError,
        load_mapping,
        save_mapping,
    )
    from lerobot_ros.policy.loading import (
        PolicyLoadError,
        resolve_checkpoint,
        trained_mapping_path,
        training_dataset_root,
    )

    try:
        checkpoint = resolve_checkpoint(args.checkpoint)
        source = args.mapping or trained_mapping_path(checkpoint)
        if source is None:
            root = training_dataset_root(checkpoint)
            raise MappingError(
                f"no feature mapping found for {checkpoint}: its training dataset "
                f"({root or 'unknown: no train_config.json'}) has no meta/{EMBEDDED_MAPPING_FILE}"
                "; pass --mapping FILE"
            )
        path = save_mapping(load_mapping(source), checkpoint / EMBEDDED_MAPPING_FILE)
    except (PolicyLoadError, MappingError, OSError) as error:
        print(f"attach-mapping failed: {error}", file=sys.stderr)
        return 1
    print(f"{path} (from {source})")
    return 0


def _bag2dataset(args: argparse.Namespace) -> int:
    from lerobot_ros.datasets.bags import BagError, bag2dataset
    from lerobot_ros.features.mapping import MappingError

    try:
        summary = bag2dataset(
            args.bag,
            _load_mapping(args.mapping),
            root=args.root,
            repo_id=args.repo_id,
            fps=args.fps,
            task=args.task,
            split=args.split,
            gap_s=args.gap,
            use_videos=not args.no_videos,
            overwrite=args.overwrite,
            vcodec=args.vcodec,
        )
    except (BagError, MappingError) as error:
        print(f"bag2dataset failed: {error}", file=sys.stderr)
        return 1
    print(
        f"{summary['storage']} bag -> {summary['root']}: {summary['episodes']} episodes, "
        f"{summary['frames']} frames {summary['episode_lengths']} at {summary['fps']} fps "
        f"({summary['frames_per_s']:.0f} frames/s)"
    )
    if summary["skipped_ticks"]:
        print(f"skipped ticks: {summary['skipped_ticks']} {summary['skip_reasons']}")
    if summary["malformed"]:
        print(f"malformed messages: {summary['malformed']}")
    return 0


def _dataset2bag(args: argparse.Namespace) -> int:
    from lerobot_ros.datasets.bags import BagError, dataset2bag
    from lerobot_ros.features.mapping import MappingError

    try:
        summary = dataset2bag(
            args.root,
            args.repo_id,
            _load_mapping(args.mapping),
            args.output,
            episode_gap_s=args.episode_gap,
        )
    except (BagError, MappingError) as error:
        print(f"dataset2bag failed: {error}", file=sys.stderr)
        return 1
    print(
        f"{args.root} -> {summary['bag']} (mcap): {summary['episodes']} episodes, "
        f"{summary['frames']} frames, {summary['duration_s']:.1f} s; replay: ros2 bag play {summary['bag']}"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    from lerobot_ros.orchestration.graphs import GRAPHS
    from lerobot_ros.ros.quiet import DEFAULT_LOG_LEVEL, LOG_LEVELS

    parser = argparse.ArgumentParser(prog="lerobot-ros", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "sim", help="run sim_node (extra arguments go to ROS, e.g. --ros-args -p image_width:=320)"
    )
    demo = commands.add_parser(
        "expert-demo", help="the scripted expert solving seeded episodes through the ROS sim graph"
    )
    demo.add_argument("--n-episodes", type=int, default=3)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--output-dir", type=Path, default=Path("outputs/expert_demo"))
    run = commands.add_parser("run", help="run a graph with its defaults, without ros2 launch")
    run.add_argument("graph", choices=sorted(GRAPHS))
    run.add_argument("--composed", action="store_true", help="all nodes in one process")
    run.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        default=DEFAULT_LOG_LEVEL,
        help="every node's; debug also shows the libraries' banners and progress bars",
    )
    run.add_argument(
        "arguments",
        nargs="*",
        metavar="name:=value",
        help="graph arguments, e.g. sim:=false teleop:=keyboard port:=/dev/ttyUSB0",
    )
    evaluate = commands.add_parser(
        "eval", help="evaluate a policy through the ROS sim graph (the main job)"
    )
    evaluate.add_argument(
        "--policy", default="", help="checkpoint dir or cached Hub repo id (default: shipped)"
    )
    evaluate.add_argument("--n-episodes", type=int, default=10)
    evaluate.add_argument("--seed", type=int, default=0, help="episode i uses seed + i")
    evaluate.add_argument("--output-dir", type=Path, default=Path("outputs/eval"))
    evaluate.add_argument(
        "--n-videos", type=int, default=2, help="videos of the first episodes (front camera)"
    )
    evaluate.add_argument(
        "--cameras",
        default="",
        help="cameras to render, comma-separated (default: those the policy takes)",
    )
    evaluate.add_argument(
        "--max-episode-steps", type=int, default=node_defaults("sim_node")["max_episode_steps"]
    )
    evaluate.add_argument(
        "--realtime", action="store_true", help="30 Hz real time instead of lockstep"
    )
    mapping_help = "feature mapping YAML (default: config/features/panda_pick_cube.yaml)"
    record = commands.add_parser(
        "record", help="teleoperate and record a LeRobotDataset through the ROS graph"
    )
    record.add_argument(
        "--teleop",
        default="scripted",
        help="scripted (sim), keyboard, or a LeRobot teleoperator type (koch_leader, ...)",
    )
    record.add_argument("--teleop-config", default="", help="LeRobot teleoperator config (YAML)")
    record.add_argument("--num-episodes", type=int, default=2)
    record.add_argument("--root", type=Path, required=True, help="dataset directory")
    record.add_argument("--repo-id", required=True)
    record.add_argument("--fps", type=int, default=0, help="default: the mapping's")
    record.add_argument("--task", default="pick up the cube")
    record.add_argument("--mapping", type=Path, default=None, help=mapping_help)
    record.add_argument("--seed", type=int, default=0, help="sim: episode i uses seed + i")
    record.add_argument("--episode-time-s", type=float, default=20.0)
    record.add_argument("--reset-time-s", type=float, default=5.0, help="real robot only")
    record.add_argument("--real", action="store_true", help="the real robot instead of the sim")
    record.add_argument("--arm", default="dynamixel", help="real: dynamixel or lerobot")
    record.add_argument("--port", default="/dev/ttyUSB0", help="real dynamixel: serial port")
    record.add_argument("--robot-type", default="", help="real lerobot: robot type")
    record.add_argument("--robot-config", default="", help="real lerobot: robot config (YAML)")
    record.add_argument("--camera-devices", default="", help="real: front,wrist OpenCV devices")
    to_dataset = commands.add_parser(
        "bag2dataset", help="convert a rosbag2 (MCAP or sqlite3) into a LeRobotDataset"
    )
    to_dataset.add_argument("bag", type=Path, help="rosbag2 directory (or .mcap/.db3 file)")
    to_dataset.add_argument("--root", type=Path, required=True, help="dataset directory")
    to_dataset.add_argument("--repo-id", required=True)
    to_dataset.add_argument("--mapping", type=Path, default=None, help=mapping_help)
    to_dataset.add_argument("--fps", type=float, default=None, help="default: the mapping's")
    to_dataset.add_argument("--task", default="", help="task string of every episode")
    to_dataset.add_argument(
        "--split",
        choices=["status", "gap"],
        default="status",
        help="episodes from /task/status episode_index, or from gaps in the state topic",
    )
    to_dataset.add_argument("--gap", type=float, default=1.0, help="seconds, for --split gap")
    to_dataset.add_argument("--no-videos", action="store_true", help="store images as PNG")
    to_dataset.add_argument(
        "--vcodec",
        default=None,
        help="video codec, one of LeRobot's (default: LeRobot's own; h264 encodes faster)",
    )
    to_dataset.add_argument(
        "--overwrite", action="store_true", help="replace an existing dataset at --root"
    )
    attach = commands.add_parser(
        "attach-mapping",
        help="after lerobot-train: copy the feature mapping beside the checkpoint (policy_node "
        "uses it by default and refuses a contradicting one)",
    )
    attach.add_argument("checkpoint", help="the pretrained_model directory lerobot-train saved")
    attach.add_argument(
        "--mapping",
        type=Path,
        default=None,
        help="default: the one in the training dataset's meta/ (named by train_config.json)",
    )
    to_bag = commands.add_parser(
        "dataset2bag", help="write a LeRobotDataset as a rosbag2 (MCAP) for ros2 bag play"
    )
    to_bag.add_argument("--root", type=Path, required=True, help="dataset directory")
    to_bag.add_argument("--repo-id", required=True)
    to_bag.add_argument("--output", type=Path, required=True, help="bag directory to create")
    to_bag.add_argument("--mapping", type=Path, default=None, help=mapping_help)
    to_bag.add_argument(
        "--episode-gap", type=float, default=0.0, help="seconds of silence between episodes"
    )
    return parser


def _interrupt_once(number: int, frame: object) -> None:
    """The first Ctrl-C/SIGTERM interrupts a job (KeyboardInterrupt); later ones are ignored,
    so its clean-up (stopping the graph it started) runs to the end."""
    for ignored in (signal.SIGINT, signal.SIGTERM):
        signal.signal(ignored, signal.SIG_IGN)
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    from lerobot_ros.ros.network import NetworkSettingsError

    try:
        return _main(argv)
    except NetworkSettingsError as error:
        print(f"lerobot-ros: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # a job interrupted: its clean-up ran, say so without a traceback
        print("interrupted", file=sys.stderr)
        return 130


def _main(argv: list[str] | None = None) -> int:
    # Ctrl-C, and the SIGINT a supervisor stops a graph with, must work even when this process
    # was started with SIGINT ignored (a background job of a non-interactive shell, nohup).
    # `run` takes both as a stop request; the jobs take the first as KeyboardInterrupt.
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["run"]:
        from lerobot_ros.ros.stop_request import install_stop_handlers

        install_stop_handlers()
    else:
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, _interrupt_once)
    parser = build_parser()
    if argv[:1] == ["sim"]:  # everything after `sim` belongs to ROS
        return _sim(argv[1:])
    args = parser.parse_args(argv)
    if args.command == "eval":
        if args.n_episodes < 1:
            parser.error("--n-episodes must be >= 1")
        return _eval(args)
    if args.command == "run":
        return _run(args)
    if args.command == "record":
        if args.num_episodes < 1:
            parser.error("--num-episodes must be >= 1")
        return _record(args)
    if args.command == "bag2dataset":
        return _bag2dataset(args)
    if args.command == "attach-mapping":
        return _attach_mapping(args)
    if args.command == "dataset2bag":
        return _dataset2bag(args)
    if args.command == "expert-demo":
        if args.n_episodes < 1:
            parser.error("--n-episodes must be >= 1")
        return _expert_demo(args)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
