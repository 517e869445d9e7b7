"""``python -m scripts.stack`` as a person runs it (what ``bash scripts/stack.sh`` execs): its own stack,
not the session's, in a temporary state directory with one triggerer.

It must print the UI URL and login, serve the tutorial DAG through the REST API with that login,
and on Ctrl-C (SIGINT to the command; its components run in sessions of their own, as they do under
a terminal) say that it stops, exit 0 and leave none of the processes it started running.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.stack.api import AirflowApi
from scripts.stack.local_stack import ROOT, TUTORIAL_DAG_ID
from scripts.stack.postgres import unavailable
from tests.deployment.client import wait_until
from tests.deployment.processes import command_line, descendants, mentioning, still_running

pytestmark = pytest.mark.timeout(900)

READY_LINE = re.compile(r"Airflow UI:\s+(?P<url>http://\S+?)/?\s+login (?P<user>\S+) / (?P<password>\S+)")
#: The command's own bound for a start is 180 s plus up to 300 s of ``db migrate``; a busy 2-core
#: machine needs a fraction of that.
START_TIMEOUT = 480
STOP_TIMEOUT = 180


def _ready(output: Path, command: subprocess.Popen[bytes]) -> re.Match[str] | None:
    """The UI line once printed; fails with the output when the command exited before it."""
    text = output.read_text(errors="replace")
    found = READY_LINE.search(text)
    if found is None and command.poll() is not None:
        raise AssertionError(
            f"the stack command exited with {command.returncode} before the UI line:\n{text}"
        )
    return found


def test_the_stack_command_serves_the_tutorial_dag_and_stops_everything_on_ctrl_c(tmp_path: Path) -> None:
    """UI line → REST API lists the tutorial DAG → SIGINT → "stopping", "Stopped.", exit 0, nothing left."""
    missing = unavailable()
    if missing:
        pytest.skip(f"the stack needs PostgreSQL: {missing}")
    output = tmp_path / "stack-command.out"
    state_dir = tmp_path / "state"
    argv = [sys.executable, "-m", "scripts.stack", "--state-dir", str(state_dir), "--triggerers", "1"]
    with output.open("wb") as out:
        command = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT
        )
    try:
        ready = wait_until(lambda: _ready(output, command), START_TIMEOUT, "the stack's UI URL line", 1)
        with AirflowApi(ready["url"], ready["user"], ready["password"]) as api:
            assert TUTORIAL_DAG_ID in api.dag_ids()
        started = descendants(command.pid)
        names = {pid: command_line(pid) for pid in started}
        # PostgreSQL, the emulator, api-server, scheduler, dag-processor, one triggerer, and their children.
        assert len(started) >= 6, names
        assert mentioning(str(state_dir)), "the check below would find nothing"
        command.send_signal(signal.SIGINT)
        status = command.wait(timeout=STOP_TIMEOUT)
    finally:
        if command.poll() is None:  # failed before the stop: let the command stop its stack
            command.terminate()
            command.wait(timeout=STOP_TIMEOUT)
    text = output.read_text(errors="replace")
    assert status == 0, text
    assert "SIGINT: stopping ..." in text, text
    assert text.rstrip().endswith("Stopped."), text
    left = still_running(started)
    assert not left, {pid: names[pid] for pid in left}
    # Also those started after the snapshot or re-parented before it: every Airflow component has
    # the state directory in its environment (AIRFLOW_HOME), the emulator in its command line.
    strays = mentioning(str(state_dir))
    assert not strays, {pid: command_line(pid) for pid in strays}
