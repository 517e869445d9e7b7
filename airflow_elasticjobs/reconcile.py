"""Reconcile Elastic Jobs resources to a desired state: compare, then PUT/DELETE only what differs.

Shared by the target group, job, deploy and fleet query operators. Every function returns the
:class:`Change` list it applied (``unchanged`` entries included), which operators log and push to
XCom. Secrets never appear in a change. :func:`reconcile_definition` owns the order of a whole
definition: check the steps' references, then credentials, then target groups, then the job.

Rules (from the 2025-01-01 REST spec ``JobSteps.json``: "stepId … If not specified when creating the
job step, it will be created as the last step"; updating ``stepId`` moves the step and renumbers the
others):

* steps not in the desired list are deleted first (the survivors are renumbered 1..k by ARM);
* then desired steps are walked in order, and step *i* is PUT with ``stepId = i`` only when it is
  missing, at another position, or its properties differ. Positions before *i* already match, so
  inserting or moving at *i* never disturbs them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow_elasticjobs.definitions import (
    JobSpec,
    ScheduleSpec,
    StepOutput,
    TargetGroupSpec,
    coerce,
    member_key,
)
from airflow_elasticjobs.hooks.resource_ids import same_id
from airflow_elasticjobs.validation import invalid

if TYPE_CHECKING:
    from airflow_elasticjobs.hooks.elastic_jobs import ElasticJobsHook


@dataclass(frozen=True)
class Change:
    """One reconciliation decision: ``create``, ``update``, ``delete`` or ``unchanged``."""

    action: str
    kind: str
    name: str
    detail: str = ""

    @property
    def changed(self) -> bool:
        """Whether a write was made."""
        return self.action != "unchanged"

    def as_dict(self) -> dict[str, str]:
        """JSON-friendly form for XCom."""
        return asdict(self)

    def __str__(self) -> str:
        sign = {"create": "+", "update": "~", "delete": "-"}.get(self.action, "=")
        return f"{sign} {self.kind} {self.name}" + (f": {self.detail}" if self.detail else "")


def reconcile_credential(
    hook: ElasticJobsHook, name: str, username: str, password: str, *, always_update: bool = False
) -> Change:
    """Create the credential, or update it when the username differs (or ``always_update``).

    ARM never returns a credential's password, so a changed password alone cannot be detected;
    ``always_update=True`` rewrites it on every run (use it to rotate passwords).
    """
    existing = hook.get_credential(name)
    if existing is None:
        hook.create_or_update_credential(name, username, password)
        return Change("create", "credential", name, f"username {username!r}")
    current = existing.properties.username if existing.properties else None
    if current != username:
        hook.create_or_update_credential(name, username, password)
        return Change("update", "credential", name, f"username {current!r} -> {username!r}")
    if always_update:
        hook.create_or_update_credential(name, username, password)
        return Change("update", "credential", name, "password rewritten (always_update)")
    return Change("unchanged", "credential", name)


class AgentIdentity:
    """The job agent's user-assigned managed identities, read from ARM once, when first needed."""

    def __init__(self, hook: ElasticJobsHook) -> None:
        self._hook = hook
        self._ids: list[str] | None = None

    def ids(self) -> list[str]:
        """Resource ids of the agent's user-assigned identities (``[]`` without one or without agent)."""
        if self._ids is None:
            from airflow_elasticjobs.managed_identity import assigned_ids

            agent = self._hook.get_agent()
            self._ids = assigned_ids(agent.identity if agent is not None else None)
        return self._ids

    def require(self, field: str, what: str) -> None:
        """Fail before any write when ``what`` (at ``field``) needs the agent's identity and it has none."""
        if self.ids():
            return
        raise invalid(
            field,
            None,
            f"{what} has no credential, so it would authenticate as the job agent's managed identity, but "
            f"agent {self._hook.agent.agent_name!r} has none; give a credential, or give the agent a "
            "user-assigned managed identity (ElasticJobsAgentOperator(identity=...))",
        )


def check_member_credentials(
    hook: ElasticJobsHook,
    spec: TargetGroupSpec,
    field_name: str = "members",
    identity: AgentIdentity | None = None,
) -> None:
    """Server / pool / shard map members without a refresh credential need the agent's identity."""
    identity = identity or AgentIdentity(hook)
    for i, member in enumerate(spec.members):
        if member.needs_identity:
            identity.require(
                f"{field_name}[{i}].refresh_credential", f"the {member.type} member {member.server_name!r}"
            )


def reconcile_target_group(hook: ElasticJobsHook, spec: TargetGroupSpec) -> Change:
    """Create or replace the target group when its member set differs (order-insensitive).

    Members without a refresh credential are checked against the agent's identity first.
    """
    check_member_credentials(hook, spec)
    desired = spec.to_arm(hook.agent)
    existing = hook.get_target_group(spec.name)
    if existing is None:
        hook.create_or_update_target_group(spec.name, desired)
        return Change("create", "target group", spec.name, f"{len(desired)} members")
    current = [m.as_dict() for m in (existing.properties.members if existing.properties else [])]
    added = {member_key(m) for m in desired} - {member_key(m) for m in current}
    removed = {member_key(m) for m in current} - {member_key(m) for m in desired}
    if not added and not removed:
        return Change("unchanged", "target group", spec.name)
    hook.create_or_update_target_group(spec.name, desired)
    return Change("update", "target group", spec.name, f"{len(added)} members added, {len(removed)} removed")


def check_step_references(
    hook: ElasticJobsHook,
    spec: JobSpec,
    *,
    declared_groups: Iterable[str] = (),
    declared_credentials: Iterable[str] = (),
) -> None:
    """Fail before any write when a step names a target group or credential that neither exists on
    the agent nor is ``declared`` (created by the same deploy): ARM refuses such a step only after the
    job itself was created, which would leave a job without its steps behind. A step (or its output)
    without a credential runs as the agent's managed identity, so the agent must have one."""
    identity = AgentIdentity(hook)
    for i, step in enumerate(spec.steps):
        if step.credential is None:
            identity.require(f"steps[{i}].credential", f"step {step.name!r}")
        if step.output is not None and coerce(StepOutput, step.output, "output").credential is None:
            identity.require(f"steps[{i}].output.credential", f"the output of step {step.name!r}")
    known = {("target_group", n.lower()) for n in declared_groups}
    known |= {("credential", n.lower()) for n in declared_credentials}
    lookups = {
        "target_group": ("target group", "ElasticJobsTargetGroupOperator", hook.get_target_group),
        "credential": ("credential", "ElasticJobsCredentialOperator", hook.get_credential),
    }
    for i, step in enumerate(spec.steps):
        for field, name in (("target_group", step.target_group), ("credential", step.credential)):
            if name is None or (field, name.lower()) in known:
                continue
            kind, operator, get = lookups[field]
            if get(name) is None:
                raise invalid(
                    f"steps[{i}].{field}",
                    name,
                    f"{kind} {name!r} does not exist on agent {hook.agent.agent_name!r}; create it first "
                    f"({operator}, or declare it in the deploy) or fix the name",
                )
            known.add((field, name.lower()))


@dataclass(frozen=True)
class Reconciled:
    """What a job reconcile wrote (``unchanged`` entries included) and the job version it left."""

    changes: list[Change]
    version: int | None


def reconcile_definition(
    hook: ElasticJobsHook,
    spec: JobSpec,
    *,
    credentials: Mapping[str, tuple[str, str]] | None = None,
    target_groups: Sequence[TargetGroupSpec] = (),
    always_update_credentials: bool = False,
) -> Reconciled:
    """The one order of a definition's writes: the steps' references are checked (nothing is written
    when one is wrong), then the credentials, then the target groups, then the job (:func:`reconcile_job`).

    :param credentials: username and password by credential name, created or updated before the job
        (a step may name one that does not exist yet).
    :param target_groups: created or updated before the job (likewise).
    """
    credentials = credentials or {}
    check_step_references(
        hook,
        spec,
        declared_groups=[g.name for g in target_groups],
        declared_credentials=list(credentials),
    )
    changes = [
        reconcile_credential(hook, name, username, password, always_update=always_update_credentials)
        for name, (username, password) in credentials.items()
    ]
    changes += [reconcile_target_group(hook, group) for group in target_groups]
    job = reconcile_job(hook, spec)
    return Reconciled(changes + job.changes, job.version)


def reconcile_job(hook: ElasticJobsHook, spec: JobSpec) -> Reconciled:
    """Job description, ordered steps, then the schedule (last, so a schedule never fires a half job).

    The job is read once. The version returned is the one the last job PUT answered with; without
    one, the version read (or created) plus one per step written: every step create, update or
    delete makes a new job version.
    """
    changes: list[Change] = []
    job = hook.get_job(spec.name)
    if job is None:
        job = hook.create_or_update_job(spec.name, description=spec.description)
        changes.append(Change("create", "job", spec.name))
    step_changes = _reconcile_steps(hook, spec)
    changes += step_changes

    properties = job.properties
    current_description = (properties.description or "") if properties else ""
    current_schedule = properties.schedule.as_dict() if properties and properties.schedule else {}
    description_differs = current_description != spec.description
    schedule_differs = spec.schedule is not None and not schedule_matches(spec.schedule, current_schedule)
    if description_differs or schedule_differs:
        job = hook.create_or_update_job(
            spec.name,
            description=spec.description,
            schedule=spec.schedule.to_arm() if spec.schedule is not None else current_schedule or None,
        )
        if description_differs:
            changes.append(Change("update", "job", spec.name, "description"))
        if schedule_differs:
            changes.append(Change("update", "schedule", spec.name, describe_schedule(spec.schedule)))
        return Reconciled(changes, _version(job))
    if spec.schedule is not None:
        changes.append(Change("unchanged", "schedule", spec.name))
    version = _version(job)
    if version is not None:
        version += sum(c.changed for c in step_changes)
    return Reconciled(changes, version)


def _version(job: Any) -> int | None:
    return job.properties.version if job.properties else None


def _reconcile_steps(hook: ElasticJobsHook, spec: JobSpec) -> list[Change]:
    changes: list[Change] = []
    actual = {s.name: s.properties.as_dict() for s in hook.list_steps(spec.name)}
    wanted = {s.name for s in spec.steps}
    for name in [n for n in actual if n not in wanted]:
        hook.delete_step(spec.name, name)
        del actual[name]
        changes.append(Change("delete", "step", name))
    order = list(actual)  # list_steps returns them sorted by stepId
    for position, step in enumerate(spec.steps, start=1):
        desired = step.to_arm(hook.agent, position)
        at = order.index(step.name) + 1 if step.name in order else None
        if at == position and step_matches(desired, actual[step.name]):
            changes.append(Change("unchanged", "step", step.name))
            continue
        hook.create_or_update_step(spec.name, step.name, {"properties": desired})
        if at is None:
            changes.append(Change("create", "step", step.name, f"at position {position}"))
        else:
            order.remove(step.name)
            detail = "properties" if at == position else f"moved {at} -> {position}"
            changes.append(Change("update", "step", step.name, detail))
        order.insert(position - 1, step.name)
    return changes


def step_matches(desired: Mapping[str, Any], actual: Mapping[str, Any]) -> bool:
    """Compare step properties; ids case-insensitively, numbers numerically, ignoring ``stepId``."""
    keys = (set(desired) | set(actual)) - {"stepId"}
    return all(_same(desired.get(k), actual.get(k)) for k in keys)


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return all(_same(left.get(k), right.get(k)) for k in set(left) | set(right))
    if isinstance(left, str) and isinstance(right, str) and left.startswith("/subscriptions/"):
        return same_id(left, right)
    if isinstance(left, (int, float)) and isinstance(right, (int, float)) and not isinstance(left, bool):
        return float(left) == float(right)
    return left == right


def schedule_matches(spec: ScheduleSpec, current: Mapping[str, Any]) -> bool:
    """Compare type/enabled/interval, and start/end only where the spec sets them."""
    desired = spec.to_arm()
    for key in ("type", "enabled", "interval"):
        if desired.get(key) != current.get(key):
            return False
    for key in ("startTime", "endTime"):
        if key in desired and _as_time(desired[key]) != _as_time(current.get(key)):
            return False
    return True


def _as_time(value: Any) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def describe_schedule(schedule: ScheduleSpec) -> str:
    """Human summary, e.g. ``Recurring every PT1H, enabled``."""
    every = f" every {schedule.interval}" if schedule.interval else ""
    return f"{schedule.type}{every}, {'enabled' if schedule.enabled else 'disabled'}"
