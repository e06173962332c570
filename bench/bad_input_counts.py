"""The bad-input suite's counts as a table: inputs tried, rejected cleanly, accepted, per target.

Runs the property tests of test/robustness (pytest ``-m bad_input``), which write
build/robustness/bad_input.json (format: test/robustness/conftest.py), then prints one
markdown row per target and the tests' outcome.

    .venv/bin/python bench/bad_input_counts.py [--no-run] [--json build/robustness/bad_input.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JSON = ROOT / "build" / "robustness" / "bad_input.json"


def table(data: dict) -> str:
    lines = [
        "| target | tried | rejected cleanly | accepted | failed |",
        "|---|---:|---:|---:|---:|",
    ]
    rows = [*data["targets"].items(), ("**total**", data["totals"])]
    for name, counts in rows:
        lines.append(
            f"| {name} | {counts['tried']} | {counts['rejected']} | {counts['accepted']} | "
            f"{counts['failed']} |"
        )
    lines.append("")
    tests = data["tests"]
    lines.append(
        f"Tests: {tests['passed']} passed, {tests['failed']} failed, {tests['skipped']} skipped."
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-run", action="store_true", help="only print the last counts")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args()
    code = 0
    if not args.no_run:
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        command += ["-m", "bad_input", "test/robustness"]
        code = subprocess.run(command, cwd=ROOT, check=False).returncode
    if not args.json.is_file():
        print(f"no counts at {args.json}: run the suite first", file=sys.stderr)
        return 1
    print(table(json.loads(args.json.read_text())))
    return code


if __name__ == "__main__":
    sys.exit(main())
