"""``airflow providers …`` (real subprocesses with their own AIRFLOW_HOME) see the provider, its
connection type, every connection form field, the field behaviour and the extra links."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from typing import Any

import pytest

from airflow_elasticjobs.hooks.connection_form import CONN_FIELDS
from tests.compat.airflow_versions import AIRFLOW_VERSION, cli_json

HOOK = "airflow_elasticjobs.hooks.elastic_jobs.ElasticJobsHook"
COMMANDS = ("list", "hooks", "widgets", "behaviours", "links")


def _run_all(home: str) -> dict[str, Any]:
    """Run the ``airflow providers`` commands concurrently; return their JSON output by command."""
    env = {**os.environ, "AIRFLOW_HOME": home}
    processes = {
        command: subprocess.Popen(
            [sys.executable, "-m", "airflow", "providers", command, "--output", "json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for command in COMMANDS
    }
    outputs = {}
    for command, process in processes.items():
        stdout, _ = process.communicate(timeout=180)
        assert process.returncode == 0, f"airflow providers {command} failed"
        outputs[command] = cli_json(stdout)
    return outputs


@pytest.mark.timeout(300)
def test_airflow_providers_commands_show_the_provider(tmp_path) -> None:
    out = _run_all(str(tmp_path))

    listing = {p["package_name"]: p for p in out["list"]}
    assert listing["airflow-elasticjobs"]["version"] == "0.1.0"

    hooks = {h["connection_type"]: h["class"] for h in out["hooks"]}
    assert hooks["azure_elastic_jobs"] == HOOK

    widgets = {w["connection_parameter_name"] for w in out["widgets"] if w["class"] == HOOK}
    behaviours = [b["field_behaviours"] for b in out["behaviours"]]
    if _form_fields_known():
        assert widgets == {f"extra__azure_elastic_jobs__{name}" for name in CONN_FIELDS}
        assert "azure_elastic_jobs" in behaviours  # accepted by the providers manager's schema check
    else:
        assert not widgets and "azure_elastic_jobs" not in behaviours

    links = str(out["links"])
    assert "airflow_elasticjobs.links.elastic_jobs.ElasticJobsAgentLink" in links
    assert "airflow_elasticjobs.links.elastic_jobs.ElasticJobsExecutionLink" in links


def _form_fields_known() -> bool:
    """Whether the providers manager knows the form's fields and behaviour: always from Airflow 3.2
    (the declarative ``conn-fields``); before, only with wtforms, which Airflow 3.0/3.1 install with
    the FAB provider; for every provider without it "UI widgets will be missing"
    (``airflow/providers_manager.py``, ``_import_hook``; docs/compatibility.md)."""
    return AIRFLOW_VERSION >= (3, 2) or importlib.util.find_spec("wtforms") is not None
