"""The tutorial DAG end to end through Airflow against the emulator, and the one-command demo.

The first run must leave exactly the tutorial's outcome: Step1Table in TargetDb1 and TargetDb2,
Step2Table only in TargetDb1 (step2's group is the server minus TargetDb2), and Job1 on an enabled
hourly agent-side schedule. A second run with ``cleanup`` removes everything it created.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.core.exceptions import ResourceNotFoundError

from tests.dags.harness import TutorialWorld, failed_tasks, load_example_dag, run_dag, tutorial_world
from tests.integration.provider.execution_support import xcom
from tests.support.demo import DEMO_COMMAND, ROOT, demo_env, kept_demo_run

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

DAG_ID = "elastic_jobs_tutorial"


@pytest.fixture(scope="module")
def world(emulator, airflow_db) -> Iterator[TutorialWorld]:
    """Connections for fresh names in the shared emulator."""
    with tutorial_world(emulator) as built:
        yield built


@pytest.fixture(scope="module")
def first_run(world: TutorialWorld) -> object:
    """The tutorial DAG run once (no cleanup)."""
    dag_run = run_dag(load_example_dag(DAG_ID), world.names.dag_conf())
    assert dag_run.state == "success", failed_tasks(dag_run)
    return dag_run


def test_step1_table_everywhere_step2_table_everywhere_but_db2(world: TutorialWorld, first_run) -> None:
    """TargetDb1 gets both tables; TargetDb2, excluded from step2's group, only Step1Table."""
    tables = world.tables()
    assert {"Step1Table", "Step2Table"} <= set(tables["TargetDb1"])
    assert "Step1Table" in tables["TargetDb2"]
    assert "Step2Table" not in tables["TargetDb2"]


def test_per_step_and_per_target_executions_are_reported(world: TutorialWorld, first_run) -> None:
    """The monitoring task's XCom counts step1 on two databases and step2 on one, all Succeeded."""
    per_step = xcom(first_run, "show_step_and_target_executions")
    assert per_step == {"step1": {"Succeeded": 2}, "step2": {"Succeeded": 1}}
    execution_id = xcom(first_run, "start_job1")["execution_id"]
    with world.emulator.management_client() as client:
        execution = client.job_executions.get(*world.agent_args(), "Job1", execution_id)
        targets = client.job_target_executions.list_by_job_execution(
            *world.agent_args(), "Job1", execution_id
        )
        ran = sorted(
            (t.properties.step_name, t.properties.target.database_name)
            for t in targets
            if t.properties.target.database_name
        )
    assert execution.properties.lifecycle == "Succeeded"
    assert ran == [("step1", "TargetDb1"), ("step1", "TargetDb2"), ("step2", "TargetDb1")]


def test_job1_is_scheduled_hourly_afterwards(world: TutorialWorld, first_run) -> None:
    """``Set-AzSqlElasticJob -IntervalType Hour -IntervalCount 1 -Enable``: Recurring, PT1H, enabled."""
    with world.emulator.management_client() as client:
        schedule = client.jobs.get(*world.agent_args(), "Job1").properties.schedule
    assert (schedule.type, schedule.interval, schedule.enabled) == ("Recurring", "PT1H", True)
    assert schedule.start_time is not None


def test_no_password_reaches_xcom_or_the_emulator_log(world: TutorialWorld, first_run) -> None:
    """The admin, masteruser and jobuser passwords are in no XCom of the run and not in the emulator log."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    passwords = [
        world.login(f"AIRFLOW_CONN_ELASTIC_JOBS_{name}")[1]
        for name in ("SERVER_ADMIN", "MASTERUSER", "JOBUSER")
    ]
    with create_session() as session:
        rows = session.query(XComModel).filter_by(dag_id=first_run.dag_id, run_id=first_run.run_id).all()
        values = " ".join(str(XComModel.deserialize_value(row)) for row in rows)
    assert "create_target_logins_and_users" in {row.task_id for row in rows}
    emulator_log = world.emulator.log_text()
    for password in passwords:
        assert password not in values
        assert password not in emulator_log


def test_cleanup_run_removes_everything(world: TutorialWorld, first_run) -> None:
    """A run with ``cleanup`` deletes job, groups, credentials, agent and both servers."""
    dag_run = run_dag(load_example_dag(DAG_ID), world.names.dag_conf(cleanup=True))
    assert dag_run.state == "success", failed_tasks(dag_run)
    names = world.names
    rg = names.resource_group
    with world.emulator.management_client() as client:
        gone = [
            lambda: client.jobs.get(*world.agent_args(), "Job1"),
            lambda: client.job_target_groups.get(*world.agent_args(), "ServerGroup"),
            lambda: client.job_target_groups.get(*world.agent_args(), "ServerGroupExcludingDb2"),
            lambda: client.job_credentials.get(*world.agent_args(), "masteruser"),
            lambda: client.job_credentials.get(*world.agent_args(), "jobuser"),
            lambda: client.job_agents.get(*world.agent_args()),
            lambda: client.databases.get(rg, names.target_server, "TargetDb1"),
            lambda: client.databases.get(rg, names.target_server, "TargetDb2"),
            lambda: client.databases.get(rg, names.agent_server, names.job_database),
            lambda: client.servers.get(rg, names.target_server),
            lambda: client.servers.get(rg, names.agent_server),
        ]
        for i, get in enumerate(gone):
            with pytest.raises(ResourceNotFoundError):
                get()
                pytest.fail(f"resource #{i} still exists after cleanup")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _processes_mentioning(text: str) -> list[int]:
    """Pids whose command line or environment contains ``text`` (Linux ``/proc``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            blob = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if text.encode() in blob:
            found.append(int(entry.name))
    return found


PASSWORD = re.compile(r"Demo-[\w-]{16}-7a!")  # scripts/demo.py's random_password()


@pytest.mark.timeout(420)
def test_demo_script_runs_the_tutorial_and_stops_the_emulator() -> None:
    """``scripts/demo.py`` (the demo after installation): exit 0, per-target table, nothing left running,
    no password in its output, the Airflow log or the emulator log."""
    with kept_demo_run(timeout=400) as run:
        out = run.stdout
        assert run.returncode == 0, out[-4000:] + run.stderr[-4000:]
        assert re.search(r"TargetDb1\s+yes\s+yes", out), out
        assert re.search(r"TargetDb2\s+yes\s+-", out), out
        assert re.search(r"step2\s+\S+\s+TargetDb1\s+Succeeded", out), out
        assert "type=Recurring, interval=PT1H, enabled=True" in out
        assert "DEMO OK" in out
        pid = int(re.search(r"\(pid (\d+), state in", out).group(1))
        assert not _alive(pid), f"emulator pid {pid} still running after the demo"
        airflow_log = (run.workdir / "airflow.log").read_text(errors="replace")
        assert "create_target_logins_and_users" in airflow_log
        for text in (out, run.stderr, airflow_log, run.emulator_log()):
            assert not PASSWORD.search(text), "a generated password was printed or logged"


@pytest.mark.timeout(180)
@pytest.mark.parametrize("stage", ["2/4", "3/4"], ids=["during-db-migrate", "during-dags-test"])
def test_demo_interrupted_leaves_nothing_running(stage: str) -> None:
    """SIGTERM while Airflow runs: demo.py stops Airflow and the emulator and exits non-zero."""
    demo = subprocess.Popen(
        DEMO_COMMAND,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env=demo_env(),
    )
    assert demo.stdout is not None
    lines = []
    for line in demo.stdout:
        lines.append(line)
        if line.startswith(stage):
            break
    started = re.search(r"\(pid (\d+), state in (\S+)/emulator-state\)", "".join(lines))
    assert started, "".join(lines)
    emulator_pid, workdir = int(started.group(1)), started.group(2)
    assert _processes_mentioning(workdir), "expected the emulator and Airflow to be running"
    demo.terminate()
    rest = demo.communicate(timeout=60)[0]
    assert demo.returncode != 0
    assert "Emulator stopped" in rest
    assert not _alive(emulator_pid)
    assert _processes_mentioning(workdir) == []
    assert f"Kept {workdir}" in rest  # kept for diagnosis after a failure; nothing else to clean up
    shutil.rmtree(workdir)


@pytest.mark.timeout(1800)
@pytest.mark.skipif(
    os.environ.get("ELASTICJOBS_TEST_DEMO_SH") != "1",
    reason="installs a fresh venv from the package index (minutes); set ELASTICJOBS_TEST_DEMO_SH=1 to run",
)
def test_demo_sh_from_a_fresh_clone(tmp_path: Path) -> None:
    """``bash scripts/demo.sh`` in a fresh clone with a new ``.venv``: installs, runs, prints, exits 0."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "ELASTICJOBS_", "VIRTUAL_ENV"))
    }
    result = subprocess.run(
        ["bash", "scripts/demo.sh"], cwd=clone, env=env, capture_output=True, text=True, timeout=1700
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert (clone / ".venv" / "bin" / "python").exists()
    assert re.search(r"TargetDb2\s+yes\s+-", result.stdout)
    assert "DEMO OK" in result.stdout
