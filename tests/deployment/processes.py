"""Finding and signalling the processes of the deployment: a running task's, each triggerer's.

The task process is the one Airflow records as the task instance's ``pid`` (the forked task runner);
its parent is the LocalExecutor's supervisor. A triggerer is its ``airflow triggerer`` process (the
stack's component) with two children: its log server and the trigger runner that runs the triggers.
Linux ``/proc`` only.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tests.deployment.client import wait_until

if TYPE_CHECKING:
    from scripts.stack import LocalStack
    from tests.deployment.client import DeploymentApi


def alive(pid: int) -> bool:
    """Whether the process exists (and is not a zombie)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def parent(pid: int) -> int:
    """The parent process id."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def command_line(pid: int) -> str:
    """The process's command line (or its process title), spaces between arguments."""
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()


def children(pid: int) -> list[int]:
    """Direct children of ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if parent(int(entry.name)) == pid:
                    found.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
                continue
    return found


def send(pid: int, sig: int) -> None:
    """Send ``sig`` (SIGTERM, SIGKILL, SIGSTOP, SIGCONT...) to one process."""
    os.kill(pid, sig)


@dataclass(frozen=True)
class TaskProcess:
    """A running task instance's processes: the task runner (``pid``) and its supervisor."""

    pid: int
    supervisor_pid: int

    def signal(self, sig: int, *, supervisor: bool = False) -> None:
        """Signal the task runner (or its supervisor)."""
        send(self.supervisor_pid if supervisor else self.pid, sig)


def task_process(
    api: DeploymentApi, dag_id: str, run_id: str, task_id: str, map_index: int = -1, timeout: float = 120.0
) -> TaskProcess:
    """Wait until the task instance runs with a live recorded ``pid``; return it and its supervisor's."""

    def running() -> TaskProcess | None:
        ti = api.task_instance(dag_id, run_id, task_id, map_index)
        if ti["state"] == "running" and ti.get("pid") and alive(ti["pid"]):
            return TaskProcess(ti["pid"], parent(ti["pid"]))
        return None

    return wait_until(running, timeout, f"{dag_id}/{run_id}/{task_id}[{map_index}] running with a pid", 0.2)


def triggerer_pid(stack: LocalStack, index: int) -> int:
    """The ``airflow triggerer`` process of triggerer ``index``."""
    return stack.pid(stack.triggerer_name(index))


def trigger_runner_pid(stack: LocalStack, index: int, timeout: float = 30.0) -> int:
    """The child of triggerer ``index`` that runs the triggers (not its log server)."""

    def runner() -> int | None:
        kids = [p for p in children(triggerer_pid(stack, index)) if "serve-logs" not in command_line(p)]
        return kids[0] if len(kids) == 1 else None

    return wait_until(runner, timeout, f"the trigger runner of triggerer {index}")


def signal_triggerer(stack: LocalStack, index: int, sig: int = signal.SIGTERM, *, group: bool = True) -> None:
    """Signal triggerer ``index``: its whole process group (default) or only its main process."""
    stack.signal(stack.triggerer_name(index), sig, group=group)


@dataclass(frozen=True)
class RunningTrigger:
    """A deferred task instance's trigger as a triggerer runs it: the trigger and triggerer job ids."""

    trigger_id: int
    triggerer_job_id: int
    log: Path


def trigger_log_files(stack: LocalStack, dag_id: str, run_id: str, task_id: str) -> list[Path]:
    """The trigger log files (``*.log.trigger.<triggerer job id>.log``) of a task instance, every try."""
    assert stack.settings is not None, "the stack is not started"
    folder = stack.settings.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
    return sorted(folder.glob("**/*.log.trigger.*.log"))


def running_trigger(
    api: DeploymentApi, stack: LocalStack, dag_id: str, run_id: str, task_id: str, timeout: float = 60.0
) -> RunningTrigger:
    """Wait until a triggerer runs the deferred task's trigger: assigned to a live triggerer job and
    writing the trigger's log. Before that moment nothing watches the execution: a task marked failed
    then loses its trigger before any ``on_kill`` could run (docs/reliability.md)."""

    def running() -> RunningTrigger | None:
        ti = api.task_instance(dag_id, run_id, task_id)
        trigger, job = ti.get("trigger"), ti.get("triggerer_job")
        if ti["state"] != "deferred" or not trigger or not job or job.get("state") != "running":
            return None
        logs = [
            p
            for p in trigger_log_files(stack, dag_id, run_id, task_id)
            if p.name.endswith(f".trigger.{job['id']}.log") and p.stat().st_size
        ]
        return RunningTrigger(trigger["id"], job["id"], logs[0]) if logs else None

    return wait_until(running, timeout, f"a triggerer to run the trigger of {dag_id}/{run_id}/{task_id}", 0.3)
