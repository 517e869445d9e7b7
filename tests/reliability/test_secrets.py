"""Secrets (docs/reliability.md): recognisable passwords and tokens never reach any output or storage.

The tutorial DAG and a DAG of the start/sensor/trigger paths (deferred start, poke and deferred
sensors, a failing job, a target setup with a wrong admin password, a deferred sensor authenticated as
a service principal and a task with a wrong client secret) run through real Airflow (``dag.test()``)
against the emulator with canary secrets (``S3cret-Canary-…``): the bearer token, the server admin
password, both job credentials' passwords, a wrong password, a service principal's client secret and
a wrong one. The access tokens the emulator's Entra ID endpoint issued are unknown to the test, so
their shape (``ej1.<payload>.<signature>``) is searched for instead. Then every place a
secret could leak is searched for each canary (raw, URL-encoded and inside HTTP Basic auth):
captured task output and tracebacks, Airflow's log folder, every metadata-database table but
Airflow's own connection store, the emulator's log and every file of its state directory as bytes.
The emulator must still be able to check passwords, so their keyed digests must be there instead.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import re
import sqlite3
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from elasticjobs_emulator.passwords import PasswordHasher
from scripts.demo import connection_env
from scripts.demo_report import DemoNames
from tests.dags.harness import TutorialWorld, load_example_dag, run_dag
from tests.integration.provider.execution_support import task_instance, xcom
from tests.reliability.conftest import canary
from tests.support.emulator import EmulatorProcess, unique_name

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

DAG_ID = "elastic_jobs_tutorial"
# Airflow's own connection store is where a DB-stored connection's password belongs, not a leak.
SECRET_STORES = {"connection", "variable"}
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Timeout)\w*: .+$", re.M)
ISSUED_TOKEN = re.compile(rb"ej1\.[A-Za-z0-9_-]{40,}\.[A-Za-z0-9_-]{40,}")
SP_CONN, SP_WRONG_CONN = "secrets_sp", "secrets_sp_wrong"


@dataclass
class SecretsRun:
    """What one run left behind, and the canaries to look for."""

    world: TutorialWorld
    secrets: dict[str, str]  # what → canary value
    logins: dict[str, str]  # SQL login → its canary password
    output: str
    runs: list[Any]


def _set_password(connection_json: str, password: str) -> str:
    conn = json.loads(connection_json)
    conn["password"] = password
    return json.dumps(conn)


def _canary_connections(emulator: EmulatorProcess, names: DemoNames) -> tuple[dict[str, str], dict[str, str]]:
    """The tutorial's connections with canary passwords; also returns ``{login: password}``."""
    connections = connection_env(emulator, names)
    admin = canary("pw-a")
    passwords = {
        "AIRFLOW_CONN_ELASTIC_JOBS_SERVER_ADMIN": admin,
        "AIRFLOW_CONN_ELASTIC_JOBS_TARGET_SQL": admin,
        "AIRFLOW_CONN_ELASTIC_JOBS_MASTERUSER": canary("pw-m"),
        "AIRFLOW_CONN_ELASTIC_JOBS_JOBUSER": canary("pw-j"),
    }
    logins = {}
    for var, password in passwords.items():
        connections[var] = _set_password(connections[var], password)
        logins[json.loads(connections[var])["login"]] = password
    wrong_admin = {**json.loads(connections["AIRFLOW_CONN_ELASTIC_JOBS_TARGET_SQL"])}
    wrong_admin["password"] = canary("pw-wrong")
    connections["AIRFLOW_CONN_SECRETS_WRONG_ADMIN"] = json.dumps(wrong_admin)
    client_id, client_secret = unique_name("app"), canary("client-secret")
    emulator.register_principal(client_id, client_secret)
    for conn_id, secret in ((SP_CONN, client_secret), (SP_WRONG_CONN, canary("client-secret-wrong"))):
        connections[f"AIRFLOW_CONN_{conn_id.upper()}"] = emulator.service_principal_connection_json(
            client_id, secret, names.resource_group, names.agent_server, names.agent, retry_total=0
        )
    return connections, logins


def _paths_dag(world: TutorialWorld) -> Any:
    """Start deferred, sensors in poke and deferred mode, a failing job, a failing target setup."""
    from airflow.sdk import DAG

    from airflow_elasticjobs.operators.credential import ElasticJobsCredentialOperator
    from airflow_elasticjobs.operators.execution import ElasticJobsStartJobOperator
    from airflow_elasticjobs.operators.job import ElasticJobsJobOperator
    from airflow_elasticjobs.operators.target_setup import ElasticJobsTargetSetupOperator
    from airflow_elasticjobs.sensors.execution import ElasticJobsExecutionSensor

    quick = {"poll_interval": 0.5, "retry_delay": timedelta(0), "trigger_rule": "all_done"}
    on_agent = {"server_name": world.names.agent_server}
    execution_id = "{{ ti.xcom_pull(task_ids='start_deferred')['execution_id'] }}"
    sensing = {"job_name": "Job1", "execution_id": execution_id, "poke_interval": 0.5, "timeout": 60}
    sensing |= {"trigger_rule": "all_done", **on_agent}
    with DAG(unique_name("secrets_paths").replace("-", "_"), schedule=None) as dag:
        start = ElasticJobsStartJobOperator(
            task_id="start_deferred", job_name="Job1", deferrable=True, **quick, **on_agent
        )
        poke = ElasticJobsExecutionSensor(task_id="sensor_poke", **sensing)
        deferred = ElasticJobsExecutionSensor(task_id="sensor_deferred", deferrable=True, **sensing)
        failing_job = ElasticJobsJobOperator(
            task_id="create_failing_job",
            job_name="FailJob",
            steps=[
                {
                    "name": "boom",
                    "target_group": "ServerGroup",
                    "credential": "jobuser",
                    "command": "THROW 50000, 'failing on purpose', 1;",
                    "retry_attempts": 0,
                }
            ],
            trigger_rule="all_done",
            **on_agent,
        )
        run_failing = ElasticJobsStartJobOperator(
            task_id="start_failing_job", job_name="FailJob", deferrable=False, **quick, **on_agent
        )
        wrong_password = ElasticJobsTargetSetupOperator(
            task_id="target_setup_wrong_admin_password",
            sql_conn_id="secrets_wrong_admin",
            logins=[{"login_conn_id": "elastic_jobs_jobuser", "databases": ["TargetDb1"]}],
            trigger_rule="all_done",
        )
        sp_deferred = ElasticJobsExecutionSensor(
            task_id="sensor_sp_deferred", elastic_jobs_conn_id=SP_CONN, deferrable=True, **sensing
        )
        sp_wrong_secret = ElasticJobsCredentialOperator(
            task_id="credential_sp_wrong_secret",
            elastic_jobs_conn_id=SP_WRONG_CONN,
            credential_name="spcred",
            credential_conn_id="elastic_jobs_jobuser",
            trigger_rule="all_done",
            **on_agent,
        )
        start >> poke >> deferred >> failing_job >> run_failing >> wrong_password >> sp_deferred
        sp_deferred >> sp_wrong_secret
    return dag


@pytest.fixture(scope="module")
def secrets_run(emulator: EmulatorProcess, airflow_db: Path) -> Iterator[SecretsRun]:
    """The tutorial DAG and the paths DAG, run once with canary secrets, all output captured."""
    names = DemoNames(unique_name("rg"), unique_name("agent-srv"), unique_name("target-srv"))
    connections, logins = _canary_connections(emulator, names)
    world = TutorialWorld(emulator, names, connections)
    secrets = {f"password of {login}": password for login, password in logins.items()}
    secrets["bearer token"] = emulator.token
    secrets["wrong password"] = json.loads(connections["AIRFLOW_CONN_SECRETS_WRONG_ADMIN"])["password"]
    secrets["client secret"] = json.loads(connections[f"AIRFLOW_CONN_{SP_CONN.upper()}"])["password"]
    secrets["wrong client secret"] = json.loads(connections[f"AIRFLOW_CONN_{SP_WRONG_CONN.upper()}"])[
        "password"
    ]
    output = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in connections.items():
            patch.setenv(name, value)
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            tutorial = run_dag(load_example_dag(DAG_ID), names.dag_conf())
            paths = run_dag(_paths_dag(world))
        yield SecretsRun(world, secrets, logins, output.getvalue(), [tutorial, paths])


def _variants(secret: str, logins: dict[str, str]) -> set[bytes]:
    """The byte strings a leak of ``secret`` could take."""
    found = {secret.encode(), urllib.parse.quote(secret, safe="").encode()}
    found |= {base64.b64encode(f"{login}:{secret}".encode()) for login, pw in logins.items() if pw == secret}
    return found


def assert_no_secret(secrets_run: SecretsRun, where: str, blob: bytes) -> None:
    """Fail naming the secret and the place when any canary (in any form) or an issued access token
    is in ``blob``."""
    for what, secret in secrets_run.secrets.items():
        for variant in _variants(secret, secrets_run.logins):
            assert variant not in blob, f"the {what} leaked into {where}"
    assert not ISSUED_TOKEN.search(blob), f"an issued access token leaked into {where}"


def test_the_runs_did_what_the_scan_relies_on(secrets_run: SecretsRun) -> None:
    """Not a vacuous scan: the tutorial succeeded, every wait path ran, and failures were raised."""
    tutorial, paths = secrets_run.runs
    assert tutorial.state == "success"
    states = {
        task: task_instance(paths, task).state
        for task in (
            "start_deferred",
            "sensor_poke",
            "sensor_deferred",
            "create_failing_job",
            "sensor_sp_deferred",
        )
    }
    assert states == dict.fromkeys(states, "success")
    assert task_instance(paths, "start_failing_job").state == "failed"
    assert task_instance(paths, "target_setup_wrong_admin_password").state == "failed"
    assert task_instance(paths, "credential_sp_wrong_secret").state == "failed"
    emulator = secrets_run.world.emulator
    assert sum(p["tokens_issued"] for p in emulator.principals().values()) >= 1
    probe_id, probe_secret = unique_name("probe"), canary("probe-secret")
    emulator.register_principal(probe_id, probe_secret)
    assert ISSUED_TOKEN.fullmatch(
        emulator.issue_token(probe_id, probe_secret).encode()
    )  # the scan sees tokens
    exceptions = _EXCEPTION_LINE.findall(secrets_run.output)
    assert any("of job 'FailJob'" in line for line in exceptions), exceptions
    assert "failing on purpose" in secrets_run.output  # the failure summary's last message
    assert any("Login failed" in line for line in exceptions), exceptions
    assert any("Authentication failed" in line and SP_WRONG_CONN in line for line in exceptions), exceptions
    assert xcom(paths, "start_deferred")["lifecycle"] == "Succeeded"


def test_task_output_logs_and_exception_messages_have_no_secret(secrets_run: SecretsRun) -> None:
    """Everything the tasks, hooks, triggers and Airflow printed, including every traceback."""
    assert_no_secret(secrets_run, "the captured task output", secrets_run.output.encode())
    from airflow.configuration import conf

    log_folder = Path(conf.get("logging", "base_log_folder"))
    for path in sorted(log_folder.rglob("*")) if log_folder.exists() else []:
        if path.is_file():
            assert_no_secret(secrets_run, f"Airflow log file {path}", path.read_bytes())


def _metadata_rows(secrets_run: SecretsRun) -> dict[str, bytes]:
    """Every row of every metadata-database table (bar the connection store), one blob per table."""
    from airflow.settings import engine

    database = engine.url.database
    blobs = {}
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            if table not in SECRET_STORES:
                rows = db.execute(f'SELECT * FROM "{table}"').fetchall()
                blobs[table] = b"\n".join(repr(row).encode() + b" " + _raw(row) for row in rows)
    return blobs


def _raw(row: tuple[Any, ...]) -> bytes:
    """Binary columns as they are stored (pickled or JSON XCom values, compressed DAG blobs)."""
    return b" ".join(value for value in row if isinstance(value, bytes))


def test_xcom_rendered_fields_and_every_metadata_table_have_no_secret(secrets_run: SecretsRun) -> None:
    """XCom values, rendered template fields, DAG runs, task instances, events: no canary."""
    blobs = _metadata_rows(secrets_run)
    dag_ids = [run.dag_id.encode() for run in secrets_run.runs]
    for table in ("xcom", "rendered_task_instance_fields"):
        assert all(dag_id in blobs[table] for dag_id in dag_ids), f"{table} has no rows of the runs"
    for table, blob in blobs.items():
        assert_no_secret(secrets_run, f"metadata table {table!r}", blob)


def test_emulator_log_has_no_secret(secrets_run: SecretsRun) -> None:
    """The emulator logged the requests (credential PUTs, SQL batches) but none of their secrets."""
    log = secrets_run.world.emulator.log_text()
    assert "/credentials/jobuser" in log
    assert_no_secret(secrets_run, "the emulator's log", log.encode())


def test_emulator_state_has_digests_not_passwords(secrets_run: SecretsRun) -> None:
    """Every file of the state directory (SQLite stores, WAL files, database files, TLS, log) as bytes:
    no password or token, and the keyed digest of each password is stored instead."""
    state_dir = secrets_run.world.emulator.state_dir
    blob = b""
    for path in sorted(state_dir.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            assert_no_secret(secrets_run, f"emulator state file {path.relative_to(state_dir)}", data)
            blob += data
    with contextlib.closing(sqlite3.connect(f"file:{state_dir / 'emulator.db'}?mode=ro", uri=True)) as db:
        key = db.execute("SELECT value FROM meta WHERE key = 'password_digest_key'").fetchone()[0]
    hasher = PasswordHasher(bytes.fromhex(key))
    for login, password in secrets_run.logins.items():
        assert hasher.digest(password).encode() in blob, f"no digest of {login}'s password is stored"


def test_connection_form_marks_every_secret_field_as_a_password() -> None:
    """Both connection types: secret extras are ``format: password`` (masked in the UI and API),
    nothing else is, and the standard password field is never hidden or relabelled away."""
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    secret_word = re.compile(r"password|secret|token|key")
    fields = {
        name: widget
        for name, widget in manager.connection_form_widgets.items()
        if name.startswith(("extra__azure_elastic_jobs__", "extra__elastic_jobs_emulator_sql__"))
    }
    assert "extra__azure_elastic_jobs__token" in fields
    for name, widget in fields.items():
        assert widget.is_sensitive == bool(secret_word.search(widget.field_name)), name
    for conn_type in ("azure_elastic_jobs", "elastic_jobs_emulator_sql"):
        behaviour = manager.field_behaviours[conn_type]
        assert "password" not in behaviour.get("hidden_fields", []), conn_type
    assert manager.field_behaviours["azure_elastic_jobs"]["relabeling"]["password"] == "Client Secret"
