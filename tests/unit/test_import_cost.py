"""DAG parsing stays cheap: importing the provider's public modules pulls in no heavy stack.

Each public module the provider registers (hooks, operators, sensors, triggers, extra links) and
``get_provider_info()`` is imported in order in one fresh interpreter. A meta-path finder placed
first on ``sys.meta_path`` notes, for every forbidden module imported, the chain of modules that
imported it, so a failure names the offending import path (as ``python -X importtime`` would).
A heavy module is blamed on the first public module that imports it; fix that one and rerun.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.import_cost import public_modules

ROOT = Path(__file__).resolve().parents[2]

#: Imported lazily inside methods only; never at DAG parse time (docs/performance.md).
FORBIDDEN = (
    "azure.mgmt.sql",
    "azure.identity",
    # The emulator's server and SQL driver; its provider info (which Airflow's provider discovery
    # loads when the emulator distribution is installed) is cheap and allowed.
    "elasticjobs_emulator.api",
    "elasticjobs_emulator.engine",
    "elasticjobs_emulator.dbapi",
    "sqlglot",
    "fastapi",
    "pyodbc",
    "airflow.providers.odbc.hooks",
    # Lineage is optional: the operators import the OpenLineage provider only when Airflow asks them
    # for lineage (airflow_elasticjobs/lineage.py). Airflow's provider discovery itself imports the
    # package ``airflow.providers.openlineage`` (its configuration), so the check is on what lineage uses.
    "airflow.providers.openlineage.extractors",
    "airflow.providers.openlineage.sqlparser",
    "openlineage",
    "pyarrow",
)

_PROBE = r"""
import importlib, importlib.util, json, sys

FORBIDDEN = tuple(sys.argv[1].split(","))
MODULES = sys.argv[2].split(",")
current = None
found = {}

def forbidden(name):
    return next((f for f in FORBIDDEN if name == f or name.startswith(f + ".")), None)

def chain():
    names, frame = [], sys._getframe(2)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        skip = name == "__main__" or name.startswith(("importlib", "_frozen_importlib"))
        if not skip and (not names or names[-1] != name):
            names.append(name)
        frame = frame.f_back
    return list(reversed(names))

class Recorder:
    def find_spec(self, name, path=None, target=None):
        prefix = forbidden(name) if current is not None else None
        if prefix is not None:
            found.setdefault(current, {}).setdefault(prefix, chain() + [name])
        return None

sys.meta_path.insert(0, Recorder())
# What every DAG file imports first is Airflow's own cost, not the provider's (Airflow 3.0's
# `import airflow` itself pulls in FastAPI through airflow.settings; docs/compatibility.md).
import airflow.sdk
result = {}
for module in MODULES:
    current = module
    if importlib.util.find_spec(module) is None:
        result[module] = {"missing": True}
        continue
    imported = importlib.import_module(module)
    if module == "airflow_elasticjobs":
        imported.get_provider_info()
    result[module] = {"missing": False, "violations": found.get(module, {})}
print(json.dumps(result))
"""


def run_probe(modules: list[str]) -> dict[str, Any]:
    """Import ``modules`` in order in a fresh interpreter after ``airflow.sdk``; what each pulled in."""
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE, ",".join(FORBIDDEN), ",".join(modules)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, f"importing the provider failed:\n{completed.stderr[-3000:]}"
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def probe() -> dict[str, Any]:
    """The probe of every public module."""
    return run_probe(public_modules())


def test_probe_names_the_import_chain_of_a_heavy_module() -> None:
    """The check is not vacuous: the emulator's HTTP layer does import FastAPI, and is reported."""
    outcome = run_probe(["elasticjobs_emulator.api.sqlplane"])
    chain = outcome["elasticjobs_emulator.api.sqlplane"]["violations"]["fastapi"]
    assert chain == ["elasticjobs_emulator.api.sqlplane", "fastapi"]


def test_public_modules_cover_every_layer() -> None:
    modules = public_modules()
    for layer in ("hooks", "operators", "sensors", "triggers", "links"):
        assert any(f"airflow_elasticjobs.{layer}." in m for m in modules), f"no {layer} module registered"


@pytest.mark.parametrize("module", public_modules())
def test_import_pulls_in_no_heavy_stack(probe: dict[str, Any], module: str) -> None:
    outcome = probe[module]
    if outcome["missing"]:
        pytest.skip(f"{module} is registered in provider_info but not written yet")
    violations = outcome["violations"]
    assert not violations, (
        f"importing {module} imports heavy modules at parse time:\n"
        + "\n".join(f"  {name}: via {' -> '.join(chain)}" for name, chain in violations.items())
        + "\nImport them inside the method that needs them (see docs/performance.md)."
    )
