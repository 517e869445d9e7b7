"""Finding and signalling the processes of the deployment: a running task's, each triggerer's.

The task process is the one Airflow records as the task instance's ``pid`` (the forked task runner);
its parent is the LocalExecutor's supervisor. A triggerer is its ``airflow triggerer`` process (the
stack's component) with two children: its log server and the trigger runner that runs the triggers.
Linux ``/proc`` only.
"""

from __future__ import annotations

import contextlib
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


def _parents() -> dict[int, int]:
    """The parent of every process now running."""
    found: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(FileNotFoundError, ProcessLookupError, IndexError, ValueError):
                found[int(entry.name)] = parent(int(entry.name))
    return found


def children(pid: int) -> list[int]:
    """Direct children of ``pid``."""
    return [child for child, of in _parents().items() if of == pid]


def start_time(pid: int) -> int:
    """When the process started (clock ticks since boot): with the pid, it names one process even
    after the pid is reused."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])


def descendants(pid: int) -> dict[int, int]:
    """Every live descendant of ``pid`` (children, their children, ...) with its :func:`start_time`."""
    parents = _parents()
    found: dict[int, int] = {}
    frontier = [pid]
    while frontier:
        kids = [child for child, of in parents.items() if of in frontier]
        for child in kids:
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                found[child] = start_time(child)
        frontier = kids
    return found


def still_running(processes: dict[int, int]) -> list[int]:
    """The pids of ``processes`` (pid → :func:`start_time`) that are the same process and alive."""
    left = []
    for pid, began in processes.items():
        with contextlib.suppress(FileNotFoundError, ProcessLookupError, IndexError):
            if alive(pid) and start_time(pid) == began:
                left.append(pid)
    return left


def mentioning(text: str) -> list[int]:
    """Processes whose command line or environment contains ``text`` (e.g. a state directory): they
    are found even after their parent died and they were re-parented."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            with contextlib.suppress(FileNotFoundError, ProcessLookupError, PermissionError):
                if any(text.encode() in (entry / part).read_bytes() for part in ("cmdline", "environ")):
                    found.append(int(entry.name))
    return [pid for pid in found if alive(pid)]


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
