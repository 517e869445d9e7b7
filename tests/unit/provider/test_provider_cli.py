"""``airflow providers list`` / ``airflow providers hooks`` see the provider (a real subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _airflow(*args: str, home: str) -> str:
    env = {**os.environ, "AIRFLOW_HOME": home}
    done = subprocess.run(
        [sys.executable, "-m", "airflow", *args, "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


@pytest.mark.timeout(240)
def test_providers_list_and_hooks_show_the_provider(tmp_path) -> None:
    listing = _airflow("providers", "list", home=str(tmp_path))
    assert "airflow-elasticjobs" in listing
    assert "0.1.0" in listing
    hooks = _airflow("providers", "hooks", home=str(tmp_path))
    assert "azure_elastic_jobs" in hooks
    assert "airflow_elasticjobs.hooks.elastic_jobs.ElasticJobsHook" in hooks
