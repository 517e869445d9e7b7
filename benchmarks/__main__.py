"""Run every benchmark script: ``python -m benchmarks [--smoke]``.

Each script runs as ``python -m benchmarks.<name>`` from the repository root (so it can import
``benchmarks.common`` and ``tests.support``); modules starting with ``_`` are shared helpers.

In CI they run in smoke size so they never rot; there are no timing asserts, a benchmark fails
only when its script fails.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
NOT_BENCHMARKS = {"__init__.py", "__main__.py", "common.py", "readme_table.py"}


def main() -> int:
    """Run each benchmark script in its own interpreter; return non-zero if any failed."""
    scripts = sorted(
        p for p in HERE.glob("*.py") if p.name not in NOT_BENCHMARKS and not p.name.startswith("_")
    )
    failed = []
    for script in scripts:
        print(f"== {script.name} {' '.join(sys.argv[1:])}", flush=True)
        result = subprocess.run(
            [sys.executable, "-m", f"benchmarks.{script.stem}", *sys.argv[1:]], cwd=HERE.parent
        )
        if result.returncode != 0:
            failed.append(script.name)
    if failed:
        print(f"benchmarks failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"{len(scripts)} benchmarks ran")
    return 0


if __name__ == "__main__":
    sys.exit(main())
