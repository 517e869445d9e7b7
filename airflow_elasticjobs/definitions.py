"""Desired-state definitions of Elastic Jobs resources: small typed specs that validate themselves
and render the exact ARM JSON bodies (2025-01-01) the hook sends.

DAG authors may pass these dataclasses or plain dicts with the same keys (snake_case), which is
convenient in templated or generated DAGs::

    TargetMember("SqlServer", server_name="target-srv", refresh_credential="masteruser")
    {"type": "SqlDatabase", "server_name": "target-srv", "database_name": "TargetDb2",
     "membership_type": "Exclude"}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, astuple, dataclass, fields
from typing import Any, TypeVar

from airflow_elasticjobs.hooks.resource_ids import AgentRef
from airflow_elasticjobs.validation import (
    check_conn_id,
    check_interval,
    check_name,
    check_positive_int,
    invalid,
    is_templated,
    parse_time,
    require,
)

S = TypeVar("S")

MEMBER_TYPES: dict[str, tuple[str, ...]] = {
    # type -> the member fields it requires besides server_name (REST spec JobTarget, Jobs.json)
    "SqlServer": (),
    "SqlDatabase": ("database_name",),
    "SqlElasticPool": ("elastic_pool_name",),
    "SqlShardMap": ("database_name", "shard_map_name"),
}
# Member types whose databases the agent lists at run time, from the server's master: as the member's
# refresh credential, or, without one, as the agent's managed identity (checked against the agent
# before any write: ``reconcile.check_member_credentials``).
LISTED_TYPES = ("SqlServer", "SqlElasticPool", "SqlShardMap")
MEMBERSHIP_TYPES = ("Include", "Exclude")
# Step executionOptions defaults ARM fills in: the ``default`` values of ``JobStepExecutionOptions`` in the
# public REST spec (github.com/Azure/azure-rest-api-specs, specification/sql/resource-manager, 2025-01-01
# JobSteps.json); docs/emulator.md lists the same values.
EXECUTION_DEFAULTS = {
    "timeoutSeconds": 43200,
    "retryAttempts": 10,
    "initialRetryIntervalSeconds": 1,
    "maximumRetryIntervalSeconds": 120,
    "retryIntervalBackoffMultiplier": 2.0,
}


def coerce(cls: type[S], value: Any, field_name: str) -> S:
    """Accept a spec instance or a mapping of its fields; anything else names the field and the fix."""
    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(value) - known)
        if unknown:
            raise invalid(field_name, dict(value), f"remove unknown keys {unknown}; allowed: {sorted(known)}")
        try:
            return cls(**value)
        except TypeError as err:
            raise invalid(field_name, dict(value), f"give the required keys ({err})") from None
    raise invalid(field_name, value, f"give a {cls.__name__} or a dict of its fields")


@dataclass(frozen=True)
class TargetMember:
    """One member of a target group (``Add-AzSqlElasticJobTarget``).

    :param type: SqlServer, SqlDatabase, SqlElasticPool or SqlShardMap.
    :param server_name: the logical server of the member.
    :param database_name: SqlDatabase: the database; SqlShardMap: the shard map manager database.
    :param elastic_pool_name: SqlElasticPool only.
    :param shard_map_name: SqlShardMap only.
    :param refresh_credential: credential *name* used to enumerate databases of included SqlServer,
        SqlElasticPool and SqlShardMap members; leave it out when the agent has a managed identity
        (``ElasticJobsAgentOperator(identity=...)``), which then lists them.
    :param membership_type: Include (default) or Exclude.
    """

    type: str
    server_name: str
    database_name: str | None = None
    elastic_pool_name: str | None = None
    shard_map_name: str | None = None
    refresh_credential: str | None = None
    membership_type: str = "Include"

    def validate(self, field_name: str) -> None:
        """Check the member's type and the fields that type requires."""
        if self.type not in MEMBER_TYPES:
            raise invalid(f"{field_name}.type", self.type, f"use one of {', '.join(MEMBER_TYPES)}")
        if self.membership_type not in MEMBERSHIP_TYPES:
            raise invalid(f"{field_name}.membership_type", self.membership_type, "use Include or Exclude")
        require(f"{field_name}.server_name", self.server_name, "give the member's logical server name")
        for name in MEMBER_TYPES[self.type]:
            require(f"{field_name}.{name}", getattr(self, name), f"a {self.type} member needs {name}")
        for name in ("database_name", "elastic_pool_name", "shard_map_name", "refresh_credential"):
            check_name(f"{field_name}.{name}", getattr(self, name), required=False)

    @property
    def needs_identity(self) -> bool:
        """Whether the agent lists this member's databases as its managed identity (no refresh credential)."""
        return self.type in LISTED_TYPES and self.membership_type == "Include" and not self.refresh_credential

    def to_arm(self, agent: AgentRef) -> dict[str, Any]:
        """ARM ``JobTarget`` JSON (the refresh credential as the credential's resource id)."""
        body: dict[str, Any] = {
            "membershipType": self.membership_type,
            "type": self.type,
            "serverName": self.server_name,
        }
        optional = {
            "databaseName": self.database_name,
            "elasticPoolName": self.elastic_pool_name,
            "shardMapName": self.shard_map_name,
        }
        body.update({k: v for k, v in optional.items() if v})
        if self.refresh_credential:
            body["refreshCredential"] = agent.credential_id(self.refresh_credential)
        return body


@dataclass(frozen=True)
class CredentialSpec:
    """A job credential whose username and password come from an Airflow connection (login/password)."""

    name: str
    conn_id: str

    def validate(self, field_name: str) -> None:
        """Check the name and the connection id."""
        check_name(f"{field_name}.name", self.name)
        check_conn_id(f"{field_name}.conn_id", self.conn_id)


@dataclass(frozen=True)
class TargetGroupSpec:
    """A target group and its members."""

    name: str
    members: tuple[TargetMember, ...]

    @classmethod
    def build(cls, name: str, members: Iterable[Any], field_name: str = "members") -> TargetGroupSpec:
        """Coerce member dicts and validate the whole group."""
        if isinstance(members, (str, bytes, Mapping)) or not isinstance(members, Iterable):
            raise invalid(field_name, members, "give a list of members (TargetMember or dicts)")
        spec = cls(name, tuple(coerce(TargetMember, m, f"{field_name}[{i}]") for i, m in enumerate(members)))
        spec.validate(field_name)
        return spec

    def validate(self, field_name: str = "members") -> None:
        """Members valid, at least one Include, no duplicates."""
        check_name("target_group_name", self.name)
        for i, member in enumerate(self.members):
            member.validate(f"{field_name}[{i}]")
        if not any(m.membership_type == "Include" for m in self.members):
            raise invalid(
                field_name,
                [asdict(m) for m in self.members],
                "add at least one Include member (exclusions only subtract from included targets)",
            )
        keys = [tuple(str(v or "").lower() for v in astuple(m)) for m in self.members]
        if len(set(keys)) != len(keys):
            raise invalid(field_name, [asdict(m) for m in self.members], "remove the duplicate member")

    def to_arm(self, agent: AgentRef) -> list[dict[str, Any]]:
        """ARM members list."""
        return [m.to_arm(agent) for m in self.members]


def member_key(member: Mapping[str, Any]) -> tuple[str, ...]:
    """Order-free, case-insensitive identity of an ARM member (for diffs and duplicate checks)."""
    names = ("membershipType", "type", "serverName", "databaseName", "elasticPoolName", "shardMapName")
    return (
        *(str(member.get(n) or "").lower() for n in names),
        str(member.get("refreshCredential") or "").lower(),
    )


@dataclass(frozen=True)
class StepOutput:
    """Optional output table of a step (``-OutputDatabaseObject``); credential is a credential name."""

    server_name: str
    database_name: str
    table_name: str
    schema_name: str = "dbo"
    credential: str | None = None
    subscription_id: str | None = None
    resource_group_name: str | None = None

    def to_arm(self, agent: AgentRef) -> dict[str, Any]:
        """ARM ``JobStepOutput`` JSON."""
        body: dict[str, Any] = {
            "type": "SqlDatabase",
            "subscriptionId": self.subscription_id or agent.subscription_id,
            "resourceGroupName": self.resource_group_name or agent.resource_group_name,
            "serverName": self.server_name,
            "databaseName": self.database_name,
            "schemaName": self.schema_name,
            "tableName": self.table_name,
        }
        if self.credential:
            body["credential"] = agent.credential_id(self.credential)
        return body


@dataclass(frozen=True)
class StepSpec:
    """One T-SQL step of a job (``Add-AzSqlElasticJobStep``); steps run in list order.

    :param name: step name.
    :param command: inline T-SQL.
    :param target_group: target group name.
    :param credential: job credential name (omit for an agent with a managed identity).
    :param step_id: optional explicit position; when given on every step they must be 1..n.
    :param output: optional :class:`StepOutput` (or dict).
    """

    name: str
    command: str
    target_group: str
    credential: str | None = None
    step_id: int | None = None
    timeout_seconds: int | None = None
    retry_attempts: int | None = None
    initial_retry_interval_seconds: int | None = None
    maximum_retry_interval_seconds: int | None = None
    retry_interval_backoff_multiplier: float | None = None
    output: StepOutput | Mapping[str, Any] | None = None

    def validate(self, field_name: str) -> None:
        """Check names, command and execution options (ARM's rules: initial ≤ max, multiplier ≥ 1)."""
        check_name(f"{field_name}.name", self.name)
        require(f"{field_name}.command", self.command, "give the T-SQL the step runs")
        check_name(f"{field_name}.target_group", self.target_group)
        check_name(f"{field_name}.credential", self.credential, required=False)
        check_positive_int(f"{field_name}.timeout_seconds", self.timeout_seconds)
        check_positive_int(f"{field_name}.retry_attempts", self.retry_attempts, minimum=0)
        check_positive_int(
            f"{field_name}.initial_retry_interval_seconds", self.initial_retry_interval_seconds
        )
        check_positive_int(
            f"{field_name}.maximum_retry_interval_seconds", self.maximum_retry_interval_seconds
        )
        options = self.execution_options()
        if options["initialRetryIntervalSeconds"] > options["maximumRetryIntervalSeconds"]:
            raise invalid(
                f"{field_name}.initial_retry_interval_seconds",
                options["initialRetryIntervalSeconds"],
                f"keep it ≤ maximum_retry_interval_seconds ({options['maximumRetryIntervalSeconds']})",
            )
        multiplier = self.retry_interval_backoff_multiplier
        if multiplier is not None and (isinstance(multiplier, bool) or not float(multiplier) >= 1):
            raise invalid(f"{field_name}.retry_interval_backoff_multiplier", multiplier, "use a number ≥ 1")
        if self.output is not None:
            coerce(StepOutput, self.output, f"{field_name}.output")

    def execution_options(self) -> dict[str, Any]:
        """ARM ``executionOptions`` with ARM's defaults filled in."""
        given = {
            "timeoutSeconds": self.timeout_seconds,
            "retryAttempts": self.retry_attempts,
            "initialRetryIntervalSeconds": self.initial_retry_interval_seconds,
            "maximumRetryIntervalSeconds": self.maximum_retry_interval_seconds,
            "retryIntervalBackoffMultiplier": self.retry_interval_backoff_multiplier,
        }
        return {k: (EXECUTION_DEFAULTS[k] if v is None else v) for k, v in given.items()}

    def to_arm(self, agent: AgentRef, step_id: int) -> dict[str, Any]:
        """ARM ``JobStep`` properties JSON at position ``step_id``."""
        properties: dict[str, Any] = {
            "stepId": step_id,
            "targetGroup": agent.target_group_id(self.target_group),
            "action": {"type": "TSql", "source": "Inline", "value": self.command},
            "executionOptions": self.execution_options(),
        }
        if self.credential:
            properties["credential"] = agent.credential_id(self.credential)
        if self.output is not None:
            properties["output"] = coerce(StepOutput, self.output, "output").to_arm(agent)
        return properties


def build_steps(steps: Any, field_name: str = "steps") -> tuple[StepSpec, ...]:
    """Coerce and validate an ordered list of steps: unique names, explicit ids (if any) 1..n."""
    if isinstance(steps, (str, bytes, Mapping)) or not isinstance(steps, Iterable):
        raise invalid(field_name, steps, "give a list of steps (StepSpec or dicts)")
    specs = tuple(coerce(StepSpec, s, f"{field_name}[{i}]") for i, s in enumerate(steps))
    if not specs:
        raise invalid(field_name, [], "give at least one step")
    for i, spec in enumerate(specs):
        spec.validate(f"{field_name}[{i}]")
    names = [s.name.lower() for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise invalid(field_name, duplicates, "give every step a unique name (names are case-insensitive)")
    ids = [s.step_id for s in specs if s.step_id is not None and not is_templated(s.step_id)]
    if ids:
        if len(ids) != len(specs) or sorted(ids) != list(range(1, len(specs) + 1)):
            raise invalid(
                f"{field_name}[*].step_id",
                [s.step_id for s in specs],
                f"number the steps 1..{len(specs)} without gaps or duplicates, or omit step_id everywhere",
            )
        specs = tuple(sorted(specs, key=lambda s: s.step_id or 0))
    return specs


@dataclass(frozen=True)
class ScheduleSpec:
    """An agent-side job schedule (``Set-AzSqlElasticJob``).

    :param type: Once or Recurring.
    :param enabled: whether the agent fires it.
    :param interval: ISO 8601 duration for Recurring (PT1H, P1D, …).
    :param start_time: ISO 8601 timestamp with time zone (or ``datetime``); ARM default now.
    :param end_time: ISO 8601 timestamp with time zone; ARM default 9999-12-31.
    """

    type: str = "Once"
    enabled: bool = False
    interval: str | None = None
    start_time: Any = None
    end_time: Any = None

    def validate(self, field_name: str = "schedule") -> None:
        """Type, interval and time window."""
        if is_templated(self.type):
            return
        if self.type not in ("Once", "Recurring"):
            raise invalid(f"{field_name}.type", self.type, "use Once or Recurring")
        if not isinstance(self.enabled, bool):
            raise invalid(f"{field_name}.enabled", self.enabled, "use True or False")
        if self.type == "Recurring":
            require(
                f"{field_name}.interval", self.interval, "a Recurring schedule needs an interval like PT1H"
            )
            check_interval(f"{field_name}.interval", self.interval)
        elif self.interval is not None:
            raise invalid(
                f"{field_name}.interval", self.interval, "drop the interval or use type='Recurring'"
            )
        start = parse_time(f"{field_name}.start_time", self.start_time)
        end = parse_time(f"{field_name}.end_time", self.end_time)
        if start and end and end <= start:
            raise invalid(f"{field_name}.end_time", self.end_time, f"make it later than start_time ({start})")

    def to_arm(self) -> dict[str, Any]:
        """ARM ``JobSchedule`` JSON (unset times left to ARM's defaults)."""
        body: dict[str, Any] = {"type": self.type, "enabled": self.enabled}
        if self.interval:
            body["interval"] = self.interval
        for key, value in (("startTime", self.start_time), ("endTime", self.end_time)):
            parsed = parse_time(key, value)
            if parsed is not None:
                body[key] = parsed.isoformat()
        return body


@dataclass(frozen=True)
class JobSpec:
    """A job, its ordered steps and optionally its schedule."""

    name: str
    steps: tuple[StepSpec, ...]
    description: str = ""
    schedule: ScheduleSpec | None = None


def build_schedule(value: Any, field_name: str = "schedule") -> ScheduleSpec | None:
    """Coerce and validate an optional schedule (``ScheduleSpec`` or dict)."""
    if value is None:
        return None
    spec = coerce(ScheduleSpec, value, field_name)
    spec.validate(field_name)
    return spec


def build_job(name: str, steps: Any, description: str = "", schedule: Any = None) -> JobSpec:
    """Coerce and validate a whole job definition."""
    check_name("job_name", name)
    return JobSpec(name, build_steps(steps), description or "", build_schedule(schedule))
