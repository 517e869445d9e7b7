"""Logins, users, GRANTs, roles and the permission model of the T-SQL interpreter."""

from __future__ import annotations

import pytest

from elasticjobs_emulator import tsql

JOB_PW = "password!123"
STEP1 = (
    "IF NOT EXISTS (SELECT * FROM sys.tables WHERE object_id = object_id('Step1Table')) "
    "CREATE TABLE [dbo].[Step1Table]([TestId] [int] NOT NULL);"
)
TUTORIAL_GRANTS = "GRANT ALTER ON SCHEMA::dbo TO jobuser; GRANT CREATE TABLE TO jobuser"


def test_tutorial_target_setup_then_step_runs_as_jobuser(server) -> None:
    server.run("master", "CREATE LOGIN masteruser WITH PASSWORD='password!123'")
    server.run("master", "CREATE USER masteruser FROM LOGIN masteruser")
    server.run("master", "CREATE LOGIN jobuser WITH PASSWORD='password!123'")
    for db in ("TargetDb1", "TargetDb2"):
        server.run(db, "CREATE USER jobuser FROM LOGIN jobuser")
        server.run(db, "GRANT ALTER ON SCHEMA::dbo TO jobuser")
        server.run(db, "GRANT CREATE TABLE TO jobuser")
    assert server.login("master", "masteruser", JOB_PW).user == "masteruser"
    for db in ("TargetDb1", "TargetDb2"):
        server.run(db, STEP1, "jobuser", JOB_PW)
        server.run(db, STEP1, "jobuser", JOB_PW)  # second run: the IF NOT EXISTS guard holds
        assert server.rows(db, "SELECT name, type_desc FROM sys.tables") == [["Step1Table", "USER_TABLE"]]


@pytest.mark.parametrize(
    ("database", "login", "password", "number"),
    [
        ("master", "sqladmin", "wrong", 18456),
        ("master", "nobody", JOB_PW, 18456),
        ("TargetDb1", "jobuser", "wrong", 18456),
        ("TargetDb2", "jobuser", JOB_PW, 18456),  # login exists but has no user there
        ("NoSuchDb", "sqladmin", "Adm1n-Pass!", 4060),
    ],
)
def test_login_failures(server, database, login, password, number) -> None:
    server.add_login("jobuser", JOB_PW, ("TargetDb1",))
    with pytest.raises(tsql.LoginFailed) as info:
        server.login(database, login, password)
    assert info.value.number == number
    assert password not in str(info.value)


def test_admin_is_dbo_everywhere_and_names_are_case_insensitive(server) -> None:
    principal = server.login("targetdb1", "SQLADMIN")
    assert (principal.user, principal.database, principal.is_admin) == ("dbo", "TargetDb1", True)


def test_create_login_rules(server) -> None:
    with pytest.raises(tsql.TsqlError) as outside_master:
        server.run("TargetDb1", "CREATE LOGIN alpha WITH PASSWORD = 'Passw0rd!x'")
    assert (outside_master.value.number, outside_master.value.message) == (
        5001,
        "User must be in the master database.",
    )
    server.run("master", "CREATE LOGIN alpha WITH PASSWORD = 'Passw0rd!x'")
    with pytest.raises(tsql.TsqlError) as duplicate:
        server.run("master", "CREATE LOGIN [ALPHA] WITH PASSWORD = 'Passw0rd!x'")
    assert duplicate.value.number == 15025
    with pytest.raises(tsql.TsqlError) as admin_name:
        server.run("master", "CREATE LOGIN sqladmin WITH PASSWORD = 'Passw0rd!x'")
    assert admin_name.value.number == 15025
    with pytest.raises(tsql.TsqlError) as weak:
        server.run("master", "CREATE LOGIN beta WITH PASSWORD = 'short'")
    assert weak.value.number == 15118 and "short" not in weak.value.message


def test_passwords_are_stored_as_digests_only(server) -> None:
    server.add_login("jobuser", "Unique-Secret-42!", ("TargetDb1",))
    for db in ("master", "TargetDb1"):
        assert b"Unique-Secret-42!" not in server.catalog.database_file(db).read_bytes()
    server.run("master", "ALTER LOGIN jobuser WITH PASSWORD = 'Rotated-Secret-43!'")
    with pytest.raises(tsql.LoginFailed):
        server.login("TargetDb1", "jobuser", "Unique-Secret-42!")
    assert server.login("TargetDb1", "jobuser", "Rotated-Secret-43!").user == "jobuser"


def test_non_admin_cannot_manage_logins_or_users(server) -> None:
    server.add_login("jobuser", JOB_PW, ("master", "TargetDb1"))
    for db, sql in (
        ("master", "CREATE LOGIN x WITH PASSWORD = 'Passw0rd!x'"),
        ("TargetDb1", "CREATE USER y"),
    ):
        with pytest.raises(tsql.PermissionDenied) as info:
            server.run(db, sql, "jobuser", JOB_PW)
        assert info.value.number == 15247


def test_create_user_rules(server) -> None:
    server.run("master", "CREATE LOGIN jobuser WITH PASSWORD = 'password!123'")
    cases = [
        ("CREATE USER ghost FROM LOGIN ghost", 15007),
        ("CREATE USER boss FOR LOGIN sqladmin", 15063),
    ]
    for sql, number in cases:
        with pytest.raises(tsql.TsqlError) as info:
            server.run("TargetDb1", sql)
        assert info.value.number == number
    server.run("TargetDb1", "CREATE USER jobuser")  # no FROM LOGIN: maps to the login of the same name
    with pytest.raises(tsql.TsqlError) as duplicate:
        server.run("TargetDb1", "CREATE USER jobuser FOR LOGIN jobuser")
    assert duplicate.value.number == 15023
    with pytest.raises(tsql.TsqlError) as second_user:
        server.run("TargetDb1", "CREATE USER other FROM LOGIN jobuser")
    assert second_user.value.number == 15063
    server.run("TargetDb1", "DROP USER jobuser; DROP USER IF EXISTS jobuser")
    with pytest.raises(tsql.LoginFailed):
        server.login("TargetDb1", "jobuser", JOB_PW)
    with pytest.raises(tsql.TsqlError) as missing:
        server.run("TargetDb1", "DROP USER jobuser")
    assert missing.value.number == 15151


def test_create_table_needs_create_table_and_alter_on_schema(server) -> None:
    server.add_login("jobuser", JOB_PW, ("TargetDb1",))
    create = "CREATE TABLE t (a INT)"
    with pytest.raises(tsql.PermissionDenied) as no_grant:
        server.run("TargetDb1", create, "jobuser", JOB_PW)
    assert no_grant.value.number == 262
    assert no_grant.value.message == "CREATE TABLE permission denied in database 'TargetDb1'."
    server.run("TargetDb1", "GRANT CREATE TABLE TO jobuser")
    with pytest.raises(tsql.PermissionDenied) as no_schema:
        server.run("TargetDb1", create, "jobuser", JOB_PW)
    assert no_schema.value.number == 2760
    server.run("TargetDb1", "GRANT ALTER ON SCHEMA::[dbo] TO [jobuser]")
    server.run("TargetDb1", create + "; DROP TABLE t", "jobuser", JOB_PW)
    server.run("TargetDb1", "REVOKE CREATE TABLE FROM jobuser")
    with pytest.raises(tsql.PermissionDenied):
        server.run("TargetDb1", create, "jobuser", JOB_PW)


def test_dml_permissions_through_roles_and_object_grants(server) -> None:
    server.add_login("jobuser", JOB_PW, ("TargetDb1",))
    server.run("TargetDb1", "CREATE TABLE t (a INT); CREATE TABLE u (a INT)")
    with pytest.raises(tsql.PermissionDenied) as denied:
        server.run("TargetDb1", "SELECT * FROM t", "jobuser", JOB_PW)
    assert denied.value.message == (
        "The SELECT permission was denied on the object 't', database 'TargetDb1', schema 'dbo'."
    )
    server.run("TargetDb1", "GRANT SELECT ON OBJECT::dbo.t TO jobuser")
    assert server.run("TargetDb1", "SELECT * FROM t", "jobuser", JOB_PW).result_sets[0].rows == []
    with pytest.raises(tsql.PermissionDenied):
        server.run("TargetDb1", "SELECT * FROM u", "jobuser", JOB_PW)
    with pytest.raises(tsql.PermissionDenied) as insert:
        server.run("TargetDb1", "INSERT INTO u SELECT a FROM t", "jobuser", JOB_PW)
    assert "INSERT permission" in insert.value.message
    server.run(
        "TargetDb1",
        "ALTER ROLE db_datawriter ADD MEMBER jobuser; ALTER ROLE db_datareader ADD MEMBER jobuser",
    )
    server.run(
        "TargetDb1", "INSERT INTO u VALUES (1); UPDATE u SET a = 2; SELECT * FROM u", "jobuser", JOB_PW
    )
    with pytest.raises(tsql.TsqlError) as drop:  # data roles do not allow DDL
        server.run("TargetDb1", "DROP TABLE u", "jobuser", JOB_PW)
    assert drop.value.number == 3701
    server.run("TargetDb1", "ALTER ROLE db_owner ADD MEMBER jobuser")
    server.run("TargetDb1", "DROP TABLE u", "jobuser", JOB_PW)
    server.run(
        "TargetDb1", "ALTER ROLE db_owner DROP MEMBER jobuser; ALTER ROLE db_datawriter DROP MEMBER jobuser"
    )
    with pytest.raises(tsql.PermissionDenied):
        server.run("TargetDb1", "DELETE FROM t", "jobuser", JOB_PW)


@pytest.mark.parametrize(
    ("sql", "number"),
    [
        ("GRANT SELECT TO ghost", 15151),
        ("GRANT ALTER ON SCHEMA::sales TO jobuser", 15151),
        ("GRANT SELECT ON OBJECT::missing TO jobuser", 15151),
        ("GRANT CREATE TABLE ON SCHEMA::dbo TO jobuser", 4613),
        ("ALTER ROLE db_nothing ADD MEMBER jobuser", 15151),
        ("ALTER ROLE db_owner ADD MEMBER ghost", 15151),
        ("GRANT FLY TO jobuser", 40517),
        ("GRANT SELECT TO jobuser WITH GRANT OPTION", 40517),
    ],
)
def test_security_statement_errors(server, sql, number) -> None:
    server.add_login("jobuser", JOB_PW, ("TargetDb1",))
    with pytest.raises(tsql.TsqlError) as info:
        server.run("TargetDb1", sql)
    assert info.value.number == number


def test_catalog_views_answer_truthfully(server) -> None:
    server.add_login("jobuser", JOB_PW, ("TargetDb1",), "ALTER ROLE db_datareader ADD MEMBER jobuser")
    assert server.rows("master", "SELECT name FROM sys.sql_logins ORDER BY name") == [
        ["jobuser"],
        ["sqladmin"],
    ]
    assert [r[0] for r in server.rows("master", "SELECT name FROM sys.databases ORDER BY database_id")] == [
        "master",
        "TargetDb1",
        "TargetDb2",
    ]
    assert server.rows("TargetDb2", "SELECT name FROM sys.databases ORDER BY database_id") == [
        ["master"],
        ["TargetDb2"],
    ]
    users = server.rows(
        "TargetDb1", "SELECT name FROM sys.database_principals WHERE principal_id >= 5 AND type = 'S'"
    )
    assert users == [["jobuser"]]
    assert server.rows(
        "TargetDb1",
        "SELECT r.name FROM sys.database_role_members m JOIN sys.database_principals r "
        "ON r.principal_id = m.role_principal_id",
    ) == [["db_datareader"]]
    with pytest.raises(tsql.TsqlError) as no_logins_here:
        server.run("TargetDb1", "SELECT * FROM sys.sql_logins")
    assert no_logins_here.value.number == 208
    assert server.rows("TargetDb1", "SELECT OBJECT_ID('nothing'), DB_NAME(), USER_NAME()") == [
        [None, "TargetDb1", "dbo"]
    ]
    functions = "SELECT SUSER_SNAME(), SCHEMA_NAME(), CONCAT('a', NULL, 1), LEN(NEWID())"
    assert server.rows("TargetDb1", functions, login="jobuser", password=JOB_PW) == [
        ["jobuser", "dbo", "a1", 36]
    ]


def test_internal_tables_are_invisible(server) -> None:
    server.add_login("jobuser", JOB_PW, ("TargetDb1",))
    assert server.rows("TargetDb1", "SELECT COUNT(*) FROM sys.tables") == [[0]]
    for sql in ("SELECT * FROM __emulator_principals", "DELETE FROM [dbo].[__emulator_permissions]"):
        with pytest.raises(tsql.TsqlError) as info:
            server.run("TargetDb1", sql)
        assert info.value.number == 208


def test_names_with_brackets_quotes_and_semicolons(server) -> None:
    login = "we]ird'; DROP TABLE t; --"
    server.run("TargetDb1", "CREATE TABLE t (a INT)")
    server.run("master", "CREATE LOGIN [we]]ird'; DROP TABLE t; --] WITH PASSWORD = N'pa''ss;]Word1'")
    server.run(
        "TargetDb1",
        "CREATE USER [we]]ird'; DROP TABLE t; --] FROM LOGIN [we]]ird'; DROP TABLE t; --];"
        "GRANT SELECT ON [t] TO [we]]ird'; DROP TABLE t; --]",
    )
    principal = server.login("TargetDb1", login, "pa'ss;]Word1")
    assert principal.user == login
    assert server.rows(
        "TargetDb1", "SELECT name FROM sys.database_principals WHERE name = N'we]ird''; DROP TABLE t; --'"
    ) == [[login]]
    assert server.rows("TargetDb1", "SELECT COUNT(*) FROM sys.tables WHERE name = 't'") == [[1]]


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE LOGIN leaky WITH PASSWORD 'Secret-Passw0rd!'",
        "CREATE LOGIN leaky WITH PASSWORD = 'Secret-Passw0rd!' 'Secret-Passw0rd!'",
        "ALTER LOGIN nobody WITH PASSWORD = 'Secret-Passw0rd!'",
    ],
)
def test_passwords_never_appear_in_errors(server, sql) -> None:
    with pytest.raises(tsql.TsqlError) as info:
        server.run("master", sql)
    assert "Secret-Passw0rd!" not in str(info.value)
