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
:func:`aread_connection`                   ``BaseHook.aget_connection`` from 3.1, else the sync
                                           ``get_connection`` and the parse in a thread
:func:`trigger_has_on_kill`                ``BaseTrigger.on_kill`` exists from 3.3
:func:`triggerer_matches_replies_by_id`    the trigger runner's channel takes concurrent requests from
                                           3.2
:func:`has_plugin_external_views`          ``AirflowPlugin.external_views`` exists from 3.1
=========================================  ======================================================
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

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
    "aread_connection",
    "conf",
    "has_plugin_external_views",
    "trigger_has_on_kill",
    "triggerer_matches_replies_by_id",
]


_T = TypeVar("_T")


async def aread_connection(conn_id: str, parse: Callable[[Any], _T]) -> _T:
    """``parse`` of the connection, read without blocking the event loop (the triggerer's).

    ``BaseHook.aget_connection`` from Airflow 3.1. On 3.0 the sync ``get_connection`` and ``parse``
    both run in a thread, as that version's own async providers do (``asgiref.sync.sync_to_async``):
    reading a connection's extra masks its secrets through the triggerer's supervisor channel, which
    sends with ``async_to_sync`` (``airflow/jobs/triggerer_job_runner.py``) and raises "You cannot
    use AsyncToSync in the same thread as an async event loop" on the event loop's own thread.
    """
    if hasattr(BaseHook, "aget_connection"):
        return parse(await BaseHook.aget_connection(conn_id))
    from asgiref.sync import sync_to_async

    def read() -> _T:
        return parse(BaseHook.get_connection(conn_id))

    return await sync_to_async(read, thread_sensitive=False)()


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
def triggerer_matches_replies_by_id() -> bool:
    """Whether a trigger may have a request to the triggerer's supervisor in flight beside others (3.2+).

    From 3.2 the trigger runner's channel matches each reply to its request by id (a reader task
    resolves one future per request: ``TriggerCommsDecoder.start_reader`` in
    ``airflow/jobs/triggerer_job_runner.py``). Before, ``asend`` reads the next frame under a lock
    and raises "Response read out of order" when it is another request's reply, which ends the trigger
    runner and every trigger in it: seen on 3.0.6 when a background task-state read overlapped a
    kill's read and the runner's own state sync.
    """
    from airflow.jobs.triggerer_job_runner import TriggerCommsDecoder

    return hasattr(TriggerCommsDecoder, "start_reader")


@cache
def has_plugin_external_views() -> bool:
    """Whether plugins can add a tab to the UI (``external_views``, Airflow 3.1+)."""
    from airflow.plugins_manager import AirflowPlugin

    return hasattr(AirflowPlugin, "external_views")
