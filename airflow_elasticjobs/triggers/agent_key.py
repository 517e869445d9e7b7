"""The unit the triggerer shares a poller for: one job agent as seen through one connection."""

from __future__ import annotations

from typing import NamedTuple


class AgentKey(NamedTuple):
    """Identity of one job agent as seen through one connection (the unit of sharing).

    Immutable and hashable; a ``NamedTuple`` rather than a frozen dataclass because it is cheaper to
    define at import time (the import budget, benchmarks/import_cost.py).
    """

    conn_id: str
    endpoint: str
    subscription_id: str
    resource_group_name: str
    server_name: str
    agent_name: str
