"""The one-command demo: the Microsoft Elastic Jobs tutorial as an Airflow DAG, on this machine.

``bash scripts/demo.sh`` installs everything and runs this file; with an installed environment run it
directly: ``python scripts/demo.py``. It

1. starts the Elastic Jobs emulator (HTTPS on a free 127.0.0.1 port, temporary state directory,
   random bearer token),
2. creates a throwaway ``AIRFLOW_HOME`` and the tutorial's connections as ``AIRFLOW_CONN_*``
   variables pointing at the emulator (passwords random per run),
3. runs ``example_dags/elastic_jobs_tutorial.py`` end to end with ``airflow dags test``,
4. prints which tables exist in which target database, the execution lifecycle per step and target
   and the schedule now set on Job1 (see ``scripts/demo_report.py``), and
5. always stops the emulator and deletes the temporary directory (``--keep`` keeps it for a look).

Exit status: 0 when the tutorial's outcome is exactly right, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.demo_report import DemoNames, collect_report, print_report  # noqa: E402
from tests.support.emulator import EmulatorProcess  # noqa: E402

DAG_ID = "elastic_jobs_tutorial"
RESOURCE_GROUP = "elastic-jobs-tutorial"
ADMIN_LOGIN = "tutorialadmin"
_TASK_END = re.compile(r"\[DAG TEST\] end task task_id=(\S+)")
_NEW_STATE = re.compile(r"new_state=(\w+)")
_PROGRESS = re.compile(r"(step \d+ '.*?': \d+/\d+ targets succeeded.*?)\s+\[")


class ProgressFilter:
    """Turns the verbose output of ``airflow dags test`` into one line per finished task and the
    provider's per-step progress lines."""

    def __init__(self) -> None:
        self._state = "?"

    def feed(self, line: str) -> str | None:
        """The line to show for one output line, or ``None``."""
        if state := _NEW_STATE.search(line):
            self._state = state.group(1)
        elif task := _TASK_END.search(line):
            return f"{task.group(1)}: {self._state}"
        elif progress := _PROGRESS.search(line):
            return f"  {progress.group(1)}"
        elif line.startswith("airflow.sdk.exceptions.") or line.startswith("  - "):
            return line.rstrip()
        return None


def random_password() -> str:
    """A password that satisfies Azure SQL's complexity rules (upper, lower, digit, symbol)."""
    return f"Demo-{secrets.token_urlsafe(12)}-7a!"


def connection_env(emulator: EmulatorProcess, names: DemoNames) -> dict[str, str]:
    """``AIRFLOW_CONN_*`` variables for every connection the tutorial DAG uses."""
    admin_password = random_password()
    job_password = random_password()
    master_password = random_password()

    def login(user: str, password: str) -> str:
        return json.dumps({"conn_type": "generic", "login": user, "password": password})

    return {
        "AIRFLOW_CONN_AZURE_ELASTIC_JOBS_DEFAULT": emulator.connection_json(
            names.resource_group, names.agent_server, names.agent
        ),
        "AIRFLOW_CONN_ELASTIC_JOBS_SERVER_ADMIN": login(ADMIN_LOGIN, admin_password),
        "AIRFLOW_CONN_ELASTIC_JOBS_MASTERUSER": login("masteruser", master_password),
        "AIRFLOW_CONN_ELASTIC_JOBS_JOBUSER": login("jobuser", job_password),
        "AIRFLOW_CONN_ELASTIC_JOBS_TARGET_SQL": emulator.sql_connection_json(
            names.target_server, ADMIN_LOGIN, admin_password
        ),
    }


def airflow_env(home: Path, connections: dict[str, str]) -> dict[str, str]:
    """A clean environment for Airflow: nothing inherited from the caller's ``AIRFLOW_*`` settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            **connections,
        }
    )
    return env


class Interruption:
    """Signal handling that never unwinds the demo mid-statement (which could orphan a child process).

    SIGINT, SIGTERM and SIGHUP terminate the Airflow child running at that moment and are recorded;
    the demo calls :meth:`check` between its steps and then leaves through its ``finally`` blocks,
    which stop the emulator.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.signum: int | None = None
        self.child: subprocess.Popen[str] | None = None

    def _handle(self, signum: int, _frame: object) -> None:
        self.signum = signum
        if self.child is not None:
            self.child.terminate()

    @contextmanager
    def installed(self) -> Iterator[Interruption]:
        """Handle the signals for the duration."""
        previous = {sig: signal.signal(sig, self._handle) for sig in self.SIGNALS}
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def watch(self, process: subprocess.Popen[str] | None) -> None:
        """Track the running child (``None`` when it ended); terminate it if a signal came first."""
        self.child = process
        if process is not None and self.signum is not None:
            process.terminate()

    def check(self) -> None:
        """Leave the demo (through its ``finally`` blocks) if a signal arrived."""
        if self.signum is not None:
            print(f"\nInterrupted ({signal.Signals(self.signum).name}); stopping.", flush=True)
            raise SystemExit(128 + self.signum)


def run_airflow(
    args: list[str], env: dict[str, str], log_path: Path, interruption: Interruption, *, show_progress: bool
) -> int:
    """Run ``python -m airflow <args>``; its output goes to ``log_path``, progress lines to stdout."""
    with log_path.open("a") as log:
        log.write(f"$ airflow {' '.join(args)}\n")
        log.flush()
        process = subprocess.Popen(
            [sys.executable, "-m", "airflow", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
        )
        interruption.watch(process)
        try:
            assert process.stdout is not None
            progress = ProgressFilter()
            for line in process.stdout:
                log.write(line)
                shown = progress.feed(line) if show_progress else None
                if shown:
                    print("   ", shown, flush=True)
            return process.wait()
        finally:
            interruption.watch(None)
            if process.poll() is None:
                process.kill()
                process.wait()


def print_tail(path: Path, lines: int = 60) -> None:
    """Show the end of a log file (after a failure)."""
    text = path.read_text(errors="replace").splitlines() if path.exists() else []
    print(f"--- last {lines} lines of {path} ---")
    print("\n".join(text[-lines:]))


def run_demo(workdir: Path, names: DemoNames, interruption: Interruption) -> int:
    """Start the emulator, run the DAG, print the report; the emulator is stopped before returning."""
    emulator = EmulatorProcess(workdir / "emulator-state", token=secrets.token_hex(24))
    log_path = workdir / "airflow.log"
    print("1/4 Starting the Elastic Jobs emulator ...", flush=True)
    emulator.start()
    pid = emulator.pid
    pid_file = os.environ.get("ELASTICJOBS_DEMO_PIDFILE")
    if pid_file:
        Path(pid_file).write_text(str(pid))
    try:
        interruption.check()
        print(f"    {emulator.url} (pid {pid}, state in {emulator.state_dir})", flush=True)
        env = airflow_env(workdir / "airflow-home", connection_env(emulator, names))
        print("2/4 Creating a throwaway Airflow home and its metadata database ...", flush=True)
        migrated = run_airflow(["db", "migrate"], env, log_path, interruption, show_progress=False)
        interruption.check()
        if migrated != 0:
            print_tail(log_path)
            return 1
        print(f"3/4 Running the tutorial DAG with `airflow dags test {DAG_ID}` ...", flush=True)
        started = time.monotonic()
        conf = json.dumps(names.dag_conf())
        status = run_airflow(
            ["dags", "test", DAG_ID, "--conf", conf], env, log_path, interruption, show_progress=True
        )
        interruption.check()
        print(f"    finished in {time.monotonic() - started:.0f} s with exit status {status}", flush=True)
        if status != 0:
            print_tail(log_path)
            print(
                f"\nDEMO FAILED: the DAG run failed; the failing task is above, the whole log in {log_path}"
            )
            return 1
        print("4/4 Result", flush=True)
        report = collect_report(emulator, names, env)
        print_report(report)
        if not report.ok:
            print(
                f"\nDEMO FAILED: the outcome differs from the tutorial's (PROBLEM lines); log in {log_path}"
            )
            return 1
        print("\nDEMO OK: the tutorial ran end to end as an Airflow DAG against the local emulator.")
        return 0
    finally:
        emulator.stop()
        print(f"Emulator stopped (pid {pid}).", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Parse options, run the demo in a temporary directory, clean up."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, state)")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="elasticjobs-demo-"))
    names = DemoNames(resource_group=RESOURCE_GROUP)
    status = 1
    try:
        with Interruption().installed() as interruption:
            status = run_demo(workdir, names, interruption)
    finally:
        if args.keep or status != 0:
            print(f"Kept {workdir} (emulator state, Airflow home and airflow.log).")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
