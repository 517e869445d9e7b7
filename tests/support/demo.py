"""``scripts/demo.py`` run as a user runs it after installation."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: The demo after installation: the project's python running ``scripts/demo.py``.
DEMO_COMMAND = (sys.executable, str(ROOT / "scripts" / "demo.py"))
#: How long the demo gets to stop its emulator and Airflow after SIGTERM.
STOP_SECONDS = 60


def demo_env(pythonpath: str | None = None) -> dict[str, str]:
    """This process's environment without its ``AIRFLOW_*`` settings; ``pythonpath`` first on
    ``PYTHONPATH`` when given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, env.get("PYTHONPATH")]))
    return env


@dataclass(frozen=True)
class DemoRun:
    """One finished run of the demo: its exit status, output, and the directory it kept."""

    returncode: int
    stdout: str
    stderr: str
    workdir: Path | None

    def emulator_log(self) -> str:
        """The demo's emulator log (its request lines carry each request's api-version)."""
        assert self.workdir is not None, self.stdout[-4000:]
        return (self.workdir / "emulator-state" / "emulator.log").read_text(errors="replace")


@contextmanager
def kept_demo_run(timeout: float, pythonpath: str | None = None) -> Iterator[DemoRun]:
    """Run ``scripts/demo.py --keep`` (environment: :func:`demo_env`); yield the run, then delete the
    directory it kept. Past ``timeout`` the demo and everything it started get SIGTERM (the demo
    stops its emulator and Airflow then), SIGKILL if still there after :data:`STOP_SECONDS`."""
    demo = subprocess.Popen(
        [*DEMO_COMMAND, "--keep"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=demo_env(pythonpath),
        start_new_session=True,
    )
    try:
        stdout, stderr = demo.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(demo.pid, signal.SIGTERM)
        try:
            stdout, stderr = demo.communicate(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            stdout, stderr = demo.communicate()
        stderr += f"\n(the demo was stopped after {timeout} s)"
    kept = re.search(r"Kept (\S+) ", stdout)
    workdir = Path(kept.group(1)) if kept else None
    try:
        yield DemoRun(demo.returncode, stdout, stderr, workdir)
    finally:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
