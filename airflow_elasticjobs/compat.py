"""One home for what differs between the Airflow 3 minors the provider supports (3.0 to 3.3).

Every other module imports these names from here, never the version-dependent Airflow path itself,
so a new minor needs changes in this file only. docs/compatibility.md lists the differences with
the Airflow source that shows each one.

=========================================  ======================================================
name                                       where it comes from
=========================================  ======================================================
``conf``                                   ``airflow.sdk`` from 3.2, else ``airflow.configuration``
``BaseHook``                               ``airflow.sdk`` from 3.1, else ``airflow.hooks.base``
``AirflowException``                       ``airflow.sdk.exceptions`` from 3.1, else
                                           ``airflow.exceptions``
``AirflowNotFoundException``,              ``airflow.sdk.exceptions`` from 3.2, else
``AirflowSensorTimeout``,                  ``airflow.exceptions`` (the classes the task runner of
``AirflowTaskTimeout``,                    that version raises)
``TaskDeferralTimeout``
:func:`aget_connection`                    ``BaseHook.aget_connection`` from 3.1, else the sync
                                           ``get_connection`` in a thread
:func:`trigger_has_on_kill`                ``BaseTrigger.on_kill`` exists from 3.3
:func:`has_plugin_external_views`          ``AirflowPlugin.external_views`` exists from 3.1
=========================================  ======================================================
"""

from __future__ import annotations

from functools import cache
from typing import Any

try:  # Airflow >= 3.2
    from airflow.sdk import conf
except ImportError:  # 3.0, 3.1
    from airflow.configuration import conf

try:  # Airflow >= 3.1
    from airflow.sdk import BaseHook
except ImportError:  # 3.0
    from airflow.hooks.base import BaseHook  # type: ignore[no-redef]

try:  # Airflow >= 3.1
    from airflow.sdk.exceptions import AirflowException
except ImportError:  # 3.0
    from airflow.exceptions import AirflowException  # type: ignore[no-redef]

try:  # Airflow >= 3.2
    from airflow.sdk.exceptions import (
        AirflowNotFoundException,
        AirflowSensorTimeout,
        AirflowTaskTimeout,
        TaskDeferralTimeout,
    )
except ImportError:  # 3.0, 3.1
    from airflow.exceptions import (  # type: ignore[no-redef]
        AirflowNotFoundException,
        AirflowSensorTimeout,
        AirflowTaskTimeout,
        TaskDeferralTimeout,
    )

__all__ = [
    "AirflowException",
    "AirflowNotFoundException",
    "AirflowSensorTimeout",
    "AirflowTaskTimeout",
    "BaseHook",
    "TaskDeferralTimeout",
    "aget_connection",
    "conf",
    "has_plugin_external_views",
    "trigger_has_on_kill",
]


async def aget_connection(conn_id: str) -> Any:
    """The connection, read without blocking the event loop (the triggerer's).

    ``BaseHook.aget_connection`` from Airflow 3.1; on 3.0 the sync ``get_connection`` in a thread,
    as that version's own async providers do (``asgiref.sync.sync_to_async``; its supervisor
    channel sends from a thread through ``async_to_sync``, ``airflow/jobs/triggerer_job_runner.py``).
    """
    if hasattr(BaseHook, "aget_connection"):
        return await BaseHook.aget_connection(conn_id)
    from asgiref.sync import sync_to_async

    return await sync_to_async(BaseHook.get_connection, thread_sensitive=False)(conn_id)


@cache
def trigger_has_on_kill() -> bool:
    """Whether the triggerer awaits ``BaseTrigger.on_kill`` when a user ends a deferred task (3.3+).

    Before 3.3 it only cancels the trigger's asyncio task (``cancel_triggers`` in
    ``airflow/jobs/triggerer_job_runner.py``), the same as when the trigger moves to another
    triggerer or the triggerer stops; the trigger then sees ``CancelledError`` in ``run()``.
    """
    from airflow.triggers.base import BaseTrigger

    return hasattr(BaseTrigger, "on_kill")


@cache
def has_plugin_external_views() -> bool:
    """Whether plugins can add a tab to the UI (``external_views``, Airflow 3.1+)."""
    from airflow.plugins_manager import AirflowPlugin

    return hasattr(AirflowPlugin, "external_views")
