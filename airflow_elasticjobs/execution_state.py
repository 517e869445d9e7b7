"""Reading and judging Elastic Jobs executions: the one home of lifecycles, conversions and counts.

Operators, the sensor, the trigger's shared poller and the UI plugin ask this module

* how an SDK ``JobExecution`` (root, step or target execution) becomes plain values:
  :func:`execution_values` is the one conversion (:meth:`TargetResult.from_model`,
  :meth:`ExecutionSummary.from_models`, :func:`state_signature` and the plugin's view build on it);
* which lifecycles are active, terminal, successful or fail a task;
* what a lifecycle this provider version does not know means: **still active**, logged once per
  value (:meth:`Lifecycle.observed`); user arguments are validated strictly (:meth:`Lifecycle.parse`);
* how targets are counted (:func:`count_targets`: per-database executions only), how to summarise
  them for XCom and how to word the failure message (the progress lines built on these counts are
  :mod:`airflow_elasticjobs.execution_progress`).

Nothing here opens a connection; :func:`read_summary` reads target executions through the hook it
is given.

Lifecycle sets follow docs/execution-semantics.md §3 and the 2025-01-01 ``JobExecutionLifecycle`` enum of
``azure-mgmt-sql`` (Created, InProgress, WaitingForChildJobExecutions and WaitingForRetry are the
active ones; ``isActive=true`` on the list APIs selects exactly those).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple, Protocol

log = logging.getLogger(__name__)

#: Unknown lifecycle names already logged (lower case), so each is logged once per process.
_LOGGED_UNKNOWN: set[str] = set()


class Lifecycle(StrEnum):
    """The ``lifecycle`` of a job, step or target execution."""

    CREATED = "Created"
    IN_PROGRESS = "InProgress"
    WAITING_FOR_CHILD_JOB_EXECUTIONS = "WaitingForChildJobExecutions"
    WAITING_FOR_RETRY = "WaitingForRetry"
    SUCCEEDED = "Succeeded"
    SUCCEEDED_WITH_SKIPPED = "SucceededWithSkipped"
    FAILED = "Failed"
    TIMED_OUT = "TimedOut"
    CANCELED = "Canceled"
    SKIPPED = "Skipped"

    @classmethod
    def parse(cls, value: str | Lifecycle | None) -> Lifecycle:
        """Return the lifecycle named ``value`` (case-insensitive, like the SDK's enums).

        :raises ValueError: naming the value and the accepted names.
        """
        if isinstance(value, Lifecycle):
            return value
        text = str(getattr(value, "value", value) or "")
        for member in cls:
            if member.value.lower() == text.lower():
                return member
        raise ValueError(f"Unknown execution lifecycle {value!r}; use one of {[m.value for m in cls]}.")

    @classmethod
    def observed(cls, value: str | Lifecycle | None) -> Lifecycle:
        """Return the lifecycle Azure reported; a name this version does not know counts as still active.

        For values read from ARM (never for user arguments, which :meth:`parse` validates): a
        lifecycle added to the API after this provider was released must neither end a wait nor
        crash it, so it is treated as ``InProgress`` and logged as a warning, once per value.
        """
        try:
            return cls.parse(value)
        except ValueError:
            text = str(lifecycle_text(value))
            if text.lower() not in _LOGGED_UNKNOWN:
                _LOGGED_UNKNOWN.add(text.lower())
                log.warning(
                    "Azure reports execution lifecycle %r, which this provider version does not know; "
                    "treating it as still active (InProgress).",
                    text,
                )
            return cls.IN_PROGRESS

    @classmethod
    def parse_many(cls, field: str, values: Iterable[str | Lifecycle]) -> frozenset[Lifecycle]:
        """Parse a user-given collection of lifecycle names for the argument ``field``.

        :raises ValueError: naming ``field``, the bad value and the accepted names.
        """
        if isinstance(values, str):
            values = [values]
        try:
            return frozenset(cls.parse(v) for v in values)
        except ValueError as err:
            raise ValueError(f"Argument {field!r}: {err}") from None

    @property
    def is_terminal(self) -> bool:
        """Whether an execution in this lifecycle will never change again."""
        return self in TERMINAL


ACTIVE: frozenset[Lifecycle] = frozenset(
    {
        Lifecycle.CREATED,
        Lifecycle.IN_PROGRESS,
        Lifecycle.WAITING_FOR_CHILD_JOB_EXECUTIONS,
        Lifecycle.WAITING_FOR_RETRY,
    }
)
TERMINAL: frozenset[Lifecycle] = frozenset(Lifecycle) - ACTIVE
SUCCESSFUL: frozenset[Lifecycle] = frozenset({Lifecycle.SUCCEEDED, Lifecycle.SUCCEEDED_WITH_SKIPPED})
#: Terminal lifecycles that fail a task unless the user chooses otherwise (``fail_on``).
DEFAULT_FAIL_ON: frozenset[Lifecycle] = TERMINAL - SUCCESSFUL


def is_terminal(value: str | Lifecycle | None) -> bool:
    """Whether ``value`` (as reported by Azure) names a terminal lifecycle; unknown names are active."""
    return Lifecycle.observed(value).is_terminal


def lifecycle_text(value: Any) -> str | None:
    """The text of an SDK enum value (or of a plain string); ``None`` stays ``None``."""
    if value is None:
        return None
    return str(getattr(value, "value", value))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def execution_values(execution: Any) -> dict[str, Any]:
    """The one conversion of an SDK ``JobExecution`` (root, step or target) into plain JSON values.

    Keys: ``step_id``, ``step_name``, ``server_name``, ``database_name``, ``target_type`` (``None``
    for a root execution), ``lifecycle``, ``attempts``, ``create_time``, ``start_time``,
    ``end_time`` (ISO 8601) and ``last_message`` (ARM's own text).
    """

    def field(name: str) -> Any:
        return getattr(execution, name, None)

    target = field("target")
    return {
        "step_id": field("step_id"),
        "step_name": field("step_name"),
        "server_name": getattr(target, "server_name", None),
        "database_name": getattr(target, "database_name", None),
        "target_type": lifecycle_text(getattr(target, "type", None)),
        "lifecycle": lifecycle_text(field("lifecycle")),
        "attempts": field("current_attempts"),
        "create_time": _iso(field("create_time")),
        "start_time": _iso(field("start_time")),
        "end_time": _iso(field("end_time")),
        "last_message": field("last_message"),
    }


class RootState(NamedTuple):
    """A root execution as an agent's execution list shows it, parsed from the list page's JSON.

    Only what :func:`state_signature` reads, and the execution's name: the poller reads these lists
    for every waiter of an agent each round, and deserializing them into SDK ``JobExecution``
    models (every field, lazily, on attribute access) was most of that round's CPU. Attribute names
    and value types are the model's, so the signature of a :class:`RootState` equals the
    signature of the model deserialized from the same JSON.
    """

    name: str | None
    lifecycle: str | None
    last_message: str | None
    current_attempts: int | None
    start_time: datetime | None
    current_attempt_start_time: datetime | None
    end_time: datetime | None

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> RootState:
        """Parse one item of a ``JobExecutionListResult`` page (``{"name", "properties": {…}}``)."""
        properties = item.get("properties") or {}
        return cls(
            item.get("name"),
            properties.get("lifecycle"),
            properties.get("lastMessage"),
            properties.get("currentAttempts"),
            _time(properties.get("startTime")),
            _time(properties.get("currentAttemptStartTime")),
            _time(properties.get("endTime")),
        )


def _time(value: str | None) -> datetime | None:
    """An RFC 3339 time as the SDK reads it (fractions beyond microseconds cut, not rounded)."""
    return datetime.fromisoformat(value) if value else None


def state_signature(execution: Any) -> tuple[Any, ...]:
    """What, when it changes, means a root execution's state changed (lifecycle text first).

    ``execution`` is an SDK ``JobExecution`` or a :class:`RootState`.
    """
    return (
        lifecycle_text(execution.lifecycle),
        execution.last_message,
        execution.current_attempts,
        execution.start_time,
        execution.current_attempt_start_time,
        execution.end_time,
    )


@dataclass(frozen=True)
class TargetResult:
    """The outcome of one job step on one target database (a target execution), JSON-friendly."""

    step_id: int | None
    step_name: str | None
    server_name: str | None
    database_name: str | None
    lifecycle: str
    last_message: str | None = None
    attempts: int | None = None

    @classmethod
    def from_model(cls, execution: Any) -> TargetResult:
        """Convert an ``azure.mgmt.sql.models.JobExecution`` returned by the target-executions API."""
        values = execution_values(execution)
        values["lifecycle"] = values["lifecycle"] or ""
        return cls.from_dict(values)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TargetResult:
        """Rebuild a result from :meth:`to_dict` output (e.g. read back from XCom)."""
        return cls(**{name: data.get(name) for name in cls.__dataclass_fields__})

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for XCom and trigger events."""
        return asdict(self)

    @property
    def is_database(self) -> bool:
        """Whether this is a per-database result (not the parent execution of a server or pool member).

        Azure lists, next to one execution per database, the executions that expand a server,
        elastic pool or shard map member into databases; those carry no database name and are not
        counted as targets.
        """
        return bool(self.database_name)

    def describe(self) -> str:
        """One human line: ``server/database (step N 'name'): Lifecycle - last message``."""
        step = f"step {self.step_id}" if self.step_id is not None else "step ?"
        if self.step_name:
            step += f" {self.step_name!r}"
        message = f" - {self.last_message}" if self.last_message else ""
        return f"{self.server_name or '?'}/{self.database_name or '?'} ({step}): {self.lifecycle}{message}"


def count_targets(targets: Iterable[TargetResult]) -> dict[str, int]:
    """Number of per-database target executions in each lifecycle, e.g. ``{"Succeeded": 3}``.

    Only per-database results count (see :attr:`TargetResult.is_database`).
    """
    return dict(Counter(t.lifecycle for t in targets if t.is_database))


class TargetSource(Protocol):
    """What :func:`read_summary` needs from a hook (:class:`ElasticJobsHook` provides it)."""

    def list_target_executions(self, job_name: str, job_execution_id: str) -> list[Any]:
        """Target executions of a root execution."""


def read_summary(hook: TargetSource, job_name: str, execution: Any) -> ExecutionSummary:
    """The root ``execution`` and all its target executions (listed through ``hook``)."""
    targets = hook.list_target_executions(job_name, execution.name)
    return ExecutionSummary.from_models(job_name, execution, targets)


@dataclass(frozen=True)
class ExecutionSummary:
    """A root job execution and its per-target results: what a task returns and reports."""

    execution_id: str
    job_name: str
    lifecycle: Lifecycle
    targets: tuple[TargetResult, ...] = ()
    last_message: str | None = None

    @classmethod
    def from_models(cls, job_name: str, execution: Any, targets: Iterable[Any]) -> ExecutionSummary:
        """Build from an SDK root execution and its SDK target executions."""
        return cls(
            execution_id=execution.name,
            job_name=job_name,
            lifecycle=Lifecycle.observed(execution.lifecycle),
            targets=tuple(TargetResult.from_model(t) for t in targets),
            last_message=execution.last_message,
        )

    @property
    def database_targets(self) -> list[TargetResult]:
        """Per-database results (see :attr:`TargetResult.is_database`)."""
        return [t for t in self.targets if t.is_database]

    def counts(self) -> dict[str, int]:
        """Number of per-database target executions in each lifecycle (:func:`count_targets`)."""
        return count_targets(self.targets)

    def failing_targets(self, fail_on: Iterable[Lifecycle] = DEFAULT_FAIL_ON) -> list[TargetResult]:
        """Per-database results whose lifecycle is one of ``fail_on``, ordered by step, server, database."""
        failing = {Lifecycle.parse(s).value.lower() for s in fail_on}
        chosen = [t for t in self.database_targets if t.lifecycle.lower() in failing]
        return sorted(chosen, key=lambda t: (t.step_id or 0, t.server_name or "", t.database_name or ""))

    def failure_message(self, fail_on: Iterable[Lifecycle] = DEFAULT_FAIL_ON, cap: int = 10) -> str:
        """The message a failed task raises: execution, lifecycle and the first ``cap`` failing targets."""
        head = (
            f"Elastic Jobs execution {self.execution_id} of job {self.job_name!r}"
            f" ended {self.lifecycle.value}"
        )
        if self.last_message:
            head += f": {self.last_message.rstrip('.')}"
        failing = self.failing_targets(fail_on)
        if not failing:
            return head + "."
        lines = [f"{head}. Failing targets ({len(failing)}):"]
        lines += [f"  - {t.describe()}" for t in failing[:cap]]
        if len(failing) > cap:
            lines.append(
                f"  … and {len(failing) - cap} more (failing targets come first in the task's XCom "
                "'targets'; the Elastic Jobs tab lists every target)."
            )
        return "\n".join(lines)

    def step_counts(self) -> list[dict[str, Any]]:
        """Per step (ordered by step id): ``{"step_id", "step_name", "counts": {lifecycle: n}}``."""
        return [
            {"step_id": step_id, "step_name": step_name or None, "counts": count_targets(targets)}
            for (step_id, step_name), targets in targets_by_step(self.targets).items()
        ]


def targets_by_step(targets: Iterable[TargetResult]) -> dict[tuple[int, str], list[TargetResult]]:
    """Per-database results grouped by ``(step id, step name)``, ordered by step."""
    by_step: dict[tuple[int, str], list[TargetResult]] = {}
    for target in targets:
        if target.is_database:
            by_step.setdefault((target.step_id or 0, target.step_name or ""), []).append(target)
    return dict(sorted(by_step.items()))
