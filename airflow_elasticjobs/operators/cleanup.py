"""``ElasticJobsCleanupOperator``: delete what a DAG created, in dependency order, tolerating gaps."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from airflow_elasticjobs.operators.base import ElasticJobsBaseOperator
from airflow_elasticjobs.validation import check_name, check_server_name, invalid, is_templated

if TYPE_CHECKING:
    from airflow.sdk import Context


class ElasticJobsCleanupOperator(ElasticJobsBaseOperator):
    """Delete jobs, target groups, credentials, the agent, databases and servers, in that order.

    Anything already gone (404, including a parent that is gone) counts as absent, not as an error,
    so the task can be re-run and can follow a partially failed DAG (use ``trigger_rule="all_done"``).

    Example (the tutorial's cleanup)::

        ElasticJobsCleanupOperator(
            task_id="cleanup", trigger_rule="all_done",
            jobs=["Job1"], target_groups=["ServerGroup", "ServerGroupExcludingDb2"],
            credentials=["masteruser", "jobuser"], delete_agent=True,
            databases=[{"server_name": "ej-target-srv", "database_name": "TargetDb1"}],
            servers=["ej-target-srv"],
        )

    :param jobs: job names.
    :param target_groups: target group names.
    :param credentials: credential names.
    :param delete_agent: delete the job agent itself.
    :param databases: ``{"server_name", "database_name"}`` dicts.
    :param servers: logical server names (deleting a server deletes its databases).

    XCom: ``{"deleted": [...], "absent": [...]}`` with entries like ``"job Job1"``.
    """

    template_fields: Sequence[str] = (
        *ElasticJobsBaseOperator.template_fields,
        "jobs",
        "target_groups",
        "credentials",
        "databases",
        "servers",
    )

    def __init__(
        self,
        *,
        jobs: Sequence[str] = (),
        target_groups: Sequence[str] = (),
        credentials: Sequence[str] = (),
        delete_agent: bool = False,
        databases: Sequence[dict[str, str]] = (),
        servers: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.jobs = list(jobs)
        self.target_groups = list(target_groups)
        self.credentials = list(credentials)
        self.delete_agent = delete_agent
        self.databases = list(databases)
        self.servers = list(servers)
        self.validate()

    def validate(self) -> None:
        """Every listed name."""
        for field, names in (
            ("jobs", self.jobs),
            ("target_groups", self.target_groups),
            ("credentials", self.credentials),
        ):
            for i, name in enumerate(names):
                check_name(f"{field}[{i}]", name)
        for i, name in enumerate(self.servers):
            check_server_name(f"servers[{i}]", name)
        for i, db in enumerate(self.databases):
            if is_templated(db):
                continue
            if not isinstance(db, dict) or set(db) != {"server_name", "database_name"}:
                raise invalid(f"databases[{i}]", db, 'give {"server_name": ..., "database_name": ...}')
            check_server_name(f"databases[{i}].server_name", db["server_name"])
            check_name(f"databases[{i}].database_name", db["database_name"])
        if not (
            self.jobs
            or self.target_groups
            or self.credentials
            or self.delete_agent
            or self.databases
            or self.servers
        ):
            raise invalid(
                "jobs", self.jobs, "list at least one resource to delete (or set delete_agent=True)"
            )

    def _plan(self) -> list[tuple[str, Callable[[], bool]]]:
        hook = self.hook
        plan: list[tuple[str, Callable[[], bool]]] = []
        plan += [(f"job {n}", lambda n=n: hook.delete_job(n)) for n in self.jobs]
        plan += [(f"target group {n}", lambda n=n: hook.delete_target_group(n)) for n in self.target_groups]
        plan += [(f"credential {n}", lambda n=n: hook.delete_credential(n)) for n in self.credentials]
        if self.delete_agent:
            plan.append((f"job agent {self.agent_name or '(connection default)'}", hook.delete_agent))
        plan += [
            (
                f"database {d['server_name']}/{d['database_name']}",
                lambda d=d: hook.delete_database(d["server_name"], d["database_name"]),
            )
            for d in self.databases
        ]
        plan += [(f"server {n}", lambda n=n: hook.delete_server(n)) for n in self.servers]
        return plan

    def run(self, context: Context) -> dict[str, list[str]]:
        """Delete in order; collect what was deleted and what was already absent."""
        result: dict[str, list[str]] = {"deleted": [], "absent": []}
        for label, delete in self._plan():
            deleted = delete()
            result["deleted" if deleted else "absent"].append(label)
            self.log.info("%s %s", label, "deleted" if deleted else "already absent")
        return result
