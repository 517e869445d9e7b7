"""``CREATE USER [name] FROM EXTERNAL PROVIDER``: Entra users a job agent's managed identity logs in as."""

from __future__ import annotations

import pytest

from elasticjobs_emulator import tsql

UMI = "ej-umi"


def test_external_user_lets_the_identity_in_with_its_roles(server) -> None:
    server.run(
        "TargetDb1",
        f"CREATE USER [{UMI}] FROM EXTERNAL PROVIDER; ALTER ROLE db_ddladmin ADD MEMBER [{UMI}]; "
        f"GRANT SELECT, INSERT ON SCHEMA::dbo TO [{UMI}]",
    )
    principal = tsql.connect_identity(server.catalog, "targetdb1", UMI.upper())
    assert (principal.user, principal.database, principal.is_admin) == (UMI, "TargetDb1", False)
    tsql.execute_batch(
        server.catalog, "TargetDb1", principal, "CREATE TABLE T (a INT); INSERT INTO T VALUES (1)"
    )
    rows = server.rows(
        "TargetDb1",
        "SELECT type, type_desc, authentication_type_desc FROM sys.database_principals "
        f"WHERE name = N'{UMI}'",
    )
    assert rows == [["E", "EXTERNAL_USER", "EXTERNAL"]]


def test_identity_without_a_user_gets_azures_token_login_failure(server) -> None:
    server.run("TargetDb1", f"CREATE USER [{UMI}] FROM EXTERNAL PROVIDER")
    with pytest.raises(tsql.LoginFailed) as info:
        tsql.connect_identity(server.catalog, "TargetDb2", UMI)
    assert (info.value.number, info.value.message) == (
        18456,
        "Login failed for user '<token-identified principal>'.",
    )
    with pytest.raises(tsql.LoginFailed) as missing:
        tsql.connect_identity(server.catalog, "NoSuchDb", UMI)
    assert missing.value.number == 4060


def test_a_sql_login_user_of_the_same_name_is_not_the_identity(server) -> None:
    server.add_login(UMI, "Str0ng-Pass!", ("TargetDb1",))
    with pytest.raises(tsql.LoginFailed):
        tsql.connect_identity(server.catalog, "TargetDb1", UMI)


def test_drop_user_removes_the_external_user_and_its_memberships(server) -> None:
    server.run(
        "TargetDb1", f"CREATE USER [{UMI}] FROM EXTERNAL PROVIDER; ALTER ROLE db_owner ADD MEMBER [{UMI}]"
    )
    server.run("TargetDb1", f"DROP USER [{UMI}]; DROP USER IF EXISTS [{UMI}]")
    with pytest.raises(tsql.LoginFailed):
        tsql.connect_identity(server.catalog, "TargetDb1", UMI)
    assert server.rows(
        "TargetDb1", "SELECT COUNT(*) FROM sys.database_role_members WHERE member_principal_id > 4"
    ) == [[0]]


@pytest.mark.parametrize(
    ("sql", "number"),
    [
        (f"CREATE USER [{UMI}] FROM EXTERNAL PROVIDER; CREATE USER [{UMI}] FROM EXTERNAL PROVIDER", 15023),
        (f"CREATE USER [{UMI}] FROM EXTERNAL", 102),
        (f"CREATE USER [{UMI}] FROM EXTERNAL PROVIDER WITH OBJECT_ID = 'x'", 40517),
    ],
)
def test_external_user_errors(server, sql, number) -> None:
    with pytest.raises(tsql.TsqlError) as info:
        server.run("TargetDb1", sql)
    assert info.value.number == number


def test_creating_an_external_user_needs_alter_any_user(server) -> None:
    server.add_login("plain", "Str0ng-Pass!", ("TargetDb1",))
    with pytest.raises(tsql.PermissionDenied):
        server.run(
            "TargetDb1", f"CREATE USER [{UMI}] FROM EXTERNAL PROVIDER", login="plain", password="Str0ng-Pass!"
        )
