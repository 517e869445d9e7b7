"""The bad-input catalog: every row of ``docs/errors.md``, as data the test runs.

A :class:`Case` is one bad input a DAG author can write, the stage at which it is caught, and the
text that must name the field and the fix. ``PARSE`` cases are DAG files Airflow fails to import;
the others are tasks run through ``dag.test()`` against the emulator:

* ``LOCAL``: the task fails before any write request (PUT/POST/PATCH/DELETE) reaches ARM;
* ``REMOTE``: only ARM can tell (a name that does not exist, a busy agent, a refused token); the
  request is refused and nothing is left half-created;
* ``RUN``: only the job's run on the targets can tell (T-SQL the emulator does not support); the
  task fails with the per-target summary.

Operators are built by ``make(ctx)`` returning ``(operator class, keyword arguments)``; ``ctx`` is the
:class:`Ctx` of names and connection ids the test's world provides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airflow_elasticjobs.operators.agent import ElasticJobsAgentOperator
from airflow_elasticjobs.operators.credential import ElasticJobsCredentialOperator
from airflow_elasticjobs.operators.deploy import ElasticJobsDeployOperator
from airflow_elasticjobs.operators.execution import (
    ElasticJobsCancelExecutionOperator,
    ElasticJobsStartJobOperator,
)
from airflow_elasticjobs.operators.job import ElasticJobsJobOperator
from airflow_elasticjobs.operators.schedule import ElasticJobsScheduleOperator
from airflow_elasticjobs.operators.server import ElasticJobsDatabaseOperator, ElasticJobsServerOperator
from airflow_elasticjobs.operators.target_group import ElasticJobsTargetGroupOperator
from airflow_elasticjobs.operators.target_setup import ElasticJobsTargetSetupOperator
from airflow_elasticjobs.sensors.execution import ElasticJobsExecutionSensor

PARSE, LOCAL, REMOTE, RUN = "parse", "local", "remote", "run"
STAGE_TEXT = {
    PARSE: "DAG import",
    LOCAL: "task, before any write",
    REMOTE: "task, refused by ARM",
    RUN: "task, when the job runs",
}


@dataclass(frozen=True)
class Ctx:
    """Names and connection ids of the world the runtime cases run in."""

    conn: str  # a working azure_elastic_jobs connection
    target_server: str
    job: str  # a job with one step and one finished execution
    other_job: str  # another job of the same agent
    execution_id: str  # the finished execution of ``job``
    sql_conn: str  # the target server's admin (elastic_jobs_emulator_sql)
    login_conn: str  # a working login (jobuser)


@dataclass(frozen=True)
class Case:
    """One row of the catalog."""

    id: str
    bad_input: str
    stage: str
    field: str  # text that names the field (or the connection) in the message
    fix: str  # text of the fix in the message
    make: Callable[[Ctx], tuple[type, dict[str, Any]]] | None = None  # runtime cases
    code: str = ""  # parse cases: the operator call in a DAG file


STEP = {"name": "s1", "command": "SELECT 1", "target_group": "ServerGroup", "credential": "jobuser"}


def _step(**overrides: Any) -> dict[str, Any]:
    return {**STEP, **overrides}


def _on(conn: str) -> Callable[[Ctx], tuple[type, dict[str, Any]]]:
    """Start ``ctx.job`` through connection ``conn`` (the connection-level cases)."""
    return lambda c: (
        ElasticJobsStartJobOperator,
        {"elastic_jobs_conn_id": conn, "job_name": c.job, "wait_for_completion": False},
    )


PARSE_CASES = [
    Case(
        "duration-templated",
        'a Jinja string for a duration that is not templated (`timeout="{{ params.t }}"`)',
        PARSE,
        "timeout='{{ params.t }}'",
        "give a number of seconds or a timedelta",
        code='ElasticJobsStartJobOperator(task_id="t", job_name="J", timeout="{{ params.t }}")',
    ),
    Case(
        "name-invalid-characters",
        "job name with a character Azure forbids (`Job:1`)",
        PARSE,
        "job_name='Job:1'",
        "remove the characters",
        code='ElasticJobsJobOperator(task_id="t", job_name="Job:1", steps=[STEP])',
    ),
    Case(
        "name-too-long",
        "credential name of 129 characters",
        PARSE,
        "credential_name=",
        "at most 128",
        code='ElasticJobsCredentialOperator(task_id="t", credential_name="c" * 129, credential_conn_id="x")',
    ),
    Case(
        "server-name-uppercase",
        "server name with upper case and `_`",
        PARSE,
        "server_name='Bad_Server'",
        "lowercase letters",
        code='ElasticJobsServerOperator(task_id="t", server_name="Bad_Server", location="westeurope", '
        'admin_conn_id="admin")',
    ),
    Case(
        "unknown-agent-sku",
        "agent SKU that does not exist (`JA300`)",
        PARSE,
        "sku='JA300'",
        "JA100, JA200",
        code='ElasticJobsAgentOperator(task_id="t", database_name="JobDatabase", sku="JA300")',
    ),
    Case(
        "exclude-only-target-group",
        "target group with only Exclude members",
        PARSE,
        "members=",
        "at least one Include",
        code='ElasticJobsTargetGroupOperator(task_id="t", target_group_name="g", members=[{"type": '
        '"SqlDatabase", "server_name": "s", "database_name": "d", "membership_type": "Exclude"}])',
    ),
    Case(
        "unknown-member-type",
        "target member of an unknown type (`SqlVm`)",
        PARSE,
        "members[0].type=",
        "SqlServer, SqlDatabase, SqlElasticPool, SqlShardMap",
        code='ElasticJobsTargetGroupOperator(task_id="t", target_group_name="g", '
        'members=[{"type": "SqlVm", "server_name": "s"}])',
    ),
    Case(
        "duplicate-step-ids",
        "two steps with the same `step_id`",
        PARSE,
        "steps[*].step_id=",
        "without gaps or duplicates",
        code='ElasticJobsJobOperator(task_id="t", job_name="J", steps=[{**STEP, "step_id": 1}, '
        '{**STEP, "name": "s2", "step_id": 1}])',
    ),
    Case(
        "gapped-step-ids",
        "step ids 1 and 3 (a gap)",
        PARSE,
        "steps[*].step_id=",
        "without gaps",
        code='ElasticJobsJobOperator(task_id="t", job_name="J", steps=[{**STEP, "step_id": 1}, '
        '{**STEP, "name": "s2", "step_id": 3}])',
    ),
    Case(
        "duplicate-step-names",
        "two steps with the same name",
        PARSE,
        "steps=",
        "unique name",
        code='ElasticJobsJobOperator(task_id="t", job_name="J", steps=[STEP, STEP])',
    ),
    Case(
        "invalid-iso-interval",
        "schedule interval that is not ISO 8601 (`1 hour`)",
        PARSE,
        "schedule.interval=",
        "ISO 8601 duration",
        code='ElasticJobsScheduleOperator(task_id="t", job_name="J", interval="1 hour")',
    ),
    Case(
        "schedule-end-before-start",
        "schedule end time before its start time",
        PARSE,
        "schedule.end_time=",
        "later than start_time",
        code='ElasticJobsScheduleOperator(task_id="t", job_name="J", interval="PT1H", '
        'start_time="2030-01-02T00:00:00Z", end_time="2030-01-01T00:00:00Z")',
    ),
    Case(
        "unknown-fail-on-state",
        "`fail_on` with a lifecycle that does not exist",
        PARSE,
        "fail_on",
        "Succeeded",
        code='ElasticJobsStartJobOperator(task_id="t", job_name="J", fail_on=["Exploded"])',
    ),
    Case(
        "retry-interval-above-max",
        "initial retry interval above the maximum",
        PARSE,
        "steps[0].initial_retry_interval_seconds=",
        "≤ maximum_retry_interval_seconds",
        code='ElasticJobsJobOperator(task_id="t", job_name="J", '
        'steps=[{**STEP, "initial_retry_interval_seconds": 200}])',
    ),
]

RUNTIME_CASES = [
    # -- connections and endpoints ----------------------------------------------------------------
    Case(
        "missing-connection",
        "`elastic_jobs_conn_id` of a connection that does not exist",
        LOCAL,
        "elastic_jobs_conn_id='no_such_connection'",
        "create it",
        make=_on("no_such_connection"),
    ),
    Case(
        "wrong-conn-type",
        "`elastic_jobs_conn_id` of a `generic` connection",
        LOCAL,
        "'conn_type'",
        "use a connection of type 'azure_elastic_jobs'",
        make=_on("bad_generic"),
    ),
    Case(
        "no-subscription",
        "connection without `subscription_id`",
        LOCAL,
        "'subscription_id'",
        "set the Azure subscription id",
        make=_on("bad_no_subscription"),
    ),
    Case(
        "endpoint-not-a-url",
        "connection `endpoint` that is not a URL",
        LOCAL,
        "'endpoint'",
        "use e.g. https://management.azure.com",
        make=_on("bad_endpoint"),
    ),
    Case(
        "token-without-endpoint",
        "emulator `token` in a connection without `endpoint` (it would go to Azure)",
        LOCAL,
        "'token'",
        "set 'endpoint' to the emulator's URL",
        make=_on("bad_token_to_azure"),
    ),
    Case(
        "ca-bundle-missing",
        "connection `verify` naming a CA bundle that does not exist",
        LOCAL,
        "'verify'",
        "give true, false or a PEM file path",
        make=_on("bad_ca_bundle"),
    ),
    Case(
        "no-agent-name",
        "no `agent_name` in the connection nor the operator",
        LOCAL,
        "agent_name",
        "pass agent_name=",
        make=_on("bad_no_agent"),
    ),
    Case(
        "unreachable-endpoint",
        "`endpoint` where nothing listens",
        LOCAL,
        "'endpoint'",
        "check the connection's 'endpoint'",
        make=_on("bad_unreachable"),
    ),
    Case(
        "tls-verify-failure",
        "emulator endpoint without `verify` (its self-signed certificate is not trusted)",
        LOCAL,
        "'verify'",
        "set 'verify' to the emulator's CA bundle path",
        make=_on("bad_untrusted"),
    ),
    Case(
        "wrong-token-401",
        "wrong static token (ARM answers 401)",
        LOCAL,
        "token",
        "check the connection's client id, secret and tenant",
        make=_on("bad_token"),
    ),
    Case(
        "forbidden-403",
        "a `reader` service principal starting a job (ARM answers 403)",
        REMOTE,
        "403",
        "Give the connection's identity a role",
        make=_on("bad_forbidden"),
    ),
    # -- operator arguments only known at run time (templates) ----------------------------------
    Case(
        "templated-name-invalid",
        "`job_name` template rendering to `Job:1`",
        LOCAL,
        "job_name='Job:1'",
        "remove the characters",
        make=lambda c: (ElasticJobsJobOperator, {"job_name": "{{ 'Job' }}:1", "steps": [STEP]}),
    ),
    Case(
        "templated-resource-group-invalid",
        "`resource_group_name` template rendering to a name ending with `.`",
        LOCAL,
        "resource_group_name='rg.'",
        "not ending with '.'",
        make=lambda c: (
            ElasticJobsStartJobOperator,
            {"job_name": c.job, "resource_group_name": "{{ 'rg' }}.", "wait_for_completion": False},
        ),
    ),
    Case(
        "templated-interval-invalid",
        "schedule `interval` template rendering to `P1X`",
        LOCAL,
        "schedule.interval=",
        "ISO 8601 duration",
        make=lambda c: (ElasticJobsScheduleOperator, {"job_name": c.job, "interval": "{{ 'P1X' }}"}),
    ),
    Case(
        "templated-end-before-start",
        "schedule `end_time` template earlier than `start_time`",
        LOCAL,
        "schedule.end_time=",
        "later than start_time",
        make=lambda c: (
            ElasticJobsScheduleOperator,
            {
                "job_name": c.job,
                "interval": "PT1H",
                "start_time": "{{ '2030-01-02T00:00:00Z' }}",
                "end_time": "{{ '2030-01-01T00:00:00Z' }}",
            },
        ),
    ),
    Case(
        "execution-id-not-a-uuid",
        "sensor `execution_id` template rendering to something that is not a UUID",
        LOCAL,
        "execution_id='not-a-uuid'",
        "check job_name and execution_id",
        make=lambda c: (
            ElasticJobsExecutionSensor,
            {"job_name": c.job, "execution_id": "{{ 'not-a-uuid' }}", "timeout": 5, "poke_interval": 1},
        ),
    ),
    # -- Airflow connections the operators read secrets from -------------------------------------
    Case(
        "credential-conn-missing",
        "`credential_conn_id` of a connection that does not exist",
        LOCAL,
        "credential_conn_id='no_such_login'",
        "create it",
        make=lambda c: (
            ElasticJobsCredentialOperator,
            {"credential_name": "c1", "credential_conn_id": "no_such_login"},
        ),
    ),
    Case(
        "credential-conn-no-password",
        "`credential_conn_id` of a connection without a password",
        LOCAL,
        "credential_conn_id='bad_login_only'",
        "set its login and password",
        make=lambda c: (
            ElasticJobsCredentialOperator,
            {"credential_name": "c1", "credential_conn_id": "bad_login_only"},
        ),
    ),
    Case(
        "admin-conn-no-password",
        "server `admin_conn_id` of a connection without a password",
        LOCAL,
        "admin_conn_id='bad_login_only'",
        "set its login and password",
        make=lambda c: (
            ElasticJobsServerOperator,
            {"server_name": "new-srv-bad-admin", "location": "westeurope", "admin_conn_id": "bad_login_only"},
        ),
    ),
    Case(
        "target-setup-sql-conn-missing",
        "target setup `sql_conn_id` of a connection that does not exist",
        LOCAL,
        "sql_conn_id='no_such_sql'",
        "create it",
        make=lambda c: (
            ElasticJobsTargetSetupOperator,
            {
                "sql_conn_id": "no_such_sql",
                "logins": [{"login_conn_id": c.login_conn, "databases": ["TargetDb1"]}],
            },
        ),
    ),
    Case(
        "target-setup-login-conn-no-password",
        "target setup login connection without a password",
        LOCAL,
        "logins[0].login_conn_id='bad_login_only'",
        "set its login and password",
        make=lambda c: (
            ElasticJobsTargetSetupOperator,
            {
                "sql_conn_id": c.sql_conn,
                "logins": [{"login_conn_id": "bad_login_only", "databases": ["TargetDb1"]}],
            },
        ),
    ),
    Case(
        "target-setup-wrong-admin-password",
        "target setup admin connection with a wrong password",
        LOCAL,
        "bad_sql_wrong_password",
        "Check that sql_conn_id logs in to the target server as its admin",
        make=lambda c: (
            ElasticJobsTargetSetupOperator,
            {
                "sql_conn_id": "bad_sql_wrong_password",
                "logins": [{"login_conn_id": c.login_conn, "databases": ["TargetDb1"]}],
            },
        ),
    ),
    Case(
        "target-setup-unknown-database",
        "target setup for a database the server does not have",
        LOCAL,
        "NoSuchDb",
        "that the database exists",
        make=lambda c: (
            ElasticJobsTargetSetupOperator,
            {
                "sql_conn_id": c.sql_conn,
                "logins": [{"login_conn_id": c.login_conn, "databases": ["NoSuchDb"]}],
            },
        ),
    ),
    # -- names that only ARM can check ------------------------------------------------------------
    Case(
        "unknown-job",
        "start a job that does not exist",
        REMOTE,
        "NoSuchJob",
        "check the resource group, server, agent and job names",
        make=lambda c: (ElasticJobsStartJobOperator, {"job_name": "NoSuchJob", "wait_for_completion": False}),
    ),
    Case(
        "unknown-agent",
        "`agent_name` of an agent that does not exist",
        REMOTE,
        "NoSuchAgent",
        "check the resource group, server, agent and job names",
        make=lambda c: (
            ElasticJobsStartJobOperator,
            {"job_name": c.job, "agent_name": "NoSuchAgent", "wait_for_completion": False},
        ),
    ),
    Case(
        "schedule-unknown-job",
        "schedule a job that does not exist",
        LOCAL,
        "job_name",
        "create it first",
        make=lambda c: (ElasticJobsScheduleOperator, {"job_name": "NoSuchJob", "interval": "PT1H"}),
    ),
    Case(
        "unknown-target-group",
        "job step with a target group that does not exist",
        LOCAL,
        "steps[0].target_group",
        "create it first",
        make=lambda c: (
            ElasticJobsJobOperator,
            {"job_name": "HalfJob1", "steps": [_step(target_group="NoGroup")]},
        ),
    ),
    Case(
        "unknown-credential",
        "job step with a credential that does not exist",
        LOCAL,
        "steps[0].credential",
        "create it first",
        make=lambda c: (
            ElasticJobsJobOperator,
            {"job_name": "HalfJob2", "steps": [_step(credential="nocred")]},
        ),
    ),
    Case(
        "deploy-undeclared-target-group",
        "deploy whose step uses a target group neither declared nor existing",
        LOCAL,
        "steps[0].target_group",
        "create it first",
        make=lambda c: (
            ElasticJobsDeployOperator,
            {
                "job_name": "HalfJob3",
                "steps": [_step(target_group="NoGroup")],
                "credentials": [{"name": "deploycred", "conn_id": c.login_conn}],
            },
        ),
    ),
    Case(
        "unknown-refresh-credential",
        "server member whose refresh credential does not exist",
        REMOTE,
        "refreshCredential",
        "create it first",
        make=lambda c: (
            ElasticJobsTargetGroupOperator,
            {
                "target_group_name": "HalfGroup",
                "members": [
                    {"type": "SqlServer", "server_name": c.target_server, "refresh_credential": "nocred"}
                ],
            },
        ),
    ),
    Case(
        "database-on-unknown-server",
        "database on a server that does not exist",
        LOCAL,
        "server 'no-such-server'",
        "create it first",
        make=lambda c: (
            ElasticJobsDatabaseOperator,
            {"server_name": "no-such-server", "database_name": "Db1"},
        ),
    ),
    Case(
        "agent-on-unknown-job-database",
        "agent on a job database that does not exist",
        REMOTE,
        "databaseId",
        "create it first",
        make=lambda c: (ElasticJobsAgentOperator, {"database_name": "NoSuchDb", "agent_name": "HalfAgent"}),
    ),
    Case(
        "agent-not-ready",
        "update an agent that is still being created (not Ready)",
        REMOTE,
        "job agent 'ElasticJobAgent' is creating",
        "retry when its state is Ready",
        make=lambda c: (
            ElasticJobsAgentOperator,
            {"elastic_jobs_conn_id": "bad_busy_agent", "database_name": "JobDatabase", "poll_interval": 1},
        ),
    ),
    # -- executions -------------------------------------------------------------------------------
    Case(
        "cancel-execution-of-another-job",
        "cancel with the execution id of another job",
        LOCAL,
        "execution_id=",
        "check job_name and execution_id",
        make=lambda c: (
            ElasticJobsCancelExecutionOperator,
            {"job_name": c.other_job, "execution_id": c.execution_id},
        ),
    ),
    Case(
        "sensor-execution-of-another-job",
        "sensor with the execution id of another job",
        LOCAL,
        "execution_id=",
        "check job_name and execution_id",
        make=lambda c: (
            ElasticJobsExecutionSensor,
            {"job_name": c.other_job, "execution_id": c.execution_id, "timeout": 5, "poke_interval": 1},
        ),
    ),
    Case(
        "unsupported-tsql",
        "job step T-SQL the emulator does not support (`CREATE PROCEDURE`)",
        RUN,
        "step 1",
        "not supported by the emulator",
        make=lambda c: (
            ElasticJobsStartJobOperator,
            {"job_name": "UnsupportedJob", "poll_interval": 0.5, "deferrable": False},
        ),
    ),
]

CASES = PARSE_CASES + RUNTIME_CASES
