"""Generate the emulator's api-version table (``emulator/elasticjobs_emulator/api_versions.json``).

Reads a local checkout (or a partial mirror) of GitHub ``Azure/azure-rest-api-specs`` and writes, for
every resource type the emulator serves and every api-version folder that defines it, the property
names the version's schema defines: the resource's own top-level properties (``sku``, ``identity``,
``kind``, ``properties`` …; the ``id``/``name``/``type``/``location``/``tags`` of the common base
resources are not listed) and the names inside its ``properties`` object, with the ones that
object's schema marks ``required``. Standard library only::

    python scripts/api_versions_from_specs.py <azure-rest-api-specs checkout> \\
        > emulator/elasticjobs_emulator/api_versions.json

A folder is ``specification/sql/resource-manager/Microsoft.Sql/{preview,stable}/<api-version>/``; a
type's files are tried in the order given in ``TYPES`` (the 2017 preview kept every job resource in
one ``jobs.json``; later versions have one file per kind). A spec file that carries an
``x-mirror`` note (a trimmed mirror says there how the file was obtained) has it copied into the
output, so the table says which versions were read from which file.

``scripts/spec_mirror/`` is such a trimmed mirror, committed so the table is reproducible
(``python scripts/api_versions_from_specs.py scripts/spec_mirror``; a unit test checks the committed
table is exactly that output): each file keeps only the definitions read, and its ``x-mirror`` says
``read @<commit>`` of ``Azure/azure-rest-api-specs`` or, for a file not yet read, ``not read:`` and
where its names come from instead (``copied from <file>``, or the models of the SDK generated from
that version). Reading a version means replacing its mirror files with the real ones (or their
trimmed definitions) and regenerating. A version only the mirror has (``2026-08-01-preview``) is
left out when the script reads a checkout that lacks it: regenerate from the mirror.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

SPEC_DIR = Path("specification/sql/resource-manager/Microsoft.Sql")
VERSION_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")
"""``YYYY-MM-DD`` with an optional ``-preview``: the form of every ARM api-version (and spec folder)."""

_JOB_STEP = ("JobStep", ("JobSteps.json", "jobs.json"))
_JOB_EXECUTION = ("JobExecution", ("JobExecutions.json", "jobs.json"))
TYPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "servers": ("Server", ("Servers.json", "servers.json")),
    "servers/databases": ("Database", ("Databases.json", "databases.json")),
    "servers/jobAgents": ("JobAgent", ("JobAgents.json", "jobs.json")),
    "servers/jobAgents/credentials": ("JobCredential", ("JobCredentials.json", "jobs.json")),
    "servers/jobAgents/targetGroups": ("JobTargetGroup", ("JobTargetGroups.json", "jobs.json")),
    "servers/jobAgents/privateEndpoints": ("JobPrivateEndpoint", ("JobPrivateEndpoints.json",)),
    "servers/jobAgents/jobs": ("Job", ("Jobs.json", "jobs.json")),
    "servers/jobAgents/jobs/steps": _JOB_STEP,
    "servers/jobAgents/jobs/versions": ("JobVersion", ("JobVersions.json", "jobs.json")),
    "servers/jobAgents/jobs/versions/steps": _JOB_STEP,
    "servers/jobAgents/jobs/executions": _JOB_EXECUTION,
    # step and target executions answer with the JobExecution schema of JobExecutions.json
    "servers/jobAgents/jobs/executions/steps": _JOB_EXECUTION,
    "servers/jobAgents/jobs/executions/targets": _JOB_EXECUTION,
    "servers/jobAgents/jobs/executions/steps/targets": _JOB_EXECUTION,
}
"""Resource type (without the namespace) → (root definition, spec files to look in, in order)."""


def version_key(version: str) -> tuple[str, int]:
    """Chronological order; a preview comes before the stable version of the same date."""
    return version[:10], 0 if version.endswith("-preview") else 1


def _local_definition(definitions: dict[str, Any], ref: str | None) -> dict[str, Any]:
    if not ref or not ref.startswith("#/definitions/"):
        return {}
    return definitions.get(ref.removeprefix("#/definitions/"), {})


def describe(spec: dict[str, Any], definition: str) -> dict[str, Any] | None:
    """What ``definition`` in one spec file defines: top-level and ``properties`` names, required ones."""
    definitions = spec.get("definitions", {})
    root = definitions.get(definition)
    if root is None:
        return None
    top = root.get("properties", {})
    inner = _local_definition(definitions, top.get("properties", {}).get("$ref"))
    return {
        "top": sorted(top),
        "properties": sorted(inner.get("properties", {})),
        "required": sorted(inner.get("required", [])),
    }


def generate(checkout: Path) -> dict[str, Any]:
    """The table for every type in ``TYPES`` from the spec folders under ``checkout``."""
    base = checkout / SPEC_DIR
    folders = sorted(
        (
            path
            for kind in ("preview", "stable")
            for path in (base / kind).glob("*")
            if VERSION_FORMAT.match(path.name)
        ),
        key=lambda path: version_key(path.name),
    )
    types: dict[str, Any] = {}
    for type_name, (definition, files) in TYPES.items():
        versions: dict[str, Any] = {}
        for folder in folders:
            for file_name in files:
                path = folder / file_name
                if not path.is_file():
                    continue
                spec = json.loads(path.read_text(encoding="utf-8"))
                shape = describe(spec, definition)
                if shape is None:
                    continue
                entry = {"file": path.relative_to(base).as_posix(), **shape}
                if "x-mirror" in spec:
                    entry["source"] = spec["x-mirror"]
                versions[folder.name] = entry
                break
        types[type_name] = {"definition": definition, "versions": versions}
    return {"specs": f"Azure/azure-rest-api-specs {SPEC_DIR.as_posix()}", "types": types}


def main(argv: list[str]) -> int:
    """Print the table for the checkout named by the only argument."""
    if len(argv) != 1 or not (Path(argv[0]) / SPEC_DIR).is_dir():
        print(f"usage: api_versions_from_specs <checkout containing {SPEC_DIR}>", file=sys.stderr)
        return 2
    json.dump(generate(Path(argv[0])), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
