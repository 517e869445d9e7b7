"""DAG parsing stays cheap: importing the hook, links and operators imports no Azure SDK."""

from __future__ import annotations

import subprocess
import sys

from airflow_elasticjobs.provider_info import OPERATOR_MODULES

MODULES = [
    "airflow_elasticjobs.hooks.elastic_jobs",
    "airflow_elasticjobs.links.elastic_jobs",
    *OPERATOR_MODULES,
]

PROBE = f"""
import sys
for name in {MODULES!r}:
    __import__(name)
heavy = sorted(m for m in sys.modules if m.startswith(("azure.mgmt.sql", "azure.identity")))
print("HEAVY=" + ",".join(heavy))
"""


def test_importing_operators_does_not_import_azure_sdk() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True
    )
    heavy = [line for line in done.stdout.splitlines() if line.startswith("HEAVY=")]
    assert heavy == ["HEAVY="], heavy
