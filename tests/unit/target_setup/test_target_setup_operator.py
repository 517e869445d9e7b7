"""Argument validation of ElasticJobsTargetSetupOperator (before any connection is looked up)."""

from __future__ import annotations

import pytest

from airflow_elasticjobs.operators.target_setup import ElasticJobsTargetSetupOperator, parse_logins
from airflow_elasticjobs.target_setup_sql import DEFAULT_GRANTS, Grant
from airflow_elasticjobs.validation import ElasticJobsValidationError

GOOD = [{"login_conn_id": "jobuser_conn", "databases": ["TargetDb1"]}]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"sql_conn_id": "", "logins": GOOD}, "sql_conn_id"),
        ({"sql_conn_id": "admin", "logins": []}, "logins"),
        ({"sql_conn_id": "admin", "logins": "jobuser"}, "logins"),
        ({"sql_conn_id": "admin", "logins": ["jobuser"]}, "logins[0]"),
        ({"sql_conn_id": "admin", "logins": [{"databases": ["TargetDb1"]}]}, "logins[0].login_conn_id"),
        ({"sql_conn_id": "admin", "logins": [{"login_conn_id": "c"}]}, "logins[0]"),
        (
            {"sql_conn_id": "admin", "logins": [{"login_conn_id": "c", "databases": "TargetDb1"}]},
            "logins[0].databases",
        ),
        (
            {"sql_conn_id": "admin", "logins": [{"login_conn_id": "c", "databases": ["master"]}]},
            "logins[0].databases",
        ),
        (
            {"sql_conn_id": "admin", "logins": [{"login_conn_id": "c", "databases": ["bad\tname"]}]},
            "logins[0].databases",
        ),
        (
            {"sql_conn_id": "admin", "logins": [{"login_conn_id": "c", "master_user": "yes"}]},
            "logins[0].master_user",
        ),
        (
            {"sql_conn_id": "admin", "logins": [{"login_conn_id": "c", "master_user": True, "grant": []}]},
            "logins[0]",
        ),
        (
            {
                "sql_conn_id": "admin",
                "logins": [{"login_conn_id": "c", "databases": ["d"], "grants": ["DROP; --"]}],
            },
            "logins[0].grants",
        ),
        (
            {"sql_conn_id": "admin", "logins": [{"login_conn_id": "c", "databases": ["d"], "roles": [""]}]},
            "logins[0].roles",
        ),
        ({"sql_conn_id": "admin", "logins": GOOD, "update_passwords": "no"}, "update_passwords"),
    ],
)
def test_bad_arguments_fail_at_parse_time_naming_the_field(kwargs, field) -> None:
    with pytest.raises(ElasticJobsValidationError) as info:
        ElasticJobsTargetSetupOperator(task_id="setup", **kwargs)
    assert str(info.value).startswith(f"{field}=")


def test_defaults_are_the_tutorials_grants() -> None:
    (spec,) = parse_logins(GOOD)
    placement = spec.placement
    assert placement.grants == tuple(Grant.parse(g) for g in DEFAULT_GRANTS)
    assert (placement.databases, placement.roles, placement.master_user) == (("TargetDb1",), (), False)
    (master,) = parse_logins([{"login_conn_id": "m", "master_user": True, "grants": []}])
    assert (master.placement.databases, master.placement.grants, master.placement.master_user) == (
        (),
        (),
        True,
    )


def test_templated_logins_are_checked_after_rendering_only() -> None:
    op = ElasticJobsTargetSetupOperator(task_id="setup", sql_conn_id="admin", logins="{{ var.json.logins }}")
    assert op.template_fields == ("sql_conn_id", "logins", "identities")


def test_odbc_and_emulator_connections_give_a_hook_for_each_database() -> None:
    pytest.importorskip("pyodbc", reason="OdbcHook needs pyodbc with the unixODBC library (libodbc2)")
    from airflow.sdk import Connection

    from elasticjobs_emulator.hooks.emulator_sql import ElasticJobsEmulatorSqlHook

    odbc = Connection(
        conn_id="azure_admin", conn_type="odbc", host="srv.database.windows.net", schema="master"
    )
    hook = odbc.get_hook(hook_params={"database": "TargetDb1"})
    assert (type(hook).__name__, hook.database) == ("OdbcHook", "TargetDb1")
    emulator = Connection(
        conn_id="emu_admin", conn_type="elastic_jobs_emulator_sql", extra='{"server_name": "s"}'
    )
    hook = emulator.get_hook(hook_params={"database": "TargetDb2"})
    assert isinstance(hook, ElasticJobsEmulatorSqlHook) and hook.database == "TargetDb2"
