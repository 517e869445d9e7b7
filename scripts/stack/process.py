"""One long-running child process of the local stack: its command, log file, process group and signals.

Every component runs in a new session (its own process group), so stopping it also stops whatever
it forked (task supervisors and task processes under the scheduler, the trigger runner under a
triggerer, uvicorn workers under the api-server) and nothing outlives the stack.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


class ComponentError(RuntimeError):
    """A component exited or did not become ready; the message ends with the tail of its log."""


def log_tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file ("" when it does not exist)."""
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class Component:
    """A child process started with :meth:`start`, logging (stdout and stderr) to ``log_path``.

    ``stop_signal`` is what :meth:`stop` sends first (PostgreSQL's fast shutdown is SIGINT);
    ``to_group`` says whether signals go to the whole process group (Airflow components) or only to
    the process itself (the postmaster manages its own children).
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        env: dict[str, str] | None = None,
        *,
        cwd: Path | None = None,
        stop_signal: int = signal.SIGTERM,
        to_group: bool = True,
        popen_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.stop_signal = stop_signal
        self.to_group = to_group
        self._popen_kwargs = popen_kwargs or {}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """Process id while started (also when it has exited but was not stopped yet)."""
        return self.process.pid if self.process else None

    def running(self) -> bool:
        """Whether the process is alive."""
        return self.process is not None and self.process.poll() is None

    def start(self) -> Component:
        """Start the process in its own session, appending to its log file."""
        if self.running():
            raise ComponentError(f"{self.name} is already running (pid {self.pid})")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"\n$ {' '.join(self.argv)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
                **self._popen_kwargs,
            )
        return self

    def run(self, timeout: float) -> None:
        """Start, wait for the exit, fail (with the log tail) on a non-zero status or after ``timeout``."""
        self.start()
        assert self.process is not None
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop(timeout=5)
            raise ComponentError(self.failure(f"not finished after {timeout:.0f} s")) from None
        self.process = None
        if code != 0:
            raise ComponentError(self.failure(f"failed with status {code}"))

    def signal(self, sig: int, *, group: bool | None = None) -> None:
        """Send ``sig`` to the process group (or only the process with ``group=False``)."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            if self.to_group if group is None else group:
                os.killpg(self.process.pid, sig)
            else:
                self.process.send_signal(sig)
        except ProcessLookupError:
            pass

    def stop(self, timeout: float = 20.0) -> int | None:
        """``stop_signal``, then SIGKILL to the group after ``timeout`` s; returns the exit code."""
        if self.process is None:
            return None
        self.signal(self.stop_signal)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL, group=True)
            self.process.wait(timeout=10)
        # Whatever the leader left behind in its group (a task process, a log server) goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        code = self.process.returncode
        self.process = None
        return code

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll ``ready`` every 0.2 s until true; fail with the log tail on an exit or after ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                code = self.process.returncode if self.process else None
                raise ComponentError(self.failure(f"exited with status {code} before {what}"))
            if ready():
                return
            time.sleep(0.2)
        raise ComponentError(self.failure(f"not {what} after {timeout:.0f} s"))

    def failure(self, problem: str) -> str:
        """An error message naming the component, the problem, its log and the log's tail."""
        return f"{self.name} {problem}; log {self.log_path}:\n{log_tail(self.log_path)}"
