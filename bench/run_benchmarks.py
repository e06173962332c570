"""``make bench``: every benchmark of the project, one after the other, in one run.

Each writes its JSON under bench/results/ and prints its figures (ratios against baselines
measured in the same run). Benchmarks are not tests: nothing here passes or fails on speed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = ("bench_sim.py", "bench_policy.py", "bench_recording.py")


def main() -> int:
    here = Path(__file__).resolve().parent
    failed = []
    for name in BENCHMARKS:
        print(f"=== {name}", flush=True)
        if subprocess.run([sys.executable, str(here / name)], check=False).returncode != 0:
            failed.append(name)
    if failed:
        print(f"failed: {failed}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
