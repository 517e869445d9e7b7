"""The tutorial's world built through the real SDK against the running emulator, for execution tests.

Servers, databases, a job agent (LRO), credentials and the tutorial's T-SQL target setup (CREATE
LOGIN / CREATE USER / GRANT as the server admin, through the emulator's SQL data plane), plus
small helpers to define jobs and wait for executions.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from azure.mgmt.sql import SqlManagementClient

from tests.support.definitions import LOCATION, create_database, create_server
from tests.support.emulator import EmulatorProcess, unique_name

ADMIN = "sqladmin"
ADMIN_PASSWORD = "Admin-Passw0rd!"
JOB_PASSWORD = "password!123"
#: What a step output's credential needs in the output database (docs/emulator-engine.md "Step output").
OUTPUT_GRANTS = ("CREATE TABLE", "ALTER ON SCHEMA::dbo", "SELECT ON SCHEMA::dbo", "INSERT ON SCHEMA::dbo",
                 "DELETE ON SCHEMA::dbo")  # fmt: skip
TERMINAL = {"Succeeded", "SucceededWithSkipped", "Failed", "TimedOut", "Canceled", "Skipped"}
TUTORIAL_SQL = (
    "IF NOT EXISTS (SELECT * FROM sys.tables WHERE object_id = object_id('{table}')) "
    "CREATE TABLE [dbo].[{table}]([TestId] [int] NOT NULL);"
)


def fast_options(**overrides: Any) -> dict[str, Any]:
    """executionOptions with short retries so tests stay quick."""
    options = {
        "timeoutSeconds": 30,
        "retryAttempts": 0,
        "initialRetryIntervalSeconds": 1,
        "maximumRetryIntervalSeconds": 1,
        "retryIntervalBackoffMultiplier": 1.0,
    }
    options.update(overrides)
    return options


@dataclass
class World:
    """One resource group with an agent server, a target server and a job agent."""

    emulator: EmulatorProcess
    client: SqlManagementClient
    rg: str
    agent_server: str = field(default_factory=lambda: unique_name("agentsrv"))
    target_server: str = field(default_factory=lambda: unique_name("targetsrv"))
    agent: str = "ElasticJobAgent"
    databases: tuple[str, ...] = ("TargetDb1", "TargetDb2")

    # -- building ----------------------------------------------------------------------------
    def build(self, sku: str = "JA100") -> World:
        """Create servers, databases, the agent and both credentials; set up the target logins."""
        for server in (self.agent_server, self.target_server):
            create_server(self.client, self.rg, server, admin_login=ADMIN, admin_password=ADMIN_PASSWORD)
        self.create_database(self.agent_server, "JobDatabase")
        for name in self.databases:
            self.create_database(self.target_server, name)
        job_db = self.emulator.arm_path(self.rg, "servers", self.agent_server, "databases", "JobDatabase")
        self.client.job_agents.begin_create_or_update(
            self.rg,
            self.agent_server,
            self.agent,
            {"location": LOCATION, "sku": {"name": sku}, "properties": {"databaseId": job_db}},
            polling_interval=0.2,
        ).result()
        for user in ("masteruser", "jobuser"):
            self.job_credential(user)
        self.sql("master", f"CREATE LOGIN masteruser WITH PASSWORD='{JOB_PASSWORD}'")
        self.sql("master", "CREATE USER masteruser FROM LOGIN masteruser")
        self.sql("master", f"CREATE LOGIN jobuser WITH PASSWORD='{JOB_PASSWORD}'")
        for name in self.databases:
            self.grant_job_user(name)
        return self

    def create_database(self, server: str, name: str) -> None:
        """Create (or get) one database through the SDK."""
        create_database(self.client, self.rg, server, name)

    def grant_job_user(self, database: str) -> None:
        """The tutorial's per-database setup for the job credential."""
        self.sql(database, "CREATE USER jobuser FROM LOGIN jobuser")
        self.sql(database, "GRANT ALTER ON SCHEMA::dbo TO jobuser")
        self.sql(database, "GRANT CREATE TABLE TO jobuser")

    def output_writer(self, login: str, database: str, grants: tuple[str, ...] = OUTPUT_GRANTS) -> None:
        """A SQL login with a user and ``grants`` in ``database``, and a job credential of the same name."""
        self.sql("master", f"CREATE LOGIN {login} WITH PASSWORD='{JOB_PASSWORD}'")
        self.sql(database, f"CREATE USER {login} FROM LOGIN {login}")
        for grant in grants:
            self.sql(database, f"GRANT {grant} TO {login}")
        self.job_credential(login)

    def job_credential(self, login: str) -> None:
        """A job credential named after ``login``, with the job password, on the agent."""
        self.client.job_credentials.create_or_update(
            self.rg,
            self.agent_server,
            self.agent,
            login,
            {"properties": {"username": login, "password": JOB_PASSWORD}},
        )

    def sql(
        self, database: str, batch: str, login: str = ADMIN, password: str = ADMIN_PASSWORD
    ) -> dict[str, Any]:
        """Run T-SQL on the target server through the emulator's SQL data plane."""
        basic = base64.b64encode(f"{login}:{password}".encode()).decode()
        with self.emulator.http() as http:
            response = http.post(
                f"/_emulator/sql/servers/{self.target_server}/databases/{database}/query",
                json={"batch": batch},
                headers={"Authorization": f"Basic {basic}"},
            )
        assert response.status_code == 200, response.text
        return response.json()

    def tables(self, database: str) -> set[str]:
        """Names of the user tables in a target database (``sys.tables``)."""
        result = self.sql(database, "SELECT name FROM sys.tables")
        return {row[0] for row in result["result_sets"][0]["rows"]}

    # -- definitions -------------------------------------------------------------------------
    def agent_path(self, *segments: str) -> str:
        """ARM id under the job agent."""
        return self.emulator.arm_path(
            self.rg, "servers", self.agent_server, "jobAgents", self.agent, *segments
        )

    def target_group(self, name: str, members: list[dict[str, Any]]) -> str:
        """Create a target group; return its id."""
        self.client.job_target_groups.create_or_update(
            self.rg, self.agent_server, self.agent, name, {"properties": {"members": members}}
        )
        return self.agent_path("targetGroups", name)

    def server_member(self, credential: str = "masteruser") -> dict[str, Any]:
        """Include the whole target server, refreshed with ``credential``."""
        return {
            "type": "SqlServer",
            "serverName": self.target_server,
            "refreshCredential": self.agent_path("credentials", credential),
            "membershipType": "Include",
        }

    def database_member(self, database: str, membership: str = "Include") -> dict[str, Any]:
        """One database of the target server."""
        return {
            "type": "SqlDatabase",
            "serverName": self.target_server,
            "databaseName": database,
            "membershipType": membership,
        }

    def job(
        self,
        name: str,
        steps: list[tuple[str, str, str, dict[str, Any] | None]],
        *,
        step_credential: str = "jobuser",
        **props: Any,
    ) -> str:
        """Create a job with steps ``(step name, target group id, T-SQL, executionOptions)``, run as
        the agent's credential ``step_credential``; ``props`` are the job's properties."""
        self.client.jobs.create_or_update(
            self.rg, self.agent_server, self.agent, name, {"properties": {"description": name, **props}}
        )
        for step_name, group, sql, options in steps:
            body: dict[str, Any] = {
                "targetGroup": group,
                "credential": self.agent_path("credentials", step_credential),
                "action": {"type": "TSql", "source": "Inline", "value": sql},
            }
            if options is not None:
                body["executionOptions"] = options
            self.client.job_steps.create_or_update(
                self.rg, self.agent_server, self.agent, name, step_name, {"properties": body}
            )
        return name

    # -- executions --------------------------------------------------------------------------
    def start(self, job: str, *, poll: bool = False) -> Any:
        """``POST …/start``; the new execution (``poll``: let the SDK's LRO poller follow Location)."""
        ops = self.client.job_executions
        return ops.begin_create(self.rg, self.agent_server, self.agent, job, polling=poll).result()

    def get(self, job: str, execution_id: str) -> Any:
        """One execution."""
        return self.client.job_executions.get(self.rg, self.agent_server, self.agent, job, execution_id)

    def wait(
        self, job: str, execution_id: str, timeout: float = 30.0, until: Callable[[Any], bool] | None = None
    ):
        """Poll the execution until ``until`` (default: terminal); fail after ``timeout`` seconds."""
        done = until or (lambda execution: execution.lifecycle in TERMINAL)
        deadline = time.monotonic() + timeout
        while True:
            execution = self.get(job, execution_id)
            if done(execution):
                return execution
            assert time.monotonic() < deadline, (
                f"execution stuck in {execution.lifecycle}: {execution.last_message}"
            )
            time.sleep(0.1)

    def step_executions(self, job: str, execution_id: str) -> list[Any]:
        """Step executions of one execution."""
        ops = self.client.job_step_executions
        return list(ops.list_by_job_execution(self.rg, self.agent_server, self.agent, job, execution_id))

    def target_executions(self, job: str, execution_id: str, step: str | None = None) -> list[Any]:
        """Target executions of one execution (or of one of its steps)."""
        ops = self.client.job_target_executions
        args = (self.rg, self.agent_server, self.agent, job, execution_id)
        if step is None:
            return list(ops.list_by_job_execution(*args))
        return list(ops.list_by_step(*args, step))
