"""SQL generation and quoting of the target setup (no database needed)."""

from __future__ import annotations

import pytest

from airflow_elasticjobs.target_setup_sql import (
    Grant,
    login_batch,
    quote_identifier,
    quote_literal,
    user_batch,
    validate_name,
)
from airflow_elasticjobs.validation import ElasticJobsValidationError


def test_quoting_doubles_the_closing_characters() -> None:
    assert quote_identifier("a]b") == "[a]]b]"
    assert quote_identifier("x'; DROP TABLE t; --") == "[x'; DROP TABLE t; --]"
    assert quote_literal("it's") == "N'it''s'"
    with pytest.raises(ValueError, match="NUL"):
        quote_literal("a\x00b")


@pytest.mark.parametrize(
    ("value", "fix"),
    [
        ("", "non-empty"),
        (None, "non-empty"),
        ("x" * 129, "at most 128"),
        ("bad\nname", "control characters"),
        (" padded", "leading or trailing"),
    ],
)
def test_names_are_validated_locally(value, fix) -> None:
    with pytest.raises(ElasticJobsValidationError, match=fix) as info:
        validate_name(value, "logins[0].databases")
    assert "logins[0].databases" in str(info.value)


@pytest.mark.parametrize(
    ("text", "grant", "rendered"),
    [
        ("CREATE TABLE", Grant("CREATE TABLE"), "GRANT CREATE TABLE TO [u]];x];"),
        ("alter on schema::dbo", Grant("ALTER", "SCHEMA", "dbo"), "GRANT ALTER ON SCHEMA::[dbo] TO [u]];x];"),
        (
            "SELECT ON [dbo].[My]]Table]",
            Grant("SELECT", "OBJECT", "My]Table"),
            "GRANT SELECT ON OBJECT::[My]]Table] TO [u]];x];",
        ),
        (
            "SELECT ON OBJECT::dbo.t",
            Grant("SELECT", "OBJECT", "t"),
            "GRANT SELECT ON OBJECT::[t] TO [u]];x];",
        ),
    ],
)
def test_grants_parse_and_render_quoted(text, grant, rendered) -> None:
    assert Grant.parse(text) == grant
    assert grant.render("u];x") == rendered


@pytest.mark.parametrize("text", ["", "SELECT; DROP TABLE t", "ON SCHEMA::dbo", "SELECT ON SCHEMA::", 42])
def test_bad_grants_name_the_field(text) -> None:
    with pytest.raises(ElasticJobsValidationError) as info:
        Grant.parse(text, "logins[1].grants")
    assert "logins[1].grants" in str(info.value)


def test_login_batch_quotes_the_password_and_redacts_the_display() -> None:
    batch = login_batch("job]user", "pa'ss]word", update_password=False)
    assert "CREATE LOGIN [job]]user] WITH PASSWORD = N'pa''ss]word';" in batch.sql
    assert "WHERE name = N'job]user'" in batch.sql
    assert "pa'ss" not in batch.display and "pa''ss" not in batch.display
    assert "WITH PASSWORD = N'***'" in batch.display
    assert "ALTER LOGIN" not in batch.sql
    rotating = login_batch("jobuser", "Secret-1!", update_password=True)
    assert "ALTER LOGIN [jobuser] WITH PASSWORD = N'Secret-1!';" in rotating.sql
    assert "Secret-1!" not in rotating.display
    with pytest.raises(ElasticJobsValidationError, match="empty password"):
        login_batch("jobuser", "")


def test_user_batch_creates_once_then_grants_and_roles() -> None:
    batch = user_batch("jobuser", "jobuser", [Grant("CREATE TABLE")], ["db_datareader"])
    assert batch.sql == batch.display
    assert "IF NOT EXISTS (SELECT 1 FROM sys.database_principals WHERE name = N'jobuser')" in batch.sql
    assert "CREATE USER [jobuser] FROM LOGIN [jobuser];" in batch.sql
    assert batch.sql.rstrip().endswith(
        "GRANT CREATE TABLE TO [jobuser];\nALTER ROLE [db_datareader] ADD MEMBER [jobuser];"
    )
