"""The emulator as a real subprocess, for integration tests and benchmarks.

``EmulatorProcess`` starts ``python -m elasticjobs_emulator`` on a free 127.0.0.1 port
with its own state directory, waits for the ready line, and hands out real ``azure-mgmt-sql``
clients (sync and aio) pointed at it over HTTPS. ``restart(kill=True)`` sends SIGKILL and starts
again on the same port and state directory, which is how persistence is tested.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from airflow_elasticjobs.hooks.static_token import AsyncStaticTokenCredential, StaticTokenCredential

if TYPE_CHECKING:
    from collections.abc import Sequence

    from azure.mgmt.sql import SqlManagementClient
    from azure.mgmt.sql.aio import SqlManagementClient as AsyncSqlManagementClient

    from elasticjobs_emulator.dbapi import Connection

TESTED_EMULATOR_VERSION = "0.1.0"
"""The ``airflow-elasticjobs-emulator`` version this suite tests the provider against; the provider's
``[emulator]`` extra pins exactly this version (tests/packaging/test_distributions.py checks both)."""
READY_PREFIX = "Elastic Jobs emulator ready at "
SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000001"
API_VERSION = "2025-01-01"
_START_TIMEOUT_SECONDS = 60.0
FAST_RETRIES = {"retry_total": 2, "retry_backoff_factor": 0.1, "retry_backoff_max": 0.5}
"""Connection extras for tests: SDK retries short enough that a failing test stays quick."""


def unique_name(prefix: str) -> str:
    """A short resource name unique to this test run, e.g. ``rg-3f9a1c2b``."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class EmulatorProcess:
    """One emulator subprocess with its state directory, token and TLS certificate."""

    def __init__(
        self,
        state_dir: Path,
        token: str = "test-token",
        *,
        page_size: int | None = None,
        agent_provisioning_seconds: float = 1.0,
        extra_args: list[str] | None = None,
        open_files: tuple[int, int] | None = None,
    ) -> None:
        """``open_files``: the process starts with this ``(soft, hard)`` open-file limit."""
        self.state_dir = Path(state_dir)
        self.token = token
        self.subscription_id = SUBSCRIPTION_ID
        self.port = 0
        self.url = ""
        self.cert_path = self.state_dir / "tls" / "cert.pem"
        self.log_path = self.state_dir / "emulator.log"
        self._args = ["--agent-provisioning-seconds", str(agent_provisioning_seconds), *(extra_args or [])]
        if page_size is not None:
            self._args += ["--page-size", str(page_size)]
        self._open_files = open_files
        self._process: subprocess.Popen[bytes] | None = None

    def _limit_open_files(self) -> None:
        """In the child before it runs the emulator: the ``open_files`` limit asked for."""
        assert self._open_files is not None
        resource.setrlimit(resource.RLIMIT_NOFILE, self._open_files)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> EmulatorProcess:
        """Start the process (same port as before on a restart) and wait until it is ready."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        command = [
            sys.executable,
            "-m",
            "elasticjobs_emulator",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--state-dir",
            str(self.state_dir),
            "--token",
            self.token,
            *self._args,
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ELASTIC_JOBS_EMULATOR_")}
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                preexec_fn=None if self._open_files is None else self._limit_open_files,
            )
        self._wait_ready(offset)
        return self

    def _wait_ready(self, offset: int) -> None:
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        assert self._process is not None
        while time.monotonic() < deadline:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                for raw in log.read().decode(errors="replace").splitlines():
                    if raw.startswith(READY_PREFIX):
                        self.url = raw[len(READY_PREFIX) :].split(" ", 1)[0]
                        self.port = int(self.url.rsplit(":", 1)[1])
                        return
            if self._process.poll() is not None:
                raise RuntimeError(f"emulator exited with {self._process.returncode}; see {self.log_path}")
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"emulator not ready after {_START_TIMEOUT_SECONDS}s; see {self.log_path}")

    def stop(self, kill: bool = False) -> None:
        """Stop the process: SIGTERM (graceful) or SIGKILL when ``kill``."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def __enter__(self) -> EmulatorProcess:
        """``with EmulatorProcess(...) as emulator:`` starts it and stops it on the way out."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def restart(self, kill: bool = True) -> None:
        """Kill -9 (or terminate) and start again on the same port and state directory."""
        self.stop(kill=kill)
        self.start()

    @property
    def pid(self) -> int | None:
        """Process id while running."""
        return self._process.pid if self._process else None

    def log_text(self) -> str:
        """Everything the emulator printed so far (stdout and stderr)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # -- clients -----------------------------------------------------------------------------
    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments pointing any azure-mgmt client at this emulator."""
        return {
            "subscription_id": self.subscription_id,
            "base_url": self.url,
            "connection_verify": str(self.cert_path),
        }

    def management_client(self, **kwargs: Any) -> SqlManagementClient:
        """A real sync ``SqlManagementClient`` talking to the emulator over HTTPS."""
        from azure.mgmt.sql import SqlManagementClient

        return SqlManagementClient(
            credential=StaticTokenCredential(self.token), **{**self.client_kwargs(), **kwargs}
        )

    def aio_management_client(self, **kwargs: Any) -> AsyncSqlManagementClient:
        """A real ``azure.mgmt.sql.aio.SqlManagementClient`` (use ``async with``)."""
        from azure.mgmt.sql.aio import SqlManagementClient as AioClient

        return AioClient(
            credential=AsyncStaticTokenCredential(self.token), **{**self.client_kwargs(), **kwargs}
        )

    def connection_json(self, resource_group: str, server: str, agent: str, **extras: Any) -> str:
        """An ``azure_elastic_jobs`` Airflow connection to this emulator, as ``AIRFLOW_CONN_*`` JSON.

        ``resource_group``, ``server`` and ``agent`` are the connection's defaults; ``extras`` add
        to or override the extras (e.g. ``retry_total``).
        """
        extra = {
            "subscription_id": self.subscription_id,
            "endpoint": self.url,
            "token": self.token,
            "verify": str(self.cert_path),
            "resource_group_name": resource_group,
            "server_name": server,
            "agent_name": agent,
            **extras,
        }
        return json.dumps({"conn_type": "azure_elastic_jobs", "extra": extra})

    def sql_connection_json(self, server: str, login: str, password: str, **fields: Any) -> str:
        """An ``elastic_jobs_emulator_sql`` Airflow connection to ``server``, as ``AIRFLOW_CONN_*`` JSON.

        ``login``/``password`` are a SQL login of that server; ``fields`` add or override top-level
        connection fields (e.g. ``schema`` for the default database).
        """
        connection = {
            "conn_type": "elastic_jobs_emulator_sql",
            "host": "127.0.0.1",
            "port": self.port,
            "login": login,
            "password": password,
            "extra": {"server_name": server, "verify": str(self.cert_path)},
        }
        return json.dumps({**connection, **fields})

    def register_principal(
        self,
        client_id: str,
        secret: str,
        role: str = "contributor",
        lifetime_seconds: int = 3600,
        clock_skew_seconds: float = 0.0,
    ) -> dict[str, Any]:
        """Register an Entra ID service principal with the emulator's token endpoint (docs/emulator.md)."""
        body = {
            "secret": secret,
            "role": role,
            "lifetime_seconds": lifetime_seconds,
            "clock_skew_seconds": clock_skew_seconds,
        }
        return self.control("PUT", f"principals/{client_id}", body)

    def issue_token(self, client_id: str, secret: str, tenant: str = "emulator-tenant") -> str:
        """An access token from the emulator's Entra ID token endpoint (client-credentials grant)."""
        form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "scope": "https://management.azure.com/.default",
        }
        with httpx.Client(base_url=self.url, verify=str(self.cert_path), timeout=30) as client:
            response = client.post(f"/{tenant}/oauth2/v2.0/token", data=form)
        response.raise_for_status()
        return response.json()["access_token"]

    def principals(self) -> dict[str, dict[str, Any]]:
        """Registered principals by client id, each with ``tokens_issued`` since the emulator started."""
        return {p["client_id"]: p for p in self.control("GET", "principals")["value"]}

    def service_principal_connection_json(
        self, client_id: str, secret: str, resource_group: str, server: str, agent: str, **extras: Any
    ) -> str:
        """Like :meth:`connection_json`, but authenticating as a service principal (login = client id,
        password = secret, ``tenant_id``) against the emulator's own Entra ID authority; no static token."""
        connection = json.loads(
            self.connection_json(
                resource_group, server, agent, token=None, tenant_id="emulator-tenant", authority=self.url
            )
        )
        connection["extra"] = {k: v for k, v in {**connection["extra"], **extras}.items() if v is not None}
        return json.dumps({**connection, "login": client_id, "password": secret})

    def sql_connection(
        self, server: str, database: str, user: str, password: str, **kwargs: Any
    ) -> Connection:
        """A DB-API connection (:mod:`elasticjobs_emulator.dbapi`) to an emulated database over HTTPS."""
        from elasticjobs_emulator import dbapi

        return dbapi.connect(
            host="127.0.0.1",
            port=self.port,
            server=server,
            database=database,
            user=user,
            password=password,
            verify=str(self.cert_path),
            **kwargs,
        )

    def run_sql(
        self,
        server: str,
        database: str,
        user: str,
        password: str,
        sql: str,
        params: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> list[tuple[Any, ...]]:
        """Run one batch as ``user`` through the DB-API driver; the rows of its first result set, if any."""
        with self.sql_connection(server, database, user, password, **kwargs) as connection:
            cursor = connection.cursor()
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def http(self, token: str | None = None) -> httpx.Client:
        """A raw HTTPS client trusting the emulator's certificate, with the bearer token by default."""
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return httpx.Client(base_url=self.url, verify=str(self.cert_path), headers=headers, timeout=30)

    def arm_path(self, resource_group: str, *segments: str) -> str:
        """``/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Sql/<segments>``."""
        group = f"/subscriptions/{self.subscription_id}/resourceGroups/{resource_group}"
        return f"{group}/providers/Microsoft.Sql/{'/'.join(segments)}"

    # -- test controls -----------------------------------------------------------------------
    def control(self, method: str, path: str, json: Any = None) -> Any:
        """Call a test control under ``/_emulator/`` and return its JSON (None when empty)."""
        with self.http() as client:
            response = client.request(method, f"/_emulator/{path.lstrip('/')}", json=json)
        response.raise_for_status()
        return response.json() if response.content else None

    def set_faults(self, rules: list[dict[str, Any]], seed: int | None = None) -> Any:
        """Replace the fault-injection rules (see ``emulator/api/controls.py``)."""
        return self.control("PUT", "faults", {"rules": rules, "seed": seed})

    def counters(self) -> dict[str, int]:
        """Requests seen per ``"METHOD /path/template"`` since the last reset."""
        return self.control("GET", "counters")["requests"]

    def reset_controls(self) -> None:
        """Clear fault rules and counters."""
        self.control("POST", "reset")
