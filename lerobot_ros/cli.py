"""``lerobot-ros``: one command line for the project's nodes and jobs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _sim(ros_args: list[str]) -> int:
    from lerobot_ros.nodes import sim_node

    return sim_node.main(["lerobot-ros-sim", *ros_args])


def _demo(args: argparse.Namespace) -> int:
    from lerobot_ros.scripted_demo import run_scripted_demo

    summary = run_scripted_demo(args.n_episodes, args.seed, args.output_dir)
    print(f"outputs: {args.output_dir.resolve()} (summary.json, episode_0_front.mp4, sim_node.log)")
    print(f"pc_success: {summary['pc_success']:.1f}")
    return 0 if summary["n_episodes"] == len(summary["episodes"]) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lerobot-ros", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "sim", help="run sim_node (extra arguments go to ROS, e.g. --ros-args -p image_width:=320)"
    )
    demo = commands.add_parser(
        "demo", help="headless demo: the scripted expert over the ROS sim graph"
    )
    demo.add_argument("--n-episodes", type=int, default=3)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--output-dir", type=Path, default=Path("outputs/demo"))
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    if argv[:1] == ["sim"]:  # everything after `sim` belongs to ROS
        return _sim(argv[1:])
    args = parser.parse_args(argv)
    if args.command == "demo":
        if args.n_episodes < 1:
            parser.error("--n-episodes must be >= 1")
        return _demo(args)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
