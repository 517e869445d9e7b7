"""Run-time enumeration of a step's targets from its target group's members.

Rules (Azure's documented model; the emulator's choices are marked and listed in
docs/emulator-engine.md):
- Include members minus Exclude members; duplicates collapse (a database reached through a
  server member and a database member runs once).
- ``SqlDatabase``: that one database.
- ``SqlServer``: the server's user databases at run time, ``master`` excluded (inference: the
  refresh credential only reads master to list databases). The refresh credential must be able to
  log in to master, or the member yields a failed pseudo-target naming the server. A member without
  a refresh credential is enumerated as the job agent's managed identity, which needs a user in
  master (``CREATE USER [name] FROM EXTERNAL PROVIDER``).
- ``SqlElasticPool`` (emulator choice): the server's databases whose ``properties.elasticPoolId``
  ends in ``/elasticPools/{pool}``; the refresh credential must log in to master as above.
- ``SqlShardMap``: not supported by the emulator; the member yields a failed pseudo-target saying so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DATABASE = "SqlDatabase"
SERVER = "SqlServer"
ELASTIC_POOL = "SqlElasticPool"
SHARD_MAP = "SqlShardMap"


@dataclass(frozen=True)
class Target:
    """One database a step runs on (or, with ``error``, a member that could not be enumerated)."""

    type: str
    server: str
    database: str | None
    error: str | None = field(default=None, compare=False)

    @property
    def key(self) -> tuple[str, str, str]:
        """Case-insensitive identity of the target."""
        return (self.type.lower(), self.server.lower(), (self.database or "").lower())


class MemberError(Exception):
    """A member could not be expanded (message says why and how to fix it)."""


@dataclass
class ServerView:
    """What target enumeration needs to know about emulated servers (injected for testing).

    ``databases(server)`` returns ``(name, properties)`` pairs of the server's databases and raises
    :class:`MemberError` when the server does not exist; ``check_refresh_login(server, credential_id)``
    raises :class:`MemberError` when that credential cannot log in to the server's master.
    """

    databases: Callable[[str], list[tuple[str, dict[str, Any]]]]
    check_refresh_login: Callable[[str, str], None]


def _pool_matches(properties: dict[str, Any], pool: str) -> bool:
    pool_id = str(properties.get("elasticPoolId") or "")
    return pool_id.lower().endswith(f"/elasticpools/{pool.lower()}")


def _expand(member: dict[str, Any], view: ServerView) -> list[Target]:
    kind = member.get("type")
    server = str(member.get("serverName", ""))
    if kind == DATABASE:
        return [Target(DATABASE, server, str(member.get("databaseName", "")))]
    if kind == SHARD_MAP:
        raise MemberError(
            f"Target type SqlShardMap (shard map '{member.get('shardMapName')}' in database "
            f"'{member.get('databaseName')}') is not supported by the emulator; list the shard "
            "databases as SqlDatabase members instead."
        )
    if kind not in (SERVER, ELASTIC_POOL):
        raise MemberError(f"Target type '{kind}' is not supported by the emulator.")
    view.check_refresh_login(server, str(member.get("refreshCredential", "")))
    databases = [(name, props) for name, props in view.databases(server) if name.lower() != "master"]
    if kind == ELASTIC_POOL:
        pool = str(member.get("elasticPoolName", ""))
        databases = [(name, props) for name, props in databases if _pool_matches(props, pool)]
    return [Target(DATABASE, server, name) for name, _ in databases]


def _member_target(member: dict[str, Any]) -> Target:
    """The pseudo-target that reports a member which could not be expanded."""
    kind = str(member.get("type"))
    database = member.get("databaseName") if kind == SHARD_MAP else None
    return Target(kind, str(member.get("serverName", "")), database)


def enumerate_targets(members: list[dict[str, Any]], view: ServerView) -> list[Target]:
    """Targets of a step: Include members' databases minus Exclude members' databases, in order.

    A member that cannot be expanded becomes a target carrying ``error``; the engine fails it.
    Excluding a member that cannot be expanded excludes nothing.
    """
    included: dict[tuple[str, str, str], Target] = {}
    excluded: set[tuple[str, str, str]] = set()
    for member in members:
        include = member.get("membershipType", "Include") != "Exclude"
        try:
            expanded = _expand(member, view)
        except MemberError as exc:
            if include:
                failed = _member_target(member)
                included.setdefault(failed.key, Target(failed.type, failed.server, failed.database, str(exc)))
            continue
        for target in expanded:
            if include:
                included.setdefault(target.key, target)
            else:
                excluded.add(target.key)
    return [target for key, target in included.items() if key not in excluded]
