"""ARM resource ids of ``Microsoft.Sql`` resources: their type, name and resource document shell.

An id is ``/subscriptions/…/providers/Microsoft.Sql/{collection}/{name}/…``; its type joins the
collection segments (``Microsoft.Sql/servers/jobAgents/jobs``) with the casing the id has. Used by
the ARM routers and by the engine's job versioning, which writes documents of its own.
"""

from __future__ import annotations

from typing import Any

PROVIDER = "Microsoft.Sql"
_MARKER = f"/providers/{PROVIDER.lower()}/"


def split(resource_id: str) -> tuple[str, list[str]]:
    """``(…/providers/Microsoft.Sql, [collection, name, collection, name, …])``."""
    start = resource_id.lower().index(_MARKER) + len(_MARKER)
    return resource_id[: start - 1], resource_id[start:].strip("/").split("/")


def resource_type(resource_id: str) -> str:
    """``Microsoft.Sql/servers/jobAgents/jobs`` for a job id (collection segments joined)."""
    return "/".join([PROVIDER, *split(resource_id)[1][0::2]])


def resource_name(resource_id: str) -> str:
    """The last segment of an id."""
    return resource_id.rstrip("/").rsplit("/", 1)[-1]


def new_doc(resource_id: str, properties: dict[str, Any], **top_level: Any) -> dict[str, Any]:
    """An ARM resource body: id, name, type, optional top-level fields, then properties."""
    doc: dict[str, Any] = {
        "id": resource_id,
        "name": resource_name(resource_id),
        "type": resource_type(resource_id),
    }
    doc.update({key: value for key, value in top_level.items() if value is not None})
    doc["properties"] = properties
    return doc
