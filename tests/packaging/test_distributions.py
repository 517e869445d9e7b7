"""The repository's two distributions, built and resolved by pip as a user's machine would.

- ``airflow-elasticjobs`` (``.``, import ``airflow_elasticjobs``): the provider. Its base install no
  longer requires the emulator's own needs: ``uvicorn``, ``sqlglot``, ``cryptography``, ``httpx``
  nor the emulator distribution. (``fastapi`` stays: the UI plugin's API, ``plugins/api.py``, imports
  it.) Airflow itself still brings ``uvicorn``, ``fastapi``, ``httpx`` and ``cryptography`` (its
  api-server and the Azure SDK need them), so a resolved base install lacks exactly ``sqlglot`` and
  the emulator; the wheel's own ``Requires-Dist`` lacks all of them.
- ``airflow-elasticjobs-emulator`` (``./emulator``, import ``elasticjobs_emulator``): the emulator
  server (no Airflow needed), its DB-API driver and, with its ``airflow`` extra, the
  ``elastic_jobs_emulator_sql`` connection type. It is not on PyPI: the provider's ``[emulator]``
  extra pins its exact version, and pip finds it locally (``scripts/_bootstrap.sh`` installs both
  folders in one pip command; here ``--find-links`` to the emulator wheel built from ``./emulator``).

Every pip run targets a fresh ``venv`` (``pip --python``, sharing this interpreter's pip cache).
Airflow is resolved (``--dry-run --report``) but never installed there; only the emulator wheel
and its small dependency set are really installed, which is what its server needs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from scripts.compat_constraints import wheel_requirements
from tests.support.emulator import TESTED_EMULATOR_VERSION

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[2]
PROVIDER = "airflow-elasticjobs"
EMULATOR = "airflow-elasticjobs-emulator"
#: What the provider's base requirements must not name: the emulator and what only it needs.
EMULATOR_ONLY = {EMULATOR, "uvicorn", "sqlglot", "cryptography", "httpx"}
_PIP_TIMEOUT_SECONDS = 240
_BUILD_LEFTOVERS = shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", ".venv")


def _child_env() -> dict[str, str]:
    """This environment (its isolated AIRFLOW_HOME) without PYTHONPATH: a fresh venv sees only its own
    packages, and a PYTHONPATH'd checkout would count as installed there."""
    return {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}


def _run(command: list[str], *, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``command`` (bounded, without this checkout on PYTHONPATH); fail with its output when it fails."""
    completed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=_child_env(),
        timeout=_PIP_TIMEOUT_SECONDS,
        check=False,
    )
    assert completed.returncode == 0, (
        f"{' '.join(command)} failed ({completed.returncode}):\n{completed.stderr[-4000:]}"
    )
    return completed


def _name(requirement: Requirement) -> str:
    return re.sub(r"[-_.]+", "-", requirement.name).lower()


def _emulator_pin() -> Requirement:
    """The provider's ``[emulator]`` extra as written in ``pyproject.toml``."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    (requirement,) = (Requirement(text) for text in extras["emulator"])
    return requirement


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Both wheels, built from copies of the sources (the working tree gets no build leftovers)."""
    base = tmp_path_factory.mktemp("dists")
    provider_src, emulator_src, out = base / "provider", base / "emulator", base / "wheels"
    provider_src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, provider_src / name)
    shutil.copytree(
        ROOT / "airflow_elasticjobs", provider_src / "airflow_elasticjobs", ignore=_BUILD_LEFTOVERS
    )
    shutil.copytree(ROOT / "emulator", emulator_src, ignore=_BUILD_LEFTOVERS)
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(out),
            str(emulator_src),
            str(provider_src),
        ]
    )
    built = {path.name.split("-")[0].replace("_", "-"): path for path in out.glob("*.whl")}
    assert set(built) == {PROVIDER, EMULATOR}, sorted(out.iterdir())
    return built


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The interpreter of a new, empty venv (pip runs from this one with ``--python``)."""
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    return venv / "bin" / "python"


def _resolve(python: Path, requirement: str, *extra_args: str) -> dict[str, dict[str, Any]]:
    """What ``pip install requirement`` would install into ``python``'s venv, by normalized name."""
    completed = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--dry-run",
            "--quiet",
            "--report",
            "-",
            *extra_args,
            requirement,
        ]
    )
    report = json.loads(completed.stdout)
    return {re.sub(r"[-_.]+", "-", item["metadata"]["name"]).lower(): item for item in report["install"]}


def test_provider_wheel_requires_nothing_only_the_emulator_needs(wheels: dict[str, Path]) -> None:
    requirements = wheel_requirements(wheels[PROVIDER])
    base = {_name(r) for r in requirements if r.marker is None}
    assert "apache-airflow" in base  # the metadata was read at all
    assert not base & EMULATOR_ONLY, f"the provider's base install requires {sorted(base & EMULATOR_ONLY)}"
    (emulator_extra,) = (r for r in requirements if _name(r) == EMULATOR)
    assert str(emulator_extra.marker) == 'extra == "emulator"'
    assert str(emulator_extra.specifier) == f"=={TESTED_EMULATOR_VERSION}"


def test_provider_base_install_resolves_no_emulator(wheels: dict[str, Path], fresh_python: Path) -> None:
    """A real resolution of the provider: Airflow brings uvicorn/fastapi, nothing brings sqlglot."""
    resolved = _resolve(fresh_python, str(wheels[PROVIDER]))
    assert {PROVIDER, "apache-airflow-core", "uvicorn", "fastapi"} <= set(resolved)
    assert "sqlglot" not in resolved
    assert EMULATOR not in resolved


def test_emulator_extra_installs_the_local_emulator_wheel(
    wheels: dict[str, Path], fresh_python: Path
) -> None:
    """``.[emulator]`` resolves to the wheel built from ./emulator, at the pinned version."""
    emulator_wheel = wheels[EMULATOR]
    resolved = _resolve(
        fresh_python,
        f"{PROVIDER}[emulator] @ {wheels[PROVIDER].as_uri()}",
        "--find-links",
        str(emulator_wheel.parent),
    )
    assert resolved[EMULATOR]["metadata"]["version"] == TESTED_EMULATOR_VERSION
    assert resolved[EMULATOR]["download_info"]["url"] == emulator_wheel.as_uri()  # never an index's
    assert "sqlglot" in resolved


def test_emulator_server_runs_from_its_wheel_without_airflow(
    wheels: dict[str, Path], fresh_python: Path
) -> None:
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(fresh_python),
            "install",
            "--quiet",
            str(wheels[EMULATOR]),
        ]
    )
    no_airflow = _run(
        [str(fresh_python), "-c", "import importlib.util; print(importlib.util.find_spec('airflow'))"]
    )
    assert no_airflow.stdout.strip() == "None"
    helped = _run([str(fresh_python), "-m", "elasticjobs_emulator", "--help"])
    assert "--state-dir" in helped.stdout and "--token" in helped.stdout


def test_built_wheels_register_one_connection_type_each(wheels: dict[str, Path], tmp_path: Path) -> None:
    """Airflow finds ``elastic_jobs_emulator_sql`` in the emulator wheel only, the provider's type in its own.

    Both wheels are unpacked (no dependencies) into a folder that comes first on ``PYTHONPATH`` of
    this Airflow, so their code and entry points shadow any other install of the two distributions.
    """
    site = tmp_path / "site"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(site),
            *map(str, wheels.values()),
        ]
    )
    probe = (
        "import json; from airflow.providers_manager import ProvidersManager; pm = ProvidersManager(); "
        "types = ('azure_elastic_jobs', 'elastic_jobs_emulator_sql'); "
        "print(json.dumps({t: pm.hooks[t].package_name for t in types}))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**_child_env(), "PYTHONPATH": str(site)},
        timeout=_PIP_TIMEOUT_SECONDS,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    owners = json.loads(completed.stdout.strip().splitlines()[-1])
    assert owners == {"azure_elastic_jobs": PROVIDER, "elastic_jobs_emulator_sql": EMULATOR}


def test_the_provider_is_tested_against_the_emulator_version_its_extra_pins() -> None:
    """pyproject's ``[emulator]`` pin == the installed emulator == the version this suite records."""
    import elasticjobs_emulator

    pin = _emulator_pin()
    assert _name(pin) == EMULATOR and pin.extras == {"airflow"}
    try:
        installed = version(EMULATOR)
    except PackageNotFoundError:
        pytest.fail(f"{EMULATOR} is not installed: run bash scripts/test.sh (or pip install -e ./emulator)")
    assert str(pin.specifier) == f"=={TESTED_EMULATOR_VERSION}", (
        f"pyproject.toml pins {pin}; tests/support/emulator.py records {TESTED_EMULATOR_VERSION}: "
        "change both together when the provider is tested against a new emulator"
    )
    assert installed == elasticjobs_emulator.__version__ == TESTED_EMULATOR_VERSION
