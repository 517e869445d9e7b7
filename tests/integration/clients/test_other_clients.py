"""Clients other than the suite's own drive the tutorial flow against the emulator over HTTPS.

- ``azure-mgmt-sql`` 4.0.0 with its api-version set explicitly (the rest of the suite uses it too);
- ``azure-mgmt-sql`` 3.0.1, the latest 3.x (job agents and children ``2020-11-01-preview``,
  servers and databases ``2021-02-01-preview``), in its own venv under the client cache dir;
- ``azure-mgmt-sql`` 5.0.0b2, the newest release (a preview, generated from TypeSpec: every
  operation at ``2026-08-01-preview``), in its own venv, unchanged: the same script as 3.0.1; and
  the provider itself on it: ``scripts/demo.py`` (the tutorial DAG through ``airflow dags test``)
  with that SDK put before the project's 4.0.0;
- Microsoft's JavaScript SDK ``@azure/arm-sql`` 10.0.0 (job agents ``2020-11-01-preview``, servers
  and databases ``2022-08-01-preview``), npm-installed into the client cache dir.

The cache dir is ``$ELASTICJOBS_CLIENT_CACHE`` or ``~/.cache/airflow-elasticjobs/clients``: the
first run downloads, later runs reuse it. Without ``node``/``npm`` the JavaScript test is skipped,
except under CI (``CI`` set), where it fails (scripts/test.sh installs ``nodejs npm``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.definitions import create_agent_setup
from tests.support.demo import kept_demo_run
from tests.support.emulator import EmulatorProcess, unique_name

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent
SDK3 = "azure-mgmt-sql==3.0.1"
SDK5 = "azure-mgmt-sql==5.0.0b2"
SDK5_API_VERSION = "2026-08-01-preview"  # the only one it sends
#: What a client release needs and does not declare: 3.0.1 imports six.
UNDECLARED = {SDK3: ("six",)}
JS_PACKAGES = ("@azure/arm-sql@10.0.0", "@azure/core-auth@1")
_INSTALL_TIMEOUT = 600
_RUN_TIMEOUT = 90


def _cache_dir() -> Path:
    default = Path.home() / ".cache" / "airflow-elasticjobs" / "clients"
    path = Path(os.environ.get("ELASTICJOBS_CLIENT_CACHE", default))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _run(command: list[str], timeout: float, **kwargs: object) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)
    assert done.returncode == 0, f"{command[:3]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _made_once(folder: Path, requirement: str, *commands: list[str]) -> Path:
    """``folder`` after ``commands`` made it with ``requirement``: run once, then remembered by a
    marker file the last command's success writes."""
    marker = folder / ".installed"
    if not marker.exists():
        for command in commands:
            _run(command, _INSTALL_TIMEOUT)
        marker.write_text(requirement)
    return folder


def _sdk_python(requirement: str) -> Path:
    """The python of a venv with ``requirement`` (made once per requirement; not the project's venv)."""
    venv = _cache_dir() / requirement.replace("==", "-")
    python = venv / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "-q", requirement, *UNDECLARED.get(requirement, ())]
    _made_once(venv, requirement, [sys.executable, "-m", "venv", "--clear", str(venv)], pip)
    return python


def _sdk_only(requirement: str) -> Path:
    """A folder holding ``requirement`` alone, to put before the project's venv on ``PYTHONPATH``: its
    dependencies are the venv's (5.0.0b2 needs azure-core and azure-mgmt-core>=1.6.0, which the
    project's azure-mgmt-sql 4.0.0 needs too). ``--upgrade`` replaces what an interrupted try left."""
    folder = _cache_dir() / f"{requirement.replace('==', '-')}-alone"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--upgrade", "--target", str(folder)]
    return _made_once(folder, requirement, [*pip, requirement])


def _sdk_tutorial(requirement: str, emulator: EmulatorProcess) -> dict[str, object]:
    """What ``sdk_tutorial.py`` reports after running the tutorial flow with ``requirement``."""
    output = _run(
        [
            str(_sdk_python(requirement)),
            str(HERE / "sdk_tutorial.py"),
            emulator.url,
            str(emulator.cert_path),
            emulator.token,
            emulator.subscription_id,
            unique_name("rg"),
        ],
        _RUN_TIMEOUT,
        env={"PATH": os.environ.get("PATH", "")},  # nothing of this project on its path
    )
    return json.loads(output.strip().splitlines()[-1])


def _node_modules() -> Path:
    """node_modules with @azure/arm-sql (npm-installed once into the cache dir)."""
    prefix = _cache_dir() / "arm-sql-10.0.0"
    if not (prefix / "node_modules" / "@azure" / "arm-sql").exists():
        _run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(prefix), *JS_PACKAGES],
            _INSTALL_TIMEOUT,
        )
    return prefix / "node_modules"


def _check_tutorial(outcome: dict[str, object], emulator: EmulatorProcess, sent: str) -> None:
    assert outcome["lifecycle"] == "Succeeded", outcome
    assert outcome["last_message"] == "Job execution succeeded."
    assert outcome["steps"] == ["Succeeded"]
    assert outcome["agent_state"] == "Ready" and outcome["step_id"] == 1
    assert f"api-version={sent}" in emulator.log_text()


def test_current_sdk_with_explicit_api_version(emulator: EmulatorProcess) -> None:
    with emulator.management_client(api_version="2025-01-01") as client:
        setup = create_agent_setup(client, unique_name("rg"))
        agent = client.job_agents.get(*setup.names()[:2], setup.agent)
    assert agent.state == "Ready" and agent.sku.name == "JA100"


def test_shape_follows_the_api_version(emulator: EmulatorProcess) -> None:
    """identity is defined from 2023-05-01-preview: older versions neither take nor return it."""
    with emulator.management_client() as client:
        setup = create_agent_setup(client, unique_name("rg"))
    identity = {"type": "None"}
    with emulator.http() as http:
        patched = http.patch(
            setup.agent_id, params={"api-version": "2025-01-01"}, json={"identity": identity}
        )
        assert patched.status_code == 202, patched.text
        now = http.get(setup.agent_id, params={"api-version": "2025-01-01"}).json()
        old = http.get(setup.agent_id, params={"api-version": "2020-11-01-preview"}).json()
        listed = http.get(setup.agent_id.rsplit("/", 1)[0], params={"api-version": "2017-03-01-preview"})
    assert now["identity"] == identity
    assert "identity" not in old and old["properties"]["databaseId"] == now["properties"]["databaseId"]
    assert [item.get("identity") for item in listed.json()["value"]] == [None]


def test_azure_mgmt_sql_3(emulator: EmulatorProcess) -> None:
    outcome = _sdk_tutorial(SDK3, emulator)
    _check_tutorial(outcome, emulator, "2020-11-01-preview")
    assert "api-version=2021-02-01-preview" in emulator.log_text()


def test_azure_mgmt_sql_5_preview(emulator: EmulatorProcess) -> None:
    """The newest SDK sends one api-version newer than the emulator's routers' 2025-01-01."""
    outcome = _sdk_tutorial(SDK5, emulator)
    _check_tutorial(outcome, emulator, SDK5_API_VERSION)


@pytest.mark.timeout(_INSTALL_TIMEOUT + 480)
def test_the_provider_runs_the_tutorial_dag_on_azure_mgmt_sql_5_preview() -> None:
    """The provider's hooks, operators and triggers on the newest SDK, unchanged: every ARM request of
    the demo (Airflow's tasks and triggers, and the demo's report) is at the preview's api-version."""
    with kept_demo_run(timeout=420, pythonpath=str(_sdk_only(SDK5))) as run:
        assert run.returncode == 0 and "DEMO OK" in run.stdout, run.stdout[-4000:] + run.stderr[-4000:]
        out = run.stdout
        assert re.search(r"TargetDb1\s+yes\s+yes", out) and re.search(r"TargetDb2\s+yes\s+-", out), out
        assert set(re.findall(r"api-version=([\w-]+)", run.emulator_log())) == {SDK5_API_VERSION}


def test_javascript_sdk(emulator: EmulatorProcess) -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        reason = "node and npm are needed for the @azure/arm-sql client test (apt-get install nodejs npm)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run it")
        pytest.skip(reason)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "NODE_PATH": str(_node_modules()),
        "NODE_EXTRA_CA_CERTS": str(emulator.cert_path),
    }
    output = _run(
        [
            "node",
            str(HERE / "js_tutorial.cjs"),
            emulator.url,
            emulator.token,
            emulator.subscription_id,
            unique_name("rg"),
        ],
        _RUN_TIMEOUT,
        env=env,
    )
    outcome = json.loads(output.strip().splitlines()[-1])
    _check_tutorial(outcome, emulator, "2020-11-01-preview")
    assert outcome["agent_identity"] is None  # not defined in 2020-11-01-preview
    assert "api-version=2022-08-01-preview" in emulator.log_text()
