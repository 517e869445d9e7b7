"""What the demo prints after the tutorial DAG ran: tables per target database, executions, schedule.

Everything is read back from the running emulator the way a user would check it: the tables through
the SQL data plane with the DB-API driver (``EmulatorProcess.run_sql``, logged in as the server
admin), the executions and the schedule through the real ``azure-mgmt-sql`` client. The tutorial's
expected outcome is checked here too, so the demo can exit non-zero when anything differs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.support.emulator import EmulatorProcess

# The tutorial's outcome: "two new tables in TargetDb1, and only one new table in TargetDb2".
EXPECTED_TABLES = {"TargetDb1": ("Step1Table", "Step2Table"), "TargetDb2": ("Step1Table",)}
TUTORIAL_TABLES = ("Step1Table", "Step2Table")


@dataclass(frozen=True)
class DemoNames:
    """Names of everything the tutorial creates (the tutorial DAG's params, plus the connection's)."""

    resource_group: str
    agent_server: str = "agent-server"
    target_server: str = "target-server"
    job_database: str = "JobDatabase"
    agent: str = "ElasticJobsAgent"
    job: str = "Job1"
    target_databases: tuple[str, ...] = ("TargetDb1", "TargetDb2")

    def dag_conf(self, **extra: Any) -> dict[str, Any]:
        """The DAG run conf (params) that points the tutorial DAG at these names."""
        return {
            "agent_server_name": self.agent_server,
            "target_server_name": self.target_server,
            "job_database_name": self.job_database,
            **extra,
        }


@dataclass
class Report:
    """The demo's result; ``problems`` lists every difference from the tutorial's outcome."""

    tables: dict[str, list[str]] = field(default_factory=dict)
    execution: dict[str, Any] = field(default_factory=dict)
    targets: list[dict[str, str]] = field(default_factory=list)
    schedule: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether everything matched."""
        return not self.problems


def tables_by_database(
    emulator: EmulatorProcess, server: str, databases: tuple[str, ...], login: str, password: str
) -> dict[str, list[str]]:
    """User tables of each database, read with the DB-API driver over the emulator's SQL data plane."""
    return {
        database: [
            row[0]
            for row in emulator.run_sql(
                server, database, login, password, "SELECT name FROM sys.tables ORDER BY name"
            )
        ]
        for database in databases
    }


def collect_report(emulator: EmulatorProcess, names: DemoNames, env: dict[str, str]) -> Report:
    """Read tables, the DAG's execution of the job and the job's schedule; compare with the tutorial."""
    report = Report()
    admin = json.loads(env["AIRFLOW_CONN_ELASTIC_JOBS_SERVER_ADMIN"])
    report.tables = tables_by_database(
        emulator, names.target_server, names.target_databases, admin["login"], admin["password"]
    )
    for database, expected in EXPECTED_TABLES.items():
        present = [t for t in TUTORIAL_TABLES if t in report.tables.get(database, [])]
        if tuple(present) != expected:
            report.problems.append(f"{database}: expected tables {list(expected)}, found {present}")

    with emulator.management_client() as client:
        args = (names.resource_group, names.agent_server, names.agent)
        executions = sorted(
            client.job_executions.list_by_job(*args, names.job),
            key=lambda e: e.properties.create_time if e.properties else 0,
        )
        if not executions:
            report.problems.append(f"{names.job}: no execution found")
        else:
            first = executions[0]  # the one the DAG started; later ones come from the hourly schedule
            lifecycle = _text(first.properties.lifecycle)
            report.execution = {"id": first.name, "lifecycle": lifecycle}
            if lifecycle != "Succeeded":
                report.problems.append(
                    f"{names.job}: execution ended {lifecycle}: {first.properties.last_message}"
                )
            for target in client.job_target_executions.list_by_job_execution(*args, names.job, first.name):
                props = target.properties
                report.targets.append(
                    {
                        "step": props.step_name or "",
                        "server": props.target.server_name if props.target else "",
                        "database": props.target.database_name if props.target else "",
                        "lifecycle": _text(props.lifecycle),
                        "message": props.last_message or "",
                    }
                )
        job = client.jobs.get(*args, names.job)
        schedule = job.properties.schedule if job.properties else None
        report.schedule = schedule.as_dict() if schedule else {}
    wanted = {"type": "Recurring", "interval": "PT1H", "enabled": True}
    if any(report.schedule.get(k) != v for k, v in wanted.items()):
        report.problems.append(f"{names.job}: schedule is {report.schedule}, expected {wanted}")
    return report


def _text(value: Any) -> str:
    """An SDK enum member (or plain string) as its wire value."""
    return str(getattr(value, "value", value) or "")


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(("    " + line).rstrip() for line in lines)


def print_report(report: Report) -> None:
    """Print the three tables (tables per database, executions per step/target, schedule)."""
    print("\n  Tables in the target databases (yes = exists):")
    rows = [
        [db, *("yes" if t in tables else "-" for t in TUTORIAL_TABLES)]
        for db, tables in report.tables.items()
    ]
    print(_table(["database", *TUTORIAL_TABLES], rows))
    if report.execution:
        print(f"\n  Job execution {report.execution['id']}: {report.execution['lifecycle']}")
        targets = sorted(report.targets, key=lambda t: (t["step"], t["database"]))
        rows = [[t["step"], t["server"], t["database"], t["lifecycle"], t["message"][:60]] for t in targets]
        print(_table(["step", "server", "database", "lifecycle", "last message"], rows))
    schedule = report.schedule
    print(
        "\n  Job1 schedule: "
        + ", ".join(f"{k}={schedule.get(k)}" for k in ("type", "interval", "enabled", "startTime", "endTime"))
    )
    for problem in report.problems:
        print(f"  PROBLEM: {problem}")
