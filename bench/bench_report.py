"""What every benchmark script writes: the machine it ran on, and its JSON result."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path


def machine() -> str:
    return (
        f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus, {platform.python_version()}"
    )


def write_result(result: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2))
    print(f"wrote {path}")
