"""Airflow asset events, one per target database of a finished execution (data-aware scheduling).

A job touches databases known only at run time, so the events go through an ``AssetAlias`` the
user names (``asset_alias=``): the task declares the alias in its ``outlets`` and, when it
succeeds, adds one ``Asset(database_uri(server, database))`` event per target database whose
outcome is in the chosen lifecycles (default: Succeeded). URIs follow
:mod:`airflow_elasticjobs.dataset_names`; docs/assets.md is the guide.

A database's outcome combines its target executions (one per step that ran on it), in step order:
the first one that did not succeed decides; otherwise it is SucceededWithSkipped when a step was,
else Succeeded. Per-server or per-pool parent executions (no database name) are not targets.

Airflow records outlet events only when the task instance succeeds (``SucceedTask`` in
``airflow/sdk/execution_time/task_runner.py``): a task failed by ``fail_on`` publishes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any

from airflow.sdk import Asset, AssetAlias

from airflow_elasticjobs.dataset_names import database_uri
from airflow_elasticjobs.execution_common import lifecycles as parse_lifecycles
from airflow_elasticjobs.execution_state import SUCCESSFUL, ExecutionSummary, Lifecycle, TargetResult
from airflow_elasticjobs.validation import invalid

log = logging.getLogger(__name__)

#: The lifecycles a database's outcome must have for an event, unless the user chooses others.
DEFAULT_ASSET_LIFECYCLES: frozenset[Lifecycle] = frozenset({Lifecycle.SUCCEEDED})


@dataclass(frozen=True)
class DatabaseOutcome:
    """What one execution did on one target database: its combined lifecycle and its steps."""

    server_name: str
    database_name: str
    lifecycle: Lifecycle
    steps: tuple[TargetResult, ...]

    @property
    def uri(self) -> str:
        """The database's asset URI (:func:`~airflow_elasticjobs.dataset_names.database_uri`)."""
        return database_uri(self.server_name, self.database_name)


def database_outcomes(summary: ExecutionSummary) -> list[DatabaseOutcome]:
    """One outcome per target database of ``summary``, ordered by server and database."""
    by_database: dict[tuple[str, str], list[TargetResult]] = {}
    for target in summary.database_targets:
        key = (target.server_name or "", target.database_name or "")
        by_database.setdefault(key, []).append(target)
    outcomes = []
    for (server, database), results in sorted(by_database.items()):
        steps = tuple(sorted(results, key=lambda t: t.step_id or 0))
        outcomes.append(DatabaseOutcome(server, database, _combined(steps), steps))
    return outcomes


def _combined(steps: Iterable[TargetResult]) -> Lifecycle:
    """The first unsuccessful lifecycle in step order; else SucceededWithSkipped if any, else Succeeded."""
    observed = [Lifecycle.observed(t.lifecycle) for t in steps]
    for lifecycle in observed:
        if lifecycle not in SUCCESSFUL:
            return lifecycle
    if Lifecycle.SUCCEEDED_WITH_SKIPPED in observed:
        return Lifecycle.SUCCEEDED_WITH_SKIPPED
    return Lifecycle.SUCCEEDED


def event_extra(
    summary: ExecutionSummary, outcome: DatabaseOutcome, job_version: int | None
) -> dict[str, Any]:
    """The ``extra`` of one database's asset event (JSON values only)."""
    return {
        "execution_id": summary.execution_id,
        "job_name": summary.job_name,
        "job_version": job_version,
        "execution_lifecycle": summary.lifecycle.value,
        "server_name": outcome.server_name,
        "database_name": outcome.database_name,
        "lifecycle": outcome.lifecycle.value,
        "step_names": [t.step_name for t in outcome.steps],
        "steps": [
            {"step_id": t.step_id, "step_name": t.step_name, "lifecycle": t.lifecycle} for t in outcome.steps
        ],
    }


def asset_alias(field: str, value: str | AssetAlias) -> AssetAlias:
    """The alias named by the user's ``field`` argument: an ``AssetAlias`` or its name.

    :raises ElasticJobsValidationError: naming ``field`` when the value is neither.
    """
    if isinstance(value, AssetAlias):
        return value
    if isinstance(value, str) and value.strip():
        return AssetAlias(name=value)
    raise invalid(field, value, "give the alias name (e.g. 'retention_targets') or an AssetAlias")


class TargetAssetEvents:
    """The user's choice for one task: which alias, for which database outcomes.

    :param alias: the ``AssetAlias`` (or its name) the events go through.
    :param lifecycles: database outcomes that get an event (terminal lifecycles; names are
        case-insensitive), already parsed by :func:`target_asset_events`.
    """

    def __init__(self, alias: AssetAlias, lifecycles: frozenset[Lifecycle]) -> None:
        self.alias = alias
        self.lifecycles = lifecycles

    def declare(self, outlets: Iterable[Any]) -> list[Any]:
        """``outlets`` with the alias added (once), so Airflow accepts events through it."""
        outlets = list(outlets)
        return outlets if self.alias in outlets else [*outlets, self.alias]

    def emit(
        self,
        outlet_events: MutableMapping[Any, Any],
        summary: ExecutionSummary,
        job_version: int | None,
    ) -> list[Asset]:
        """Add one event per database whose outcome is chosen to ``outlet_events`` (the task
        context's ``outlet_events``); return the assets, in server/database order.

        Nothing is emitted while the execution is still active (a sensor whose ``target_states``
        include an active lifecycle): a database's later steps may not have run yet.
        """
        if not summary.lifecycle.is_terminal:
            return []
        accessor = outlet_events[self.alias]
        outcomes = database_outcomes(summary)
        emitted = []
        for outcome in outcomes:
            if outcome.lifecycle in self.lifecycles:
                asset = Asset(outcome.uri)
                accessor.add(asset, extra=event_extra(summary, outcome, job_version))
                emitted.append(asset)
        log.info(
            "Asset events through alias %r for %d of %d target databases (lifecycles %s)",
            self.alias.name,
            len(emitted),
            len(outcomes),
            sorted(s.value for s in self.lifecycles),
        )
        return emitted


def target_asset_events(
    alias: str | AssetAlias | None,
    lifecycles: Iterable[str | Lifecycle] = DEFAULT_ASSET_LIFECYCLES,
    *,
    alias_field: str = "asset_alias",
    lifecycles_field: str = "asset_lifecycles",
) -> TargetAssetEvents | None:
    """Validate a task's ``asset_alias`` and ``asset_lifecycles`` arguments; ``None`` without an alias.

    The lifecycles are checked even without an alias, so a typo never goes unnoticed.

    :raises ElasticJobsValidationError: naming the field, the bad value and the accepted values.
    """
    chosen = parse_lifecycles(lifecycles_field, lifecycles, terminal_only=True)
    if alias is None:
        return None
    return TargetAssetEvents(asset_alias(alias_field, alias), chosen)


def declare_asset_events(
    task: Any, alias: str | AssetAlias | None, lifecycles: Iterable[str | Lifecycle]
) -> TargetAssetEvents | None:
    """A task's :func:`target_asset_events`, with the alias added to ``task.outlets`` (call from
    ``__init__``, after ``BaseOperator.__init__`` set the outlets); ``None`` without an alias."""
    events = target_asset_events(alias, lifecycles)
    if events is not None:
        task.outlets = events.declare(task.outlets)
    return events
