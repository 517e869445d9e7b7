"""``ElasticJobsTargetSetupOperator``: the tutorial's logins, users and GRANTs, idempotent and quoted.

The PowerShell tutorial runs ``CREATE LOGIN`` in the target server's ``master``, ``CREATE USER …
FROM LOGIN`` in ``master`` (for the refresh credential) and in each target database, and the GRANTs
the job's T-SQL needs. This operator does the same through the ``DbApiHook`` of an Airflow
connection — ``odbc`` (``OdbcHook``) on Azure, ``elastic_jobs_emulator_sql`` locally — reached as
``BaseHook.get_connection(sql_conn_id).get_hook(hook_params={"database": db})``. SQL generation
and quoting live in :mod:`airflow_elasticjobs.target_setup_sql`.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_elasticjobs.hooks.connection import get_connection
from airflow_elasticjobs.operators.base import login_and_password
from airflow_elasticjobs.validation import check_conn_id, invalid, is_templated

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_elasticjobs.target_setup_sql import Batch, Grant

# ``target_setup_sql`` is imported where used: a DAG file that does not build this operator does
# not pay for it at parse time (benchmarks/import_cost.py).

MASTER = "master"
_SPEC_KEYS = {"login_conn_id", "databases", "grants", "roles", "master_user"}


def _default_grants() -> tuple[Grant, ...]:
    from airflow_elasticjobs.target_setup_sql import DEFAULT_GRANTS, Grant

    return tuple(Grant.parse(g) for g in DEFAULT_GRANTS)


@dataclass(frozen=True)
class LoginSpec:
    """One login to set up: where it gets a user, and what that user may do there."""

    login_conn_id: str
    databases: tuple[str, ...] = ()
    grants: tuple[Grant, ...] = field(default_factory=_default_grants)
    roles: tuple[str, ...] = ()
    master_user: bool = False


def _string_list(path: str, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise invalid(path, value, "give a list of strings, e.g. ['TargetDb1', 'TargetDb2']")
    return list(value)


def parse_logins(value: Any) -> list[LoginSpec]:
    """Validate the ``logins`` argument; every error names the entry, the field and the fix."""
    from airflow_elasticjobs.target_setup_sql import Grant, validate_name

    if not isinstance(value, list | tuple) or not value:
        raise invalid(
            "logins", value, "give a non-empty list of {'login_conn_id': …, 'databases': [...]} dicts"
        )
    specs = []
    for i, entry in enumerate(value):
        path = f"logins[{i}]"
        if not isinstance(entry, dict):
            raise invalid(
                path, entry, "each login is a dict with 'login_conn_id' and 'databases' or 'master_user'"
            )
        unknown = set(entry) - _SPEC_KEYS
        if unknown:
            raise invalid(path, sorted(unknown), f"unknown keys; use only {sorted(_SPEC_KEYS)}")
        check_conn_id(f"{path}.login_conn_id", entry.get("login_conn_id"))
        databases = [
            validate_name(db, f"{path}.databases")
            for db in _string_list(f"{path}.databases", entry.get("databases"))
        ]
        if any(db.lower() == MASTER for db in databases):
            raise invalid(
                f"{path}.databases", databases, "leave out 'master'; set 'master_user': True instead"
            )
        master_user = entry.get("master_user", False)
        if not isinstance(master_user, bool):
            raise invalid(f"{path}.master_user", master_user, "use True or False")
        if not databases and not master_user:
            raise invalid(path, entry, "give 'databases' to create the user in, or 'master_user': True")
        grants = entry.get("grants")
        spec_kwargs: dict[str, Any] = {}
        if grants is not None:
            spec_kwargs["grants"] = tuple(
                Grant.parse(g, f"{path}.grants") for g in _string_list(f"{path}.grants", grants)
            )
        roles = tuple(
            validate_name(r, f"{path}.roles") for r in _string_list(f"{path}.roles", entry.get("roles"))
        )
        specs.append(
            LoginSpec(
                entry["login_conn_id"], tuple(databases), roles=roles, master_user=master_user, **spec_kwargs
            )
        )
    return specs


def _outcome(cursor: Any) -> str | None:
    """The ``outcome`` the batch selected; consumes every remaining result so later errors surface."""
    outcome = None
    while True:
        if cursor.description is not None and outcome is None:
            row = cursor.fetchone()
            outcome = None if row is None else str(row[0])
        if not cursor.nextset():
            return outcome


class ElasticJobsTargetSetupOperator(BaseOperator):
    """Create the Elastic Jobs logins and users on a target server, idempotently.

    For each entry of ``logins``: ``CREATE LOGIN`` in ``master`` unless it exists (password from
    the entry's Airflow connection, optionally reset with ``update_passwords``); a user in
    ``master`` when ``master_user`` is set (the tutorial's refresh credential ``masteruser``); and
    in each of ``databases`` a user with ``grants`` (default ``ALTER ON SCHEMA::dbo`` and
    ``CREATE TABLE``, what the tutorial's job needs) and ``roles``. Names are validated and
    quoted; the SQL that carries a password is logged with the password replaced by ``***``.

    Example::

        ElasticJobsTargetSetupOperator(
            task_id="target_setup",
            sql_conn_id="target_server_admin",  # odbc on Azure, elastic_jobs_emulator_sql locally
            logins=[
                {"login_conn_id": "elastic_jobs_masteruser", "master_user": True},
                {"login_conn_id": "elastic_jobs_jobuser", "databases": ["TargetDb1", "TargetDb2"]},
            ],
        )

    :param sql_conn_id: connection of the target server's admin; its hook must accept
        ``database=`` (``OdbcHook`` and ``ElasticJobsEmulatorSqlHook`` do).
    :param logins: list of dicts: ``login_conn_id`` (connection whose login and password make the
        SQL login), ``databases`` (list), ``grants`` (list of ``'PERMISSION [ON CLASS::name]'``),
        ``roles`` (list of database roles), ``master_user`` (bool).
    :param update_passwords: reset the password of logins that already exist.

    XCom: ``{"logins": {login: outcome}, "users": {database: {user: outcome}}}`` with outcomes
    ``created``, ``existed`` or ``updated`` (never a password).
    """

    template_fields: Sequence[str] = ("sql_conn_id", "logins")
    template_fields_renderers = {"logins": "json"}
    ui_color = "#e8f1fb"

    def __init__(
        self,
        *,
        sql_conn_id: str,
        logins: list[dict[str, Any]],
        update_passwords: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.sql_conn_id = sql_conn_id
        self.logins = logins
        self.update_passwords = update_passwords
        check_conn_id("sql_conn_id", sql_conn_id)
        if not isinstance(update_passwords, bool):
            raise invalid("update_passwords", update_passwords, "use True or False")
        if not is_templated(logins):
            parse_logins(logins)

    def execute(self, context: Context) -> dict[str, Any]:
        """Create what is missing; return what was created or already existed."""
        from airflow.sdk.log import mask_secret

        from airflow_elasticjobs.target_setup_sql import login_batch, user_batch, validate_name

        check_conn_id("sql_conn_id", self.sql_conn_id)
        specs = parse_logins(self.logins)
        admin = get_connection("sql_conn_id", self.sql_conn_id)
        credentials = {}
        for i, spec in enumerate(specs):
            login, password = login_and_password(f"logins[{i}].login_conn_id", spec.login_conn_id)
            mask_secret(password)
            credentials[spec.login_conn_id] = (
                validate_name(login, f"login of connection {spec.login_conn_id!r}"),
                password,
            )
        secrets = [password for _, password in credentials.values()]
        report: dict[str, Any] = {"logins": {}, "users": {}}
        for spec in specs:
            login, password = credentials[spec.login_conn_id]
            batch = login_batch(login, password, self.update_passwords)
            report["logins"][login] = self._run(admin, MASTER, batch, secrets)
        for database in [MASTER, *dict.fromkeys(db for spec in specs for db in spec.databases)]:
            for spec in specs:
                if (database == MASTER and spec.master_user) or database in spec.databases:
                    login = credentials[spec.login_conn_id][0]
                    grants = [] if database == MASTER else list(spec.grants)
                    roles = [] if database == MASTER else list(spec.roles)
                    outcome = self._run(admin, database, user_batch(login, login, grants, roles), secrets)
                    report["users"].setdefault(database, {})[login] = outcome
        self.log.info("Target setup done: %s", report)
        return report

    def _run(self, admin: Any, database: str, batch: Batch, secrets: list[str]) -> str:
        """Run one batch in ``database`` with autocommit; return its outcome."""
        self.log.info("Running in database %s:\n%s", database, batch.display)
        hook = admin.get_hook(hook_params={"database": database})
        try:
            with closing(hook.get_conn()) as conn:
                conn.autocommit = True  # CREATE LOGIN / CREATE USER outside a user transaction
                with closing(conn.cursor()) as cursor:
                    cursor.execute(batch.sql)
                    outcome = _outcome(cursor)
        except Exception as error:
            message = str(error)
            for secret in secrets:
                message = message.replace(secret, "***")
            raise RuntimeError(
                f"Target setup failed in database {database!r} through connection {self.sql_conn_id!r}: "
                f"{message} Check that sql_conn_id logs in to the target server as its admin and that "
                "the database exists."
            ) from None
        if outcome not in ("created", "existed", "updated"):
            raise RuntimeError(
                f"Target setup in database {database!r} returned no outcome; the server ran the batch but "
                "did not answer its final SELECT. Check that the connection reaches SQL Server / Azure SQL."
            )
        return outcome
