"""Target enumeration: include minus exclude, server expansion, pools, unsupported members."""

from __future__ import annotations

from typing import Any

import pytest

from elasticjobs_emulator.engine.targets import MemberError, ServerView, Target, enumerate_targets

POOL_ID = "/subscriptions/s/resourceGroups/r/providers/Microsoft.Sql/servers/tsrv/elasticPools/pool1"
DATABASES = {
    "tsrv": [("master", {}), ("TargetDb1", {}), ("TargetDb2", {"elasticPoolId": POOL_ID}), ("Other", {})],
    "srv2": [("master", {}), ("db9", {})],
}


def view(bad_refresh: frozenset[str] = frozenset()) -> ServerView:
    def databases(server: str) -> list[tuple[str, dict[str, Any]]]:
        if server not in DATABASES:
            raise MemberError(f"server '{server}' does not exist")
        return DATABASES[server]

    def check(server: str, _credential: str) -> None:
        if server in bad_refresh:
            raise MemberError(f"Login failed to master of '{server}'")

    return ServerView(databases=databases, check_refresh_login=check)


def server(name: str, membership: str = "Include") -> dict[str, Any]:
    return {"type": "SqlServer", "serverName": name, "refreshCredential": "c", "membershipType": membership}


def database(server_name: str, name: str, membership: str = "Include") -> dict[str, Any]:
    return {
        "type": "SqlDatabase",
        "serverName": server_name,
        "databaseName": name,
        "membershipType": membership,
    }


def names(targets: list[Target]) -> list[tuple[str, str | None]]:
    return [(t.server, t.database) for t in targets]


def test_server_member_expands_to_user_databases_without_master():
    assert names(enumerate_targets([server("tsrv")], view())) == [
        ("tsrv", "TargetDb1"),
        ("tsrv", "TargetDb2"),
        ("tsrv", "Other"),
    ]


def test_tutorial_group_excludes_one_database_case_insensitively():
    members = [server("tsrv"), database("tsrv", "targetdb2", "Exclude"), database("TSRV", "other", "Exclude")]
    assert names(enumerate_targets(members, view())) == [("tsrv", "TargetDb1")]


def test_duplicates_collapse_and_order_is_kept():
    members = [database("srv2", "db9"), server("tsrv"), database("TSRV", "targetdb1"), server("srv2")]
    assert names(enumerate_targets(members, view())) == [
        ("srv2", "db9"),
        ("tsrv", "TargetDb1"),
        ("tsrv", "TargetDb2"),
        ("tsrv", "Other"),
    ]


def test_excluding_a_whole_server():
    members = [database("tsrv", "TargetDb1"), database("srv2", "db9"), server("tsrv", "Exclude")]
    assert names(enumerate_targets(members, view())) == [("srv2", "db9")]


def test_elastic_pool_member_selects_pool_databases():
    pool = {
        "type": "SqlElasticPool",
        "serverName": "tsrv",
        "elasticPoolName": "POOL1",
        "refreshCredential": "c",
    }
    assert names(enumerate_targets([pool], view())) == [("tsrv", "TargetDb2")]


def test_refresh_login_failure_becomes_a_failed_server_target():
    [target] = enumerate_targets([server("tsrv")], view(bad_refresh=frozenset({"tsrv"})))
    assert (target.type, target.server, target.database) == ("SqlServer", "tsrv", None)
    assert "Login failed" in str(target.error)


def test_shard_map_is_reported_as_unsupported():
    member = {
        "type": "SqlShardMap",
        "serverName": "tsrv",
        "databaseName": "smdb",
        "shardMapName": "map",
        "refreshCredential": "c",
    }
    [target] = enumerate_targets([member, database("srv2", "db9")], view())[:1]
    assert target.type == "SqlShardMap" and "not supported by the emulator" in str(target.error)


def test_missing_server_fails_only_that_member():
    targets = enumerate_targets([server("nope"), database("srv2", "db9")], view())
    assert [(t.server, t.error is None) for t in targets] == [("nope", False), ("srv2", True)]


@pytest.mark.parametrize("members", [[], [database("tsrv", "x", "Exclude")]])
def test_no_include_members_means_no_targets(members):
    assert enumerate_targets(members, view()) == []
