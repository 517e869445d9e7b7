"""In a venv of scripts/compat.sh: the code under test is the installed wheels, not this checkout.

scripts/compat.sh runs the compatibility subset from a copy of ``tests/`` and sets
``ELASTICJOBS_COMPAT_AIRFLOW`` to the Airflow version it installed; elsewhere (the main venv, whose
installs are editable) these tests skip.
"""

from __future__ import annotations

import json
import os
import sysconfig
from importlib.metadata import distribution, version
from pathlib import Path

import pytest

AIRFLOW_UNDER_TEST = os.environ.get("ELASTICJOBS_COMPAT_AIRFLOW")

pytestmark = pytest.mark.skipif(
    not AIRFLOW_UNDER_TEST, reason="runs in scripts/compat.sh's venvs (ELASTICJOBS_COMPAT_AIRFLOW)"
)


@pytest.mark.parametrize("module", ["airflow_elasticjobs", "elasticjobs_emulator"])
def test_package_imports_from_site_packages(module: str) -> None:
    imported = __import__(module)
    site_packages = Path(sysconfig.get_paths()["purelib"]).resolve()
    assert Path(imported.__file__).resolve().is_relative_to(site_packages), (
        f"{module} imported from {imported.__file__}, not from this venv's {site_packages}"
    )


@pytest.mark.parametrize("name", ["airflow-elasticjobs", "airflow-elasticjobs-emulator"])
def test_distribution_is_a_wheel_install_not_editable(name: str) -> None:
    """PEP 610's direct_url.json: installed from a built ``.whl`` file (scripts/compat.sh's dist/)."""
    recorded = json.loads(distribution(name).read_text("direct_url.json") or "{}")
    assert not recorded.get("dir_info", {}).get("editable"), f"{name} is an editable install"
    assert recorded.get("url", "").endswith(".whl"), f"{name} was not installed from a wheel: {recorded}"


def test_airflow_is_the_version_under_test() -> None:
    assert version("apache-airflow") == AIRFLOW_UNDER_TEST
    assert version("apache-airflow-core") == AIRFLOW_UNDER_TEST
