"""The published ``api-version`` values of the resource types the emulator serves, and what each defines.

Azure Resource Manager accepts every api-version a resource provider published for a resource type
and answers in that version's shape. Real clients send many: ``azure-mgmt-sql`` 4.0.0 sends
``2025-01-01``; ``azure-mgmt-sql`` 3.0.1 and the JavaScript SDK ``@azure/arm-sql`` 10.0.0 send
``2020-11-01-preview`` for job agents and everything under them (``2021-02-01-preview`` /
``2022-08-01-preview`` for servers and databases).

The table below is distilled from the REST specification, GitHub ``Azure/azure-rest-api-specs``,
``specification/sql/resource-manager/Microsoft.Sql/{preview,stable}/<api-version>/``:

- job agents and every child (credentials, target groups, jobs, steps, versions, executions, step
  and target executions): ``preview/2017-03-01-preview/jobs.json``, then one file per resource
  kind (``JobAgents.json``, ``JobCredentials.json``, ``JobTargetGroups.json``, ``Jobs.json``,
  ``JobSteps.json``, ``JobVersions.json``, ``JobExecutions.json``, ``JobStepExecutions.json``,
  ``JobTargetExecutions.json``) in every version from ``preview/2020-11-01-preview/`` to
  ``stable/2025-01-01/``; ``JobPrivateEndpoints.json`` from ``preview/2023-05-01-preview/``;
- servers: ``preview/2019-06-01-preview/servers.json``, ``preview/2020-02-02-preview/servers.json``,
  then ``Servers.json`` from ``preview/2020-11-01-preview/``;
- databases: ``databases.json`` in ``preview/2017-03-01-preview/``, ``2017-10-01-preview``,
  ``2019-06-01-preview``, ``2020-02-02-preview``, ``2020-08-01-preview``, then ``Databases.json``
  from ``preview/2020-11-01-preview/``.

The folders were checked file by file in the specs repository (CI has no internet, so the table is
committed here).
Properties a version does not define (``ADDED_IN``) are dropped from requests and responses of that
version (``shape``): e.g. ``identity`` on job agents is defined from ``2023-05-01-preview`` on
(``JobAgent`` and ``JobAgentUpdate`` in ``preview/2023-05-01-preview/JobAgents.json``; absent from
``preview/2022-08-01-preview/JobAgents.json``).
"""

from __future__ import annotations

import re
from typing import Any

NAMESPACE = "Microsoft.Sql"
LATEST = "2025-01-01"

_JOBS_SPLIT = (  # one spec file per job resource kind, 2020-11-01-preview … 2025-01-01
    "2020-11-01-preview",
    "2021-02-01-preview",
    "2021-05-01-preview",
    "2021-08-01-preview",
    "2021-11-01-preview",
    "2021-11-01",
    "2022-02-01-preview",
    "2022-05-01-preview",
    "2022-08-01-preview",
    "2022-11-01-preview",
    "2023-02-01-preview",
    "2023-05-01-preview",
    "2023-08-01-preview",
    "2023-08-01",
    "2024-05-01-preview",
    "2024-11-01-preview",
    LATEST,
)
_JOB_VERSIONS = ("2017-03-01-preview", *_JOBS_SPLIT)
_PRIVATE_ENDPOINT_VERSIONS = _JOBS_SPLIT[_JOBS_SPLIT.index("2023-05-01-preview") :]

PUBLISHED: dict[str, tuple[str, ...]] = {
    "servers": ("2019-06-01-preview", "2020-02-02-preview", *_JOBS_SPLIT),
    "servers/databases": (
        "2017-03-01-preview",
        "2017-10-01-preview",
        "2019-06-01-preview",
        "2020-02-02-preview",
        "2020-08-01-preview",
        *_JOBS_SPLIT,
    ),
    "servers/jobAgents": _JOB_VERSIONS,
    "servers/jobAgents/privateEndpoints": _PRIVATE_ENDPOINT_VERSIONS,
    "locations/jobAgentAzureAsyncOperation": _JOB_VERSIONS,
    "locations/jobAgentOperationResults": _JOB_VERSIONS,
    "locations/jobAgentPrivateEndpointAzureAsyncOperation": _PRIVATE_ENDPOINT_VERSIONS,
    "locations/jobAgentPrivateEndpointOperationResults": _PRIVATE_ENDPOINT_VERSIONS,
}
"""Resource type (without the namespace) → every published api-version, oldest first. A type not
listed has its nearest listed parent's: every child of a job agent (credentials, targetGroups,
jobs, steps, versions, executions, step and target executions) has the agent's."""

ADDED_IN: dict[str, tuple[tuple[str, str], ...]] = {
    "servers/jobAgents": (("identity", "2023-05-01-preview"),),
}
"""Exact resource type → (dotted property path, first api-version that defines it). A property of a body
sent or answered in an older version is dropped. Properties not listed exist in every version."""

_VERSION_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")


def resource_type(path: str) -> str | None:
    """The ARM resource type (without the namespace) a ``/subscriptions/…/providers/Microsoft.Sql/…``
    path addresses, e.g. ``servers/jobAgents/jobs/steps``; ``None`` outside ``Microsoft.Sql``."""
    segments = path.strip("/").split("/")
    lowered = [segment.lower() for segment in segments]
    if "providers" not in lowered:
        return None
    at = lowered.index("providers") + 1
    if at >= len(segments) - 1 or lowered[at] != NAMESPACE.lower():
        return None
    return "/".join(segments[at + 1 :: 2])


def _published_key(type_name: str | None) -> str:
    """The ``PUBLISHED`` key whose versions ``type_name`` has: itself or its nearest listed parent
    (a job agent's children have the agent's); job agents' for a type the emulator does not serve."""
    types = (type_name or "").lower().split("/")
    for known in sorted(PUBLISHED, key=lambda key: key.count("/"), reverse=True):
        prefix = known.lower().split("/")
        if types[: len(prefix)] == prefix:
            return known
    return "servers/jobAgents"


def is_well_formed(version: str) -> bool:
    """``YYYY-MM-DD`` with an optional ``-preview``: the form of every ARM api-version."""
    return bool(_VERSION_FORMAT.match(version))


def is_published(type_name: str | None, version: str) -> bool:
    """Whether ``version`` is a published api-version of the resource type ``type_name``."""
    return version in PUBLISHED[_published_key(type_name)]


def supported(type_name: str | None) -> tuple[str, ...]:
    """Every published api-version of ``type_name``, newest first (the order ARM lists them in)."""
    return tuple(reversed(PUBLISHED[_published_key(type_name)]))


def _sort_key(version: str) -> tuple[str, int]:
    """Chronological order; a preview comes before the stable version of the same date."""
    return version[:10], 0 if version.endswith("-preview") else 1


def undefined_paths(type_name: str | None, version: str) -> tuple[str, ...]:
    """The dotted property paths that ``version`` of the resource type ``type_name`` does not define."""
    return tuple(
        path
        for key, added in ADDED_IN.items()
        if key.lower() == (type_name or "").lower()
        for path, first in added
        if _sort_key(version) < _sort_key(first)
    )


def shape(body: Any, type_name: str | None, version: str) -> Any:
    """``body`` (a resource, or a list page ``{"value": [...]}``) without the properties ``version``
    does not define; the body itself when it defines them all (the newest version always does)."""
    paths = undefined_paths(type_name, version)
    if not paths or not isinstance(body, dict):
        return body
    if isinstance(body.get("value"), list):
        return {**body, "value": [_without(item, paths) for item in body["value"]]}
    return _without(body, paths)


def _without(document: Any, paths: tuple[str, ...]) -> Any:
    if not isinstance(document, dict):
        return document
    result = dict(document)
    for path in paths:
        head, _, rest = path.partition(".")
        if head not in result:
            continue
        if rest:
            result[head] = _without(result[head], (rest,))
        else:
            del result[head]
    return result
