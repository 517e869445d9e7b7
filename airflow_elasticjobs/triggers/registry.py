"""One shared poller per job agent and event loop (the triggerer runs one loop; ``dag.test()`` runs
each trigger in a fresh one), keyed by :class:`AgentKey`; a poller unregisters itself when its last
watch leaves."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from airflow_elasticjobs.triggers.agent_key import AgentKey
from airflow_elasticjobs.triggers.poller import AgentPoller, ExecutionSource

_REGISTRY: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[AgentKey, AgentPoller]] = (
    weakref.WeakKeyDictionary()
)


def shared_poller(
    key: AgentKey, open_hook: Callable[[], AbstractAsyncContextManager[ExecutionSource]]
) -> AgentPoller:
    """The poller of ``key`` in the running event loop, created on first use."""
    pollers = _REGISTRY.setdefault(asyncio.get_running_loop(), {})
    poller = pollers.get(key)
    if poller is None:

        def forget() -> None:
            if pollers.get(key) is poller:
                del pollers[key]

        poller = pollers[key] = AgentPoller(key, open_hook, on_idle=forget)
    return poller


def running_pollers() -> list[AgentPoller]:
    """The pollers of the running event loop (what a triggerer polls now; for diagnostics)."""
    return list(_REGISTRY.get(asyncio.get_running_loop(), {}).values())
