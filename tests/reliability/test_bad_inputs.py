"""The bad-input catalog (docs/reliability.md), end to end through Airflow, and ``docs/errors.md`` in sync.

Parse-stage cases are DAG files that Airflow's ``DagBag`` fails to import. Every other case is one task
of a single DAG run with ``dag.test()`` against the emulator, each task followed by a snapshot task
(``trigger_rule="all_done"``) that records the emulator's write-request counter and the definitions
that exist, so each case is checked on its own: the task failed; its error names the field and the
fix; a ``local`` case sent no PUT/POST/PATCH/DELETE; no case left anything half-created.

``docs/errors.md`` holds the table generated from :mod:`tests.reliability.bad_input_cases` and the
messages observed here; the test fails when the two differ. After a deliberate change of a message,
regenerate the table with ``ELASTICJOBS_WRITE_ERRORS_DOC=1 pytest tests/reliability/test_bad_inputs.py``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airflow_elasticjobs.operators.target_setup import ElasticJobsTargetSetupOperator
from tests.integration.executions_world import ADMIN, ADMIN_PASSWORD, JOB_PASSWORD, World, fast_options
from tests.integration.provider.execution_support import connection_json, run_dag, task_instance, xcom
from tests.reliability.bad_input_cases import (
    CASES,
    LOCAL,
    PARSE,
    PARSE_CASES,
    RUNTIME_CASES,
    STAGE_TEXT,
    Case,
    Ctx,
)
from tests.support.definitions import create_server
from tests.support.emulator import EmulatorProcess, unique_name

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

DOC = Path(__file__).resolve().parents[2] / "docs" / "errors.md"
BEGIN, END = "<!-- bad-inputs:begin -->", "<!-- bad-inputs:end -->"
WRITE_DOC = os.environ.get("ELASTICJOBS_WRITE_ERRORS_DOC") == "1"
WRITE_METHODS = ("PUT ", "POST ", "PATCH ", "DELETE ")
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Timeout)\w*: (?P<msg>.*)$")
_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT|^Traceback|^\s+File |^During handling|^The above exception")
_PARSE_DAG = """
from airflow.sdk import DAG
from airflow_elasticjobs.operators.agent import ElasticJobsAgentOperator
from airflow_elasticjobs.operators.credential import ElasticJobsCredentialOperator
from airflow_elasticjobs.operators.execution import ElasticJobsStartJobOperator
from airflow_elasticjobs.operators.job import ElasticJobsJobOperator
from airflow_elasticjobs.operators.schedule import ElasticJobsScheduleOperator
from airflow_elasticjobs.operators.server import ElasticJobsServerOperator
from airflow_elasticjobs.operators.target_group import ElasticJobsTargetGroupOperator

STEP = {step!r}
with DAG("parse_{name}", schedule=None):
    {code}
"""


@dataclass
class Outcome:
    """What one case produced."""

    full: str  # the final exception's message, continuation lines included (the catalog's error text)
    state: str = "failed"
    writes: int = 0
    changed: list[str] | None = None


# -- the world ------------------------------------------------------------------------------------
def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _reader_connection(world: World) -> str:
    """A connection authenticating as a ``reader`` service principal (the emulator answers 403 to its
    writes like ARM does for an identity whose role does not allow them)."""
    client_id, secret = unique_name("reader"), f"Reader-Secret-{uuid.uuid4().hex}"
    world.emulator.register_principal(client_id, secret, role="reader")
    return world.emulator.service_principal_connection_json(
        client_id, secret, world.rg, world.agent_server, world.agent, retry_total=0
    )


def _connections(world: World, busy: World) -> dict[str, str]:
    """Every connection the cases use, as ``AIRFLOW_CONN_*`` variables."""
    good = json.loads(connection_json(world, retry_total=0))
    extra = good["extra"]

    def variant(**changes: Any) -> str:
        new_extra = {k: v for k, v in {**extra, **changes}.items() if v is not None}
        return json.dumps({"conn_type": "azure_elastic_jobs", "extra": new_extra})

    def login(user: str, password: str | None) -> str:
        return json.dumps({"conn_type": "generic", "login": user, "password": password})

    conns = {
        "bad_inputs": json.dumps(good),
        "bad_generic": login("someone", "Some-Passw0rd!"),
        "bad_no_subscription": variant(subscription_id=None),
        "bad_endpoint": variant(endpoint="not a url"),
        "bad_token_to_azure": variant(endpoint=None),
        "bad_ca_bundle": variant(verify="/nonexistent/emulator-ca.pem"),
        "bad_no_agent": variant(agent_name=None),
        "bad_unreachable": variant(endpoint=f"https://127.0.0.1:{_closed_port()}"),
        "bad_untrusted": variant(verify=None),
        "bad_token": variant(token="not-the-token"),
        "bad_forbidden": _reader_connection(world),
        "bad_busy_agent": connection_json(busy, retry_total=0),
        "bad_login_only": login("someone", None),
        "bad_jobuser": login("jobuser", JOB_PASSWORD),
        "bad_sql": world.emulator.sql_connection_json(world.target_server, ADMIN, ADMIN_PASSWORD),
        "bad_sql_wrong_password": world.emulator.sql_connection_json(
            world.target_server, ADMIN, "Not-The-Passw0rd!"
        ),
    }
    return {f"AIRFLOW_CONN_{name.upper()}": value for name, value in conns.items()}


@pytest.fixture(scope="module")
def busy_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    """A second emulator whose agents stay ``Creating`` for a minute (the not-Ready case)."""
    with EmulatorProcess(tmp_path_factory.mktemp("busy-emulator"), agent_provisioning_seconds=60) as process:
        yield process


def _busy_world(emulator: EmulatorProcess) -> World:
    with emulator.management_client() as client:
        world = World(emulator, client, unique_name("rg"))
        create_server(client, world.rg, world.agent_server, admin_login=ADMIN, admin_password=ADMIN_PASSWORD)
        world.create_database(world.agent_server, "JobDatabase")
        job_db = emulator.arm_path(world.rg, "servers", world.agent_server, "databases", "JobDatabase")
        client.job_agents.begin_create_or_update(  # not waited for: the agent stays Creating
            world.rg,
            world.agent_server,
            world.agent,
            {"location": "westus2", "properties": {"databaseId": job_db}},
        )
    return world


def definitions(world: World) -> list[str]:
    """Every definition that exists in the world's resource group, as sorted descriptions."""
    client, rg, agent = world.client, world.rg, (world.rg, world.agent_server, world.agent)
    found = []
    for server in client.servers.list_by_resource_group(rg):
        found.append(f"server {server.name}")
        found += [
            f"database {server.name}/{d.name}" for d in client.databases.list_by_server(rg, server.name)
        ]
        found += [f"agent {server.name}/{a.name}" for a in client.job_agents.list_by_server(rg, server.name)]
    found += [f"credential {c.name}" for c in client.job_credentials.list_by_agent(*agent)]
    found += [f"target group {g.name}" for g in client.job_target_groups.list_by_agent(*agent)]
    for job in client.jobs.list_by_agent(*agent):
        found.append(f"job {job.name}")
        found += [f"step {job.name}/{s.name}" for s in client.job_steps.list_by_job(*agent, job.name)]
    return sorted(found)


def write_requests(emulator: EmulatorProcess) -> int:
    """PUT/POST/PATCH/DELETE requests the (main) emulator has seen on ARM paths."""
    return sum(n for key, n in emulator.counters().items() if key.startswith(WRITE_METHODS))


def _runtime_dag(ctx: Ctx, world: World, busy: World) -> Any:
    from airflow.sdk import DAG, task

    @task(trigger_rule="all_done")
    def snapshot() -> dict[str, Any]:
        return {
            "writes": write_requests(world.emulator),
            "definitions": definitions(world) + definitions(busy),
        }

    with DAG(unique_name("bad_inputs").replace("-", "_"), schedule=None) as dag:
        previous = snapshot.override(task_id="snapshot_start")()
        for case in RUNTIME_CASES:
            assert case.make is not None
            operator, kwargs = case.make(ctx)
            if "elastic_jobs_conn_id" not in kwargs and operator is not ElasticJobsTargetSetupOperator:
                kwargs["elastic_jobs_conn_id"] = ctx.conn
            step = operator(task_id=case.id, trigger_rule="all_done", retries=0, **kwargs)
            after = snapshot.override(task_id=f"snapshot_{case.id}")()
            previous >> step >> after
            previous = after
    return dag


def _segments(output: str, case_ids: list[str]) -> dict[str, str]:
    """The captured output of each case's task: the tasks run one after the other, each case between
    the snapshot task before it and its own snapshot task."""
    marks = [output.find(f"task_id='snapshot_{name}'") for name in ["start", *case_ids]]
    return {case_id: output[marks[i] : marks[i + 1]] for i, case_id in enumerate(case_ids)}


def final_exception(text: str) -> str:
    """The message of the last exception printed in ``text``, continuation lines joined ("" if none)."""
    lines = text.splitlines()
    for i in range(len(lines) - 1, -1, -1):
        match = _EXCEPTION.match(lines[i])
        if match:
            rest = []
            for line in lines[i + 1 :]:
                if not line.strip() or _LOG_LINE.match(line):
                    break
                rest.append(line.strip())
            return " ".join([match.group("msg").strip(), *rest])
    return ""


@pytest.fixture(scope="module")
def outcomes(
    emulator: EmulatorProcess, busy_emulator: EmulatorProcess, airflow_db: Path, tmp_path_factory
) -> dict[str, Outcome]:
    """Run every case once; the outcome of each, by case id."""
    results = _parse_outcomes(tmp_path_factory.mktemp("parse-dags"))
    busy = _busy_world(busy_emulator)
    with emulator.management_client() as client, busy_emulator.management_client() as busy_client:
        busy.client = busy_client
        world = World(emulator, client, unique_name("rg")).build()
        group = world.target_group("ServerGroup", [world.database_member("TargetDb1")])
        world.job("Job1", [("s1", group, "SELECT 1", fast_options())])
        world.job("Job2", [("s1", group, "SELECT 1", fast_options())])
        world.job(
            "UnsupportedJob", [("s1", group, "CREATE PROCEDURE p AS SELECT 1", fast_options(retryAttempts=0))]
        )
        execution = world.start("Job1")
        world.wait("Job1", execution.name)
        ctx = Ctx("bad_inputs", world.target_server, "Job1", "Job2", execution.name, "bad_sql", "bad_jobuser")
        output = io.StringIO()
        with pytest.MonkeyPatch.context() as patch:
            for name, value in _connections(world, busy).items():
                patch.setenv(name, value)
            with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
                dag_run = run_dag(_runtime_dag(ctx, world, busy))
        segments = _segments(output.getvalue(), [case.id for case in RUNTIME_CASES])
        previous = xcom(dag_run, "snapshot_start")
        for case in RUNTIME_CASES:
            after = xcom(dag_run, f"snapshot_{case.id}")
            results[case.id] = Outcome(
                final_exception(segments.get(case.id, "")),
                state=str(task_instance(dag_run, case.id).state),
                writes=after["writes"] - previous["writes"],
                changed=sorted(set(after["definitions"]) ^ set(previous["definitions"])),
            )
            previous = after
    return results


def _parse_outcomes(folder: Path) -> dict[str, Outcome]:
    """Write one DAG file per parse case, import them all with a ``DagBag``, read its import errors."""
    from tests.compat.airflow_versions import DagBag
    from tests.reliability.bad_input_cases import STEP

    for case in PARSE_CASES:
        name = case.id.replace("-", "_")
        (folder / f"{name}.py").write_text(_PARSE_DAG.format(step=STEP, name=name, code=case.code))
    bag = DagBag(dag_folder=str(folder))
    results = {}
    for case in PARSE_CASES:
        error = bag.import_errors.get(str(folder / f"{case.id.replace('-', '_')}.py"), "")
        results[case.id] = Outcome(final_exception(error), state="import error" if error else "imported")
    return results


# -- the catalog's rows ---------------------------------------------------------------------------
def test_at_least_forty_bad_inputs() -> None:
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_fails_clearly_and_changes_nothing(case: Case, outcomes: dict[str, Outcome]) -> None:
    """The run fails; the message names the field and the fix; no write (local) and nothing half-made."""
    outcome = outcomes[case.id]
    assert outcome.state == ("import error" if case.stage == PARSE else "failed"), outcome
    assert case.field in outcome.full, f"the field is not named: {outcome.full}"
    assert case.fix in outcome.full, f"the fix is not given: {outcome.full}"
    if case.stage == LOCAL:
        assert outcome.writes == 0, f"{outcome.writes} write request(s) reached ARM before the error"
    assert not outcome.changed, f"left behind: {outcome.changed}"


# -- docs/errors.md ---------------------------------------------------------------------------------
def normalise(text: str) -> str:
    """The message with run-specific names replaced by placeholders, safe inside a table cell."""
    text = re.sub(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "<uuid>", text)
    text = re.sub(r"\b(rg|agentsrv|targetsrv|bad_inputs)[-_][0-9a-f]{8}\b", r"<\1>", text)
    text = re.sub(r"https://127\.0\.0\.1:\d+", "https://127.0.0.1:<port>", text)
    text = re.sub(r"port=\d+", "port=<port>", text)
    text = re.sub(r"/tmp/\S+?/(tls/cert\.pem)", r"<state>/\1", text)
    return text.replace("|", "\\|").strip()


def render_table(outcomes: dict[str, Outcome]) -> str:
    """The Markdown table of every case and the error text it gets."""
    rows = ["| # | bad input | caught at | error text |", "|---|---|---|---|"]
    for number, case in enumerate(CASES, 1):
        text = normalise(outcomes[case.id].full)
        rows.append(f"| {number} | {case.bad_input} (`{case.id}`) | {STAGE_TEXT[case.stage]} | {text} |")
    return "\n".join(rows)


def test_docs_errors_md_lists_every_case_with_its_message(outcomes: dict[str, Outcome]) -> None:
    """docs/errors.md's table is exactly the one these cases produce (regenerate: see module doc)."""
    table = render_table(outcomes)
    if WRITE_DOC:
        head, _, rest = DOC.read_text().partition(BEGIN)
        DOC.write_text(f"{head}{BEGIN}\n{table}\n{END}{rest.partition(END)[2]}")
    current = DOC.read_text().partition(BEGIN)[2].partition(END)[0].strip()
    assert current == table, (
        "docs/errors.md is out of date: ELASTICJOBS_WRITE_ERRORS_DOC=1 pytest " + __file__
    )
