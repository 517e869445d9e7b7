"""The target setup's generated batches run on the interpreter: idempotent, hostile names stay names."""

from __future__ import annotations

from airflow_elasticjobs.target_setup_sql import DEFAULT_GRANTS, Grant, login_batch, user_batch

LOGIN = "job]user'; DROP TABLE t; --"
PASSWORD = "pa'ss;]W0rd"


def outcome(server, database: str, sql: str) -> str:
    return server.run(database, sql).result_sets[0].rows[0][0]


def test_generated_batches_create_once_and_grant_what_the_tutorial_needs(server) -> None:
    grants = [Grant.parse(g) for g in DEFAULT_GRANTS]
    assert outcome(server, "master", login_batch(LOGIN, PASSWORD).sql) == "created"
    assert outcome(server, "master", login_batch(LOGIN, PASSWORD).sql) == "existed"
    assert outcome(server, "TargetDb1", user_batch(LOGIN, LOGIN, grants, ["db_datareader"]).sql) == "created"
    assert outcome(server, "TargetDb1", user_batch(LOGIN, LOGIN, grants, ["db_datareader"]).sql) == "existed"
    server.run(
        "TargetDb1",
        "CREATE TABLE [x] (a INT); SELECT * FROM x",  # create needs both grants; select needs the role
        login=LOGIN,
        password=PASSWORD,
    )
    assert server.rows(
        "master", "SELECT COUNT(*) FROM sys.sql_logins WHERE name = N'job]user''; DROP TABLE t; --'"
    ) == [[1]]


def test_update_password_resets_an_existing_login(server) -> None:
    server.run("master", login_batch("jobuser", "First-Passw0rd!").sql)
    server.run("TargetDb1", user_batch("jobuser", "jobuser", [], []).sql)
    assert (
        outcome(server, "master", login_batch("jobuser", "Second-Passw0rd!", update_password=True).sql)
        == "updated"
    )
    assert server.login("TargetDb1", "jobuser", "Second-Passw0rd!").user == "jobuser"
