"""One local deployment (``scripts/stack.sh``'s ``LocalStack``) for every test in tests/deployment.

The stack is started once per session and stopped after the session's last deployment test, with
``tests/deployment/dags`` as a second DAG bundle and DAGs paused until a test triggers one. Without
PostgreSQL's binaries the folder is skipped, with the reason, except under CI (``CI`` set), where
that is a failure: scripts/test.sh installs PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.stack import LocalStack
from scripts.stack.postgres import unavailable
from tests.dags.harness import TutorialWorld
from tests.deployment.client import DeploymentApi
from tests.integration.executions_world import World
from tests.support.emulator import EmulatorProcess, unique_name

DAGS = Path(__file__).parent / "dags"
LOG_TAIL_LINES = 60
_STARTED: dict[str, LocalStack] = {}  # the running stack: for the failure report, stopped after the last test


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of this folder is a deployment test."""
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.deployment)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    """On a failed deployment test, attach the tail of each component's log and of the task logs
    written during the test: CI keeps no state directory, so this is the post-mortem."""
    report: pytest.TestReport = yield
    deployment = getattr(item, "funcargs", {}).get("stack") or _STARTED.get("stack")
    if report.failed and call.when == "call" and deployment is not None:
        began = call.start
        logs = sorted(deployment.logs.glob("*.log"))
        if deployment.settings is not None:
            task_logs = (deployment.settings.home / "logs").glob("dag_id=*/**/*.log")
            logs += sorted(p for p in task_logs if p.stat().st_mtime >= began)
        for log in logs:
            lines = log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
            report.sections.append((f"log {log.name}", "\n".join(lines)))
    return report


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Stop the stack after the session's last deployment test, not at the session's end: left
    running, its idle scheduler, api-server, dag-processor and triggerers took about a third of a
    core from every later test (``ps`` during a full run). Stopping twice is harmless, so the
    fixture's own teardown stays as it is."""
    deployment = _STARTED.get("stack")
    if deployment is None or any(later.get_closest_marker("deployment") for later in _after(item)):
        return
    del _STARTED["stack"]
    deployment.stop()


def _after(item: pytest.Item) -> list[pytest.Item]:
    """The session's items that run after ``item``."""
    items = item.session.items
    return items[items.index(item) + 1 :]


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The running deployment: PostgreSQL, emulator, api-server, scheduler, dag-processor, 2 triggerers."""
    missing = unavailable()
    if missing:
        pytest.skip(f"deployment tests need PostgreSQL: {missing}")
    # DAGs stay paused until a test triggers them (DeploymentApi.trigger unpauses): the example DAGs'
    # schedules would otherwise run against names this session never created.
    deployment = LocalStack(tmp_path_factory.mktemp("stack"), dag_folders=[DAGS])
    began = time.monotonic()
    with deployment:
        _STARTED["stack"] = deployment
        print(f"\nlocal stack up in {time.monotonic() - began:.1f} s: {deployment.timings}")
        yield deployment


@pytest.fixture(scope="session")
def airflow_api(stack: LocalStack) -> Iterator[DeploymentApi]:
    """The REST API (``/api/v2``) of the stack's api-server, logged in as admin."""
    with DeploymentApi(stack.api_url, *stack.login) as api:
        yield api


@pytest.fixture(scope="session")
def stack_emulator(stack: LocalStack) -> EmulatorProcess:
    """The stack's emulator: SDK clients, ``counters()``, faults, the SQL data plane."""
    return stack.emulator


@pytest.fixture(scope="session")
def tutorial_world(stack: LocalStack) -> TutorialWorld:
    """The names and connections the stack gave the tutorial DAG (tables, SQL as the server admin)."""
    return TutorialWorld(stack.emulator, stack.names, stack.connections)


@pytest.fixture(scope="session")
def agent_world(stack: LocalStack) -> Iterator[World]:
    """A resource group of its own with servers, TargetDb1/2, a Ready agent and the job credentials
    in the stack's emulator; scenario tests keep apart by their job names (tests/deployment/scenario.py)."""
    with stack.emulator.management_client() as client:
        yield World(stack.emulator, client, unique_name("rg")).build()
