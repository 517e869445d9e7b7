"""One start-and-wait DAG that a chaos test runs in a child process (to kill it) and in-process again.

``execution_support.start_dag`` is the single definition both sides use, so a rerun is the *same*
task instance (same dag id, run id, task id, hence the same derived execution ids). Run as a script::

    python -m tests.reliability.chaos_dag '{"dag_id": "...", "logical_date": "...", "operator": {...}}'

The child writes ``TASK_STATE <state>`` on its last line, so a test can tell a finished child from
one it killed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.integration.provider.execution_support import START_TASK_ID, run_dag, start_dag, task_instance

REPO = Path(__file__).resolve().parents[2]
TASK_ID = START_TASK_ID


def run(dag_id: str, logical_date: datetime, **operator_kwargs: Any) -> Any:
    """Build and run the DAG with ``dag.test()`` for ``logical_date``; return the DagRun."""
    return run_dag(start_dag(dag_id, **operator_kwargs), logical_date)


class ChildDag:
    """The DAG run by ``dag.test()`` in a child process: a worker (and triggerer) that can be killed."""

    def __init__(self, log_path: Path, dag_id: str, logical_date: datetime, **operator_kwargs: Any) -> None:
        spec = {"dag_id": dag_id, "logical_date": logical_date.isoformat(), "operator": operator_kwargs}
        self.log_path = log_path
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.reliability.chaos_dag", json.dumps(spec)],
                cwd=REPO,
                env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"},  # lines as they happen
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        """Everything the child printed so far."""
        return self.log_path.read_text(errors="replace")

    def assert_alive(self) -> None:
        """Fail with the child's output tail when it already exited."""
        assert self.process.poll() is None, f"child exited early:\n{self.output()[-3000:]}"

    def wait_for(self, predicate: Any, timeout: float, what: str, interval: float = 0.2) -> Any:
        """:func:`wait_until` while the child lives: fails at once, with its output, if it exits first."""

        def alive_and_done() -> Any:
            self.assert_alive()
            return predicate()

        return wait_until(alive_and_done, timeout, what, interval)

    def signal(self, sig: int) -> None:
        """Send ``sig`` without waiting for the child to react."""
        if self.process.poll() is None:
            self.process.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL (no ``on_kill``, no cleanup, like a lost worker) and reap the child."""
        self.signal(signal.SIGKILL)
        self.process.wait(timeout=60)

    def wait(self, timeout: float) -> str:
        """Wait for a normal exit; return the task state the child reported."""
        self.process.wait(timeout=timeout)
        for line in reversed(self.output().splitlines()):
            if line.startswith("TASK_STATE "):
                return line.split(" ", 1)[1]
        raise AssertionError(f"child reported no task state:\n{self.output()[-3000:]}")

    def close(self) -> None:
        """Kill the child if a failed test left it running."""
        if self.process.poll() is None:
            self.kill()


def wait_until(predicate: Any, timeout: float, what: str, interval: float = 0.2) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(interval)


def _main(raw: str) -> None:
    spec = json.loads(raw)
    dag_run = run(spec["dag_id"], datetime.fromisoformat(spec["logical_date"]), **spec["operator"])
    print(f"TASK_STATE {task_instance(dag_run, TASK_ID).state}", flush=True)


if __name__ == "__main__":
    _main(sys.argv[1])
