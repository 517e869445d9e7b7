"""The emulator's service-principal registry and token signer, and the RBAC action names of writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from elasticjobs_emulator.api.auth import arm_action
from elasticjobs_emulator.passwords import PasswordHasher
from elasticjobs_emulator.principals import (
    Principal,
    PrincipalError,
    Principals,
    load_principals_file,
)
from elasticjobs_emulator.store import Store

SECRET = "Unit-Secret-Value-1"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = Store(tmp_path / "state.db")
    yield opened
    opened.close()


def registry(store: Store) -> Principals:
    return Principals(store, PasswordHasher.for_store(store))


def registered(store: Store, **body: Any) -> tuple[Principals, Principal]:
    principals = registry(store)
    principal, secret = Principal.parse("App-1", {"secret": SECRET, **body})
    principals.register(principal, secret)
    stored = principals.get(principal.client_id)
    assert stored is not None
    return principals, stored


def test_registration_keeps_only_a_digest_and_survives_a_restart(store: Store) -> None:
    principals, principal = registered(store, role="reader", lifetime_seconds=60)
    assert principal.client_id == "app-1" and not principal.can_write
    assert principals.secret_matches(principal, SECRET)
    assert not principals.secret_matches(principal, "wrong")
    dump = "".join(str(row) for row in store._conn.execute("SELECT * FROM secrets UNION SELECT * FROM meta"))
    assert SECRET not in dump
    again = registry(store)  # a restarted emulator over the same state
    assert again.get("APP-1") == principal
    assert again.secret_matches(principal, SECRET)


def test_issued_tokens_verify_until_expiry_and_survive_a_restart(store: Store) -> None:
    principals, principal = registered(store, lifetime_seconds=100)
    token = principals.issue(principal, "tenant")
    verified = registry(store).verify(token)
    assert verified is not None and verified.principal == principal
    assert verified.expired_at(verified.expires_on - 1) is None
    assert verified.expired_at(verified.expires_on) == verified.expires_on
    assert principals.tokens_issued["app-1"] == 1


def test_clock_skew_expires_tokens_early(store: Store) -> None:
    principals, principal = registered(store, lifetime_seconds=10, clock_skew_seconds=4)
    verified = principals.verify(principals.issue(principal, "tenant"))
    assert verified is not None
    assert verified.expired_at(verified.expires_on - 5) is None
    assert verified.expired_at(verified.expires_on - 4) == verified.expires_on


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature changed
        lambda t: t.replace("ej1.", "ej2."),
        lambda t: t.split(".", 1)[1],
        lambda t: "not-a-token",
        lambda t: t + "\xe9",  # non-ASCII, as a latin-1 header can carry
    ],
)
def test_forged_or_malformed_tokens_are_not_verified(store: Store, mangle: Any) -> None:
    principals, principal = registered(store)
    assert principals.verify(mangle(principals.issue(principal, "tenant"))) is None


def test_tokens_of_a_removed_principal_stop_working(store: Store) -> None:
    principals, principal = registered(store)
    token = principals.issue(principal, "tenant")
    assert principals.remove("app-1")
    assert principals.verify(token) is None
    assert not principals.remove("app-1")
    again, _ = registered(store)  # the same client id registered anew
    assert again.verify(token) is None
    fresh = again.issue(again.get("app-1"), "tenant")
    registered(store, role="reader")  # replacing (no removal) keeps issued tokens valid
    assert registry(store).verify(fresh).principal.role == "reader"


def test_tokens_signed_by_another_emulator_are_not_verified(store: Store, tmp_path: Path) -> None:
    principals, principal = registered(store)
    other_store = Store(tmp_path / "other.db")
    try:
        other, _ = registered(other_store)
        assert other.verify(principals.issue(principal, "tenant")) is None
    finally:
        other_store.close()


@pytest.mark.parametrize(
    ("client_id", "body", "field"),
    [
        ("bad/id", {"secret": "s"}, "client_id"),
        ("app", {}, "secret"),
        ("app", {"secret": ""}, "secret"),
        ("app", {"secret": "s", "role": "owner"}, "role"),
        ("app", {"secret": "s", "lifetime_seconds": 0}, "lifetime_seconds"),
        ("app", {"secret": "s", "lifetime_seconds": "60"}, "lifetime_seconds"),
        ("app", {"secret": "s", "lifetime_seconds": 10, "clock_skew_seconds": 10}, "clock_skew_seconds"),
        ("app", {"secret": "s", "clock_skew_seconds": -1}, "clock_skew_seconds"),
        ("app", {"secret": "s", "lifetime": 60}, "lifetime"),
    ],
)
def test_invalid_registrations_name_the_field(client_id: str, body: dict[str, Any], field: str) -> None:
    with pytest.raises(PrincipalError) as caught:
        Principal.parse(client_id, body)
    assert caught.value.field == field


def test_principals_file(tmp_path: Path) -> None:
    path = tmp_path / "principals.json"
    path.write_text(json.dumps([{"client_id": "a", "secret": "s", "role": "reader", "lifetime_seconds": 5}]))
    ((principal, secret),) = load_principals_file(path)
    assert (principal.client_id, principal.role, principal.lifetime_seconds, secret) == (
        "a",
        "reader",
        5,
        "s",
    )
    path.write_text(json.dumps([{"client_id": "a", "secret": "File-Secret-42", "role": "owner"}]))
    with pytest.raises(PrincipalError, match=r"entry 0: 'owner' is not one of") as caught:
        load_principals_file(path)
    assert caught.value.field == "[0].role"
    assert "File-Secret-42" not in str(caught.value)


AGENT = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/srv/jobAgents/agent"


@pytest.mark.parametrize(
    ("method", "path", "action", "scope"),
    [
        ("PUT", AGENT, "Microsoft.Sql/servers/jobAgents/write", AGENT),
        ("PATCH", AGENT, "Microsoft.Sql/servers/jobAgents/write", AGENT),
        ("DELETE", f"{AGENT}/jobs/j", "Microsoft.Sql/servers/jobAgents/jobs/delete", f"{AGENT}/jobs/j"),
        (
            "POST",
            f"{AGENT}/jobs/j/start",
            "Microsoft.Sql/servers/jobAgents/jobs/start/action",
            f"{AGENT}/jobs/j",
        ),
        (
            "POST",
            f"{AGENT}/jobs/j/executions/e/cancel",
            "Microsoft.Sql/servers/jobAgents/jobs/executions/cancel/action",
            f"{AGENT}/jobs/j/executions/e",
        ),
        (
            "PUT",
            "/subscriptions/s/resourcegroups/rg",
            "Microsoft.Resources/write",
            "/subscriptions/s/resourcegroups/rg",
        ),
    ],
)
def test_arm_action_names(method: str, path: str, action: str, scope: str) -> None:
    assert arm_action(method, path) == (action, scope)


def test_the_state_database_holding_key_and_digests_is_owner_only(store: Store) -> None:
    registered(store)
    store._conn.execute("CREATE TABLE IF NOT EXISTS t(x)")  # make SQLite write its WAL
    for path in (store.path, store.path.with_name(store.path.name + "-wal")):
        assert path.stat().st_mode & 0o777 == 0o600, path
