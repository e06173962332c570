"""Point the ROS 2 wheels' exported CMake files at this virtual environment.

The ros-* wheels are built in manylinux containers, so the CMake config files they ship
name the builder's interpreter (/opt/python/cpXY-cpXY/...) for the Python and NumPy
include dirs. rosidl's Python generator then fails to configure. This rewrites those
paths to the running interpreter's own. Idempotent: a second run changes nothing.
"""

from __future__ import annotations

import re
import sys
import sysconfig
from pathlib import Path

import numpy

BUILDER_PREFIX = re.compile(r"/opt/python/cp\d+-cp\d+t?")
NUMPY_INCLUDE = re.compile(
    BUILDER_PREFIX.pattern + r"/lib/python[\d.]+t?/site-packages/numpy/_core/include"
)
PYTHON_INCLUDE = re.compile(BUILDER_PREFIX.pattern + r"/include/python[\d.]+t?")


def repair_text(text: str, prefix: str, python_include: str, numpy_include: str) -> str:
    """Return ``text`` with the wheel builder's paths replaced by this environment's."""
    text = NUMPY_INCLUDE.sub(numpy_include, text)
    text = PYTHON_INCLUDE.sub(python_include, text)
    return BUILDER_PREFIX.sub(prefix, text)


def repair_tree(prefix: Path) -> list[Path]:
    """Rewrite every CMake/ament index file under ``prefix``; return the files changed."""
    python_include = sysconfig.get_paths()["include"]
    numpy_include = numpy.get_include()
    candidates = [
        *prefix.glob("share/*/cmake/*.cmake"),
        *prefix.glob("share/ament_index/resource_index/parent_prefix_path/*"),
    ]
    changed = []
    for path in candidates:
        text = path.read_text(errors="surrogateescape")
        if "/opt/python/" not in text:
            continue
        path.write_text(
            repair_text(text, str(prefix), python_include, numpy_include), errors="surrogateescape"
        )
        changed.append(path)
    return changed


def main() -> int:
    prefix = Path(sys.argv[1] if len(sys.argv) > 1 else sys.prefix).resolve()
    changed = repair_tree(prefix)
    print(f"repaired {len(changed)} CMake/ament files under {prefix}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
