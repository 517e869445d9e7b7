"""``ElasticJobsTargetSetupOperator``: the tutorial's logins, users and GRANTs, idempotent and quoted.

It also creates the users of a job agent's managed identity (``CREATE USER [name] FROM EXTERNAL
PROVIDER``), in the target databases and, for server / pool members, in ``master``.

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
_PLACEMENT_KEYS = {"databases", "grants", "roles", "master_user"}
_SPEC_KEYS = {"login_conn_id", *_PLACEMENT_KEYS}
_IDENTITY_KEYS = {"name", *_PLACEMENT_KEYS}


def _default_grants() -> tuple[Grant, ...]:
    from airflow_elasticjobs.target_setup_sql import DEFAULT_GRANTS, Grant

    return tuple(Grant.parse(g) for g in DEFAULT_GRANTS)


@dataclass(frozen=True)
class Placement:
    """Where a principal gets a user, and what that user may do there."""

    databases: tuple[str, ...] = ()
    grants: tuple[Grant, ...] = field(default_factory=_default_grants)
    roles: tuple[str, ...] = ()
    master_user: bool = False


@dataclass(frozen=True)
class LoginSpec:
    """One SQL login to set up (password from its connection) and where it gets users."""

    login_conn_id: str
    placement: Placement


@dataclass(frozen=True)
class IdentitySpec:
    """One managed identity (by name) whose Entra users to create, and where."""

    name: str
    placement: Placement


def _string_list(path: str, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise invalid(path, value, "give a list of strings, e.g. ['TargetDb1', 'TargetDb2']")
    return list(value)


def _entries(field_name: str, value: Any, keys: set[str], key: str) -> list[dict[str, Any]]:
    """The list of dicts ``value`` (``None``: empty), each with only ``keys``."""
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise invalid(field_name, value, f"give a list of {{'{key}': …, 'databases': [...]}} dicts")
    for i, entry in enumerate(value):
        path = f"{field_name}[{i}]"
        if not isinstance(entry, dict):
            raise invalid(path, entry, f"each entry is a dict with '{key}' and 'databases' or 'master_user'")
        unknown = set(entry) - keys
        if unknown:
            raise invalid(path, sorted(unknown), f"unknown keys; use only {sorted(keys)}")
    return list(value)


def _placement(path: str, entry: dict[str, Any]) -> Placement:
    """Validate ``databases``, ``master_user``, ``grants`` and ``roles`` of one entry."""
    from airflow_elasticjobs.target_setup_sql import Grant, validate_name

    databases = [
        validate_name(db, f"{path}.databases")
        for db in _string_list(f"{path}.databases", entry.get("databases"))
    ]
    if any(db.lower() == MASTER for db in databases):
        raise invalid(f"{path}.databases", databases, "leave out 'master'; set 'master_user': True instead")
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
    return Placement(tuple(databases), roles=roles, master_user=master_user, **spec_kwargs)


def parse_logins(value: Any) -> list[LoginSpec]:
    """Validate the ``logins`` argument; every error names the entry, the field and the fix."""
    specs = []
    for i, entry in enumerate(_entries("logins", value, _SPEC_KEYS, "login_conn_id")):
        check_conn_id(f"logins[{i}].login_conn_id", entry.get("login_conn_id"))
        specs.append(LoginSpec(entry["login_conn_id"], _placement(f"logins[{i}]", entry)))
    return specs


def parse_identities(value: Any) -> list[IdentitySpec]:
    """Validate ``identities``: each ``name`` is a managed identity's name or resource id."""
    from airflow_elasticjobs.managed_identity import identity_name
    from airflow_elasticjobs.target_setup_sql import validate_name

    specs = []
    for i, entry in enumerate(_entries("identities", value, _IDENTITY_KEYS, "name")):
        path = f"identities[{i}]"
        name = entry.get("name")
        if isinstance(name, str) and name.startswith("/"):
            name = identity_name(name, f"{path}.name")
        specs.append(IdentitySpec(validate_name(name, f"{path}.name"), _placement(path, entry)))
    return specs


def parse_principals(logins: Any, identities: Any) -> tuple[list[LoginSpec], list[IdentitySpec]]:
    """Both lists, at least one entry in all."""
    specs = parse_logins(logins), parse_identities(identities)
    if not any(specs):
        raise invalid(
            "logins",
            logins,
            "give a non-empty list of {'login_conn_id': …, 'databases': [...]} dicts, or 'identities' "
            "({'name': <managed identity>, 'databases': [...]}) for an agent with a managed identity",
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

    For a job agent with a user-assigned managed identity, ``identities`` creates the identity's
    Microsoft Entra users instead: ``CREATE USER [name] FROM EXTERNAL PROVIDER`` in each of
    ``databases`` (with ``grants`` and ``roles``) and in ``master`` when ``master_user`` is set (server
    and elastic pool members without a refresh credential are listed as the identity). No login and
    no password is involved. On Azure, ``sql_conn_id`` must then log in as the server's Microsoft
    Entra admin (only Entra principals may create Entra users).

    Example::

        ElasticJobsTargetSetupOperator(
            task_id="target_setup",
            sql_conn_id="target_server_admin",  # odbc on Azure, elastic_jobs_emulator_sql locally
            logins=[
                {"login_conn_id": "elastic_jobs_masteruser", "master_user": True},
                {"login_conn_id": "elastic_jobs_jobuser", "databases": ["TargetDb1", "TargetDb2"]},
            ],
        )
        ElasticJobsTargetSetupOperator(
            task_id="umi_users",
            sql_conn_id="target_server_entra_admin",
            identities=[{"name": "ej-umi", "databases": ["TargetDb1", "TargetDb2"], "master_user": True}],
        )

    :param sql_conn_id: connection of the target server's admin; its hook must accept
        ``database=`` (``OdbcHook`` and ``ElasticJobsEmulatorSqlHook`` do).
    :param logins: list of dicts: ``login_conn_id`` (connection whose login and password make the
        SQL login), ``databases`` (list), ``grants`` (list of ``'PERMISSION [ON CLASS::name]'``),
        ``roles`` (list of database roles), ``master_user`` (bool). May be left out when
        ``identities`` is given.
    :param identities: list of dicts: ``name`` (the managed identity's name, or its resource id),
        ``databases``, ``grants``, ``roles``, ``master_user`` as for ``logins``.
    :param update_passwords: reset the password of logins that already exist.

    XCom: ``{"logins": {login: outcome}, "users": {database: {user: outcome}}}`` (identities' users
    among the users) with outcomes
    ``created``, ``existed`` or ``updated`` (never a password).
    """

    template_fields: Sequence[str] = ("sql_conn_id", "logins", "identities")
    template_fields_renderers = {"logins": "json", "identities": "json"}
    ui_color = "#e8f1fb"

    def __init__(
        self,
        *,
        sql_conn_id: str,
        logins: list[dict[str, Any]] | None = None,
        identities: list[dict[str, Any]] | None = None,
        update_passwords: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.sql_conn_id = sql_conn_id
        self.logins = logins
        self.identities = identities
        self.update_passwords = update_passwords
        check_conn_id("sql_conn_id", sql_conn_id)
        if not isinstance(update_passwords, bool):
            raise invalid("update_passwords", update_passwords, "use True or False")
        if not is_templated(logins) and not is_templated(identities):
            parse_principals(logins, identities)

    def execute(self, context: Context) -> dict[str, Any]:
        """Create what is missing; return what was created or already existed."""
        from airflow.sdk.log import mask_secret

        from airflow_elasticjobs.target_setup_sql import login_batch, user_batch, validate_name

        check_conn_id("sql_conn_id", self.sql_conn_id)
        specs, identities = parse_principals(self.logins, self.identities)
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
        # (user, login or None for an Entra user, placement)
        users = [
            (credentials[s.login_conn_id][0], credentials[s.login_conn_id][0], s.placement) for s in specs
        ]
        users += [(i.name, None, i.placement) for i in identities]
        databases = dict.fromkeys(db for _, _, placement in users for db in placement.databases)
        for database in [MASTER, *databases]:
            for user, login, placement in users:
                if (database == MASTER and placement.master_user) or database in placement.databases:
                    grants = [] if database == MASTER else list(placement.grants)
                    roles = [] if database == MASTER else list(placement.roles)
                    outcome = self._run(admin, database, user_batch(user, login, grants, roles), secrets)
                    report["users"].setdefault(database, {})[user] = outcome
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
