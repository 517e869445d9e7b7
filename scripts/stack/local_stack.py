"""``LocalStack``: PostgreSQL, the Elastic Jobs emulator and a whole Airflow 3 deployment on 127.0.0.1.

``bash scripts/stack.sh`` runs it for a person (``scripts/stack/__main__.py``); the deployment tests
(``tests/deployment/conftest.py``) use the very same class. Components: PostgreSQL, the emulator,
``airflow db migrate``, then api-server, scheduler (LocalExecutor), dag-processor and N triggerers,
each in its own process group and logging to ``<state dir>/logs/<component>.log``.
"""

from __future__ import annotations

import secrets
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from scripts.demo import connection_env
from scripts.demo_report import DemoNames
from scripts.stack.api import AirflowApi
from scripts.stack.config import ADMIN_PASSWORD, ADMIN_USER, AirflowSettings, free_port
from scripts.stack.postgres import PostgresServer
from scripts.stack.process import Component, ComponentError
from tests.support.emulator import EmulatorProcess

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DAGS = ROOT / "example_dags"
TUTORIAL_DAG_ID = "elastic_jobs_tutorial"
SERVICES = ("api-server", "scheduler", "dag-processor")


class LocalStack:
    """The whole deployment; ``start()``/``stop()`` or ``with LocalStack(...) as stack:``.

    :param state_dir: everything goes here (emptied first): logs, ``AIRFLOW_HOME``, emulator state.
    :param dag_folders: DAG folders besides ``example_dags/`` (one DAG bundle each).
    :param triggerers: how many triggerers to run, each with its own log-server port.
    :param paused_at_creation: ``[core] dags_are_paused_at_creation`` (tests use False).
    :param extra_connections: more ``AIRFLOW_CONN_*`` variables (JSON) for every component.
    """

    def __init__(
        self,
        state_dir: Path,
        *,
        dag_folders: Sequence[Path] = (),
        triggerers: int = 2,
        paused_at_creation: bool = True,
        extra_connections: dict[str, str] | None = None,
    ) -> None:
        self.state_dir = Path(state_dir).resolve()
        self.logs = self.state_dir / "logs"
        self.names = DemoNames(resource_group="elastic-jobs-tutorial")
        self.emulator = EmulatorProcess(self.state_dir / "emulator", token=secrets.token_hex(24))
        self.postgres = PostgresServer(free_port(), self.logs / "postgres.log")
        self._dag_folders = [EXAMPLE_DAGS, *(Path(f).resolve() for f in dag_folders)]
        self._paused_at_creation = paused_at_creation
        self._extra_connections = dict(extra_connections or {})
        self.trigger_log_ports = [free_port() for _ in range(triggerers)]
        self.settings: AirflowSettings | None = None
        self.connections: dict[str, str] = {}
        self.components: dict[str, Component] = {}
        self.timings: dict[str, float] = {}
        self.api: AirflowApi | None = None

    # -- URLs and processes ------------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        """Base URL of the api-server: the UI is here, the REST API under ``/api/v2``."""
        assert self.settings is not None, "the stack is not started"
        return self.settings.api_url

    @property
    def login(self) -> tuple[str, str]:
        """The UI/REST login (``admin``/``admin``)."""
        return ADMIN_USER, ADMIN_PASSWORD

    def triggerer_name(self, index: int) -> str:
        """Component name of triggerer ``index`` (``triggerer-0``, ``triggerer-1``, ...)."""
        if not 0 <= index < len(self.trigger_log_ports):
            raise ValueError(f"triggerer index {index} out of range 0..{len(self.trigger_log_ports) - 1}")
        return f"triggerer-{index}"

    def pids(self) -> dict[str, int | None]:
        """Process id (the process group leader) of each component, ``None`` when it is stopped."""
        found = {name: c.pid if c.running() else None for name, c in self.components.items()}
        postgres = self.postgres.component
        return {"postgres": postgres.pid if postgres else None, "emulator": self.emulator.pid, **found}

    def pid(self, component: str) -> int:
        """Process id of a running component (e.g. ``"scheduler"``, ``"triggerer-1"``)."""
        pid = self.pids().get(component)
        if pid is None:
            raise LookupError(f"component {component!r} is not running; running: {self.pids()}")
        return pid

    def log_path(self, component: str) -> Path:
        """The log file of one component."""
        return self.logs / f"{component}.log"

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self, timeout: float = 180.0) -> LocalStack:
        """Start everything; return once the api-server lists the tutorial DAG. Stops all on failure."""
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, timeout: float) -> None:
        began = time.monotonic()
        shutil.rmtree(self.state_dir, ignore_errors=True)
        self.logs.mkdir(parents=True)
        self._timed("postgres", self.postgres.start)
        self._timed("emulator", self.emulator.start)
        self.connections = {**connection_env(self.emulator, self.names), **self._extra_connections}
        self.settings = AirflowSettings(
            home=self.state_dir / "airflow-home",
            database_url=self.postgres.url,
            api_port=free_port(),
            worker_log_port=free_port(),
            dag_folders=self._dag_folders,
            paused_at_creation=self._paused_at_creation,
            connections=self.connections,
        )
        self._timed("db migrate", self._migrate)
        for name in (*SERVICES, *(self.triggerer_name(i) for i in range(len(self.trigger_log_ports)))):
            self.start_component(name)
        self.api = AirflowApi(self.api_url, *self.login)
        self._timed("api-server", lambda: self._wait("api-server", self.api.healthy, timeout, "answering"))
        self._timed("dag listed", lambda: self._wait("dag-processor", self._tutorial_listed, timeout, "done"))
        self.timings["total"] = time.monotonic() - began

    def _timed(self, what: str, step: object) -> None:
        began = time.monotonic()
        step()  # type: ignore[operator]
        self.timings[what] = time.monotonic() - began

    def _migrate(self) -> None:
        self._component("db-migrate", ["db", "migrate"]).run(timeout=300)
        del self.components["db-migrate"]

    def _tutorial_listed(self) -> bool:
        assert self.api is not None
        return TUTORIAL_DAG_ID in self.api.dag_ids()

    def _wait(self, component: str, ready: object, timeout: float, what: str) -> None:
        """Wait for ``ready`` while checking that every Airflow component is still alive."""

        def all_alive_and_ready() -> bool:
            for other in self.components.values():
                if not other.running():
                    raise ComponentError(other.failure(f"exited with status {other.process.returncode}"))
            return bool(ready())  # type: ignore[operator]

        self.components[component].wait_until(all_alive_and_ready, timeout, what)

    def _component(self, name: str, args: list[str]) -> Component:
        assert self.settings is not None, "the stack is not started"
        env = self.settings.environment()
        if name.startswith("triggerer-"):
            port = self.trigger_log_ports[int(name.rsplit("-", 1)[1])]
            env["AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT"] = str(port)
        else:
            # The api-server reads live trigger logs from this port: triggerer-0's.
            env["AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT"] = str(self.trigger_log_ports[0])
        component = Component(
            name, [sys.executable, "-m", "airflow", *args], self.log_path(name), env, cwd=ROOT
        )
        self.components[name] = component
        return component

    def start_component(self, name: str) -> Component:
        """Start (or start again) one Airflow component: a name of :data:`SERVICES` or ``triggerer-N``."""
        command = "triggerer" if name.startswith("triggerer-") else name
        if command not in SERVICES and command != "triggerer":
            raise ValueError(f"unknown component {name!r}: use one of {SERVICES} or triggerer-N")
        if command == "triggerer":
            self.triggerer_name(int(name.rsplit("-", 1)[1]))
        return self._component(name, [command]).start()

    def stop_component(self, name: str, timeout: float = 30.0) -> int | None:
        """Stop one component gracefully (SIGTERM to its group, SIGKILL after ``timeout``); its exit code."""
        return self.components[name].stop(timeout)

    def signal(self, component: str, sig: int, *, group: bool = True) -> None:
        """Send ``sig`` to a component's process group (or only its main process with ``group=False``)."""
        self.components[component].signal(sig, group=group)

    def start_triggerer(self, index: int) -> Component:
        """Start triggerer ``index`` (again), on its own log-server port."""
        return self.start_component(self.triggerer_name(index))

    def stop_triggerer(self, index: int, timeout: float = 30.0) -> int | None:
        """Stop triggerer ``index`` gracefully."""
        return self.stop_component(self.triggerer_name(index), timeout)

    def stop(self) -> None:
        """Stop everything this stack started (Airflow first, then the emulator, then PostgreSQL)."""
        running = [c for c in self.components.values() if c.running()]
        for component in running:
            component.signal(component.stop_signal)
        for component in running:
            component.stop()
        if self.api is not None:
            self.api.close()
            self.api = None
        self.emulator.stop()
        self.postgres.stop()

    def __enter__(self) -> LocalStack:
        """Start the stack."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
