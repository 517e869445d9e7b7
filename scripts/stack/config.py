"""The Airflow configuration of the local stack: ``AIRFLOW__*`` variables, the admin login, free ports.

Every component gets the same environment (one ``AIRFLOW_HOME`` in the state directory, one JWT
secret, one fernet key), except each triggerer's own log-server port. The intervals are shortened
where waiting would only slow tests and a person down, and stay realistic otherwise; each value is
explained in ``docs/deployment.md``.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path

ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin"  # local-only UI login, as in docker-compose.yml
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"

# Shortened intervals (seconds); docs/deployment.md says why each value.
INTERVALS = {
    "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
    "AIRFLOW__DAG_PROCESSOR__BUNDLE_REFRESH_CHECK_INTERVAL": "5",
    "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "15",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "3",
    "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "3",
    "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "15",
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class AirflowSettings:
    """What differs between stacks: paths, ports, database URL, DAG folders, secrets."""

    home: Path
    database_url: str
    api_port: int
    worker_log_port: int
    dag_folders: list[Path]
    paused_at_creation: bool = True
    connections: dict[str, str] = field(default_factory=dict)
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(64))
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    fernet_key: str = field(default_factory=lambda: _fernet_key())

    @property
    def api_url(self) -> str:
        """Base URL of the api-server (UI, REST API and execution API)."""
        return f"http://127.0.0.1:{self.api_port}"

    def bundles(self) -> list[dict[str, object]]:
        """One ``LocalDagBundle`` per DAG folder; the first is Airflow's ``dags-folder`` bundle."""
        names = ["dags-folder", *(f"{folder.name}-{i}" for i, folder in enumerate(self.dag_folders[1:], 1))]
        return [
            {"name": name, "classpath": LOCAL_BUNDLE, "kwargs": {"path": str(folder)}}
            for name, folder in zip(names, self.dag_folders, strict=True)
        ]

    def write_passwords_file(self) -> Path:
        """The simple auth manager's passwords file with the fixed admin password (else it generates one)."""
        path = self.home / "simple_auth_manager_passwords.json"
        self.home.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({ADMIN_USER: ADMIN_PASSWORD}) + "\n")
        return path

    def environment(self) -> dict[str, str]:
        """The full environment for every Airflow process (nothing inherited from ``AIRFLOW*`` variables)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.database_url,
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": "16",
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dag_folders[0]),
                "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(self.bundles()),
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": str(self.paused_at_creation),
                "AIRFLOW__CORE__FERNET_KEY": self.fernet_key,
                "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.write_passwords_file()),
                "AIRFLOW__API_AUTH__JWT_SECRET": self.jwt_secret,
                "AIRFLOW__API__SECRET_KEY": self.secret_key,
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.api_port),
                "AIRFLOW__API__WORKERS": "1",
                # Airflow 3.0-3.2 refuse the REST API's `deserialize` flag on XCom entries unless this
                # is on (3.3 dropped the option and always allows it); tests/deployment reads XComs so.
                "AIRFLOW__API__ENABLE_XCOM_DESERIALIZE_SUPPORT": "True",
                "AIRFLOW__API__BASE_URL": f"{self.api_url}/",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.worker_log_port),
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
                # As docker-compose.yml: the provider's operators and sensors wait in the triggerer.
                "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",
                **INTERVALS,
                **self.connections,
            }
        )
        return env


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()
