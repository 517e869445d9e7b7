"""The REST API helpers scenario tests drive the deployment with (``/api/v2`` as ``admin``).

Every wait is bounded and fails with what it last saw. Run ids, task ids and map indexes are as
the REST API spells them; a task of a mapped operator is addressed with its ``map_index``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

import httpx

from scripts.stack.api import AirflowApi

T = TypeVar("T")
FINISHED = ("success", "failed")


def wait_until(check: Callable[[], T | None], timeout: float, what: str, interval: float = 0.5) -> T:
    """Call ``check`` until it returns something truthy; fail after ``timeout`` s naming ``what``.

    A read that times out counts as "not yet": on a busy machine the api-server's event loop was seen
    to stall for 31 s (every request waiting, then all answered), longer than one HTTP timeout.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except httpx.TimeoutException:
            if time.monotonic() > deadline:
                raise
            continue
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def _log_text(line: Any) -> str:
    """One structured log line as text: its event, then the message of each exception it carries."""
    if not isinstance(line, dict):
        return str(line)
    errors = [str(e.get("exc_value", "")) for e in line.get("error_detail") or () if isinstance(e, dict)]
    return "\n".join([str(line.get("event", line)), *errors])


def connection_body(connection_json: str, conn_id: str) -> dict[str, Any]:
    """Airflow's JSON connection form (an ``AIRFLOW_CONN_*`` value) as a ``/connections`` request body."""
    connection = json.loads(connection_json)
    extra = connection.get("extra")
    return {
        "connection_id": conn_id,
        "conn_type": connection["conn_type"],
        "host": connection.get("host"),
        "login": connection.get("login"),
        "password": connection.get("password"),
        "port": connection.get("port"),
        "schema": connection.get("schema"),
        "extra": json.dumps(extra) if isinstance(extra, dict) else extra,
    }


class DeploymentApi(AirflowApi):
    """:class:`AirflowApi` plus the calls scenario tests need."""

    def add_connection(self, conn_id: str, connection_json: str) -> None:
        """``POST /connections``: the connection ``conn_id`` from its ``AIRFLOW_CONN_*`` JSON form."""
        self.call("POST", "connections", json=connection_body(connection_json, conn_id))

    # -- DAGs and runs -----------------------------------------------------------------------------
    def unpause(self, dag_id: str) -> None:
        """``PATCH /dags/{dag_id}`` with ``is_paused: false``."""
        self.call("PATCH", f"dags/{dag_id}", json={"is_paused": False})

    def trigger(
        self,
        dag_id: str,
        conf: dict[str, Any] | None = None,
        *,
        run_id: str | None = None,
        logical_date: datetime | None = None,
    ) -> str:
        """Unpause the DAG and trigger a run with ``conf``; return its run id."""
        self.unpause(dag_id)
        body: dict[str, Any] = {
            "conf": conf or {},
            "logical_date": logical_date.isoformat() if logical_date else None,
        }
        if run_id:
            body["dag_run_id"] = run_id
        return self.call("POST", f"dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        """``GET /dags/{dag_id}/dagRuns/{run_id}``."""
        return self.call("GET", f"dags/{dag_id}/dagRuns/{run_id}")

    def wait_for_run(
        self, dag_id: str, run_id: str, states: Iterable[str] = FINISHED, timeout: float = 300.0
    ) -> dict[str, Any]:
        """Wait until the run is in one of ``states``; the failure names every unfinished task."""
        wanted = set(states)
        try:
            return wait_until(
                lambda: (run := self.dag_run(dag_id, run_id))["state"] in wanted and run,
                timeout,
                f"run {dag_id}/{run_id} to be {sorted(wanted)}",
            )
        except AssertionError as error:
            tasks = {
                f"{t['task_id']}[{t['map_index']}]": t["state"] for t in self.task_instances(dag_id, run_id)
            }
            raise AssertionError(f"{error}; task states {tasks}") from None

    # -- task instances ----------------------------------------------------------------------------
    def _ti_path(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str:
        suffix = f"/{map_index}" if map_index >= 0 else ""
        return f"dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}{suffix}"

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Every task instance of the run (``task_id``, ``map_index``, ``state``, ``try_number``, ``pid``),
        page after page (the api-server caps a page at ``[api] maximum_page_limit``)."""
        found: list[dict[str, Any]] = []
        while True:
            params = {"limit": 1000, "offset": len(found), "order_by": "id"}
            page = self.call("GET", f"dags/{dag_id}/dagRuns/{run_id}/taskInstances", params=params)
            found += page["task_instances"]
            if not page["task_instances"] or len(found) >= page["total_entries"]:
                return found

    def task_instance(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> dict[str, Any]:
        """One task instance: ``state``, ``try_number``, ``pid`` (its task process), ``hostname``..."""
        return self.call("GET", self._ti_path(dag_id, run_id, task_id, map_index))

    def wait_for_task(
        self,
        dag_id: str,
        run_id: str,
        task_id: str,
        states: Iterable[str],
        timeout: float = 120.0,
        map_index: int = -1,
    ) -> dict[str, Any]:
        """Wait until the task instance is in one of ``states`` (e.g. ``{"running"}``, ``{"deferred"}``);
        a mapped task instance not yet expanded counts as not there yet."""
        wanted = set(states)

        def reached() -> dict[str, Any] | None:
            try:
                ti = self.task_instance(dag_id, run_id, task_id, map_index)
            except httpx.HTTPStatusError as error:
                if error.response.status_code == 404:
                    return None
                raise
            return ti if ti["state"] in wanted else None

        return wait_until(
            reached,
            timeout,
            f"{dag_id}/{run_id}/{task_id}[{map_index}] to be {sorted(wanted)}",
            interval=0.3,
        )

    def set_task_state(self, dag_id: str, run_id: str, task_id: str, state: str, map_index: int = -1) -> Any:
        """``PATCH`` the task instance's state (as "Mark success/failed" in the UI does)."""
        return self.call(
            "PATCH", self._ti_path(dag_id, run_id, task_id, map_index), json={"new_state": state}
        )

    def clear_tasks(
        self, dag_id: str, run_id: str, task_ids: list[str], *, only_failed: bool = False, **options: Any
    ) -> Any:
        """``POST /dags/{dag_id}/clearTaskInstances`` for these tasks of one run (not a dry run)."""
        body = {"dry_run": False, "dag_run_id": run_id, "task_ids": task_ids, "only_failed": only_failed}
        return self.call("POST", f"dags/{dag_id}/clearTaskInstances", json={**body, **options})

    def xcom(
        self, dag_id: str, run_id: str, task_id: str, key: str = "return_value", map_index: int = -1
    ) -> Any:
        """The (deserialized) XCom value a task instance pushed under ``key``."""
        path = f"dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
        return self.call("GET", path, params={"map_index": map_index, "deserialize": True})["value"]

    def task_log(
        self, dag_id: str, run_id: str, task_id: str, try_number: int = 1, map_index: int = -1
    ) -> str:
        """The task instance's log of one try, as text (what the UI shows); ``""`` before that try exists."""
        path = f"dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"
        try:
            answer = self.call("GET", path, params={"map_index": map_index, "full_content": True})
        except httpx.HTTPStatusError as error:
            if error.response.status_code == 404:
                return ""
            raise
        return "\n".join(_log_text(line) for line in answer["content"])

    # -- backfills ---------------------------------------------------------------------------------
    def create_backfill(
        self,
        dag_id: str,
        from_date: datetime,
        to_date: datetime,
        *,
        reprocess_behavior: str = "none",
        conf: dict[str, Any] | None = None,
        max_active_runs: int = 10,
    ) -> dict[str, Any]:
        """Unpause the DAG and ``POST /backfills`` (``reprocess_behavior``: ``none``, ``failed`` or
        ``completed``); the scheduler runs no backfill of a paused DAG."""
        self.unpause(dag_id)
        body = {
            "dag_id": dag_id,
            "from_date": from_date.isoformat(),
            "to_date": to_date.isoformat(),
            "reprocess_behavior": reprocess_behavior,
            "dag_run_conf": conf or {},
            "max_active_runs": max_active_runs,
        }
        return self.call("POST", "backfills", json=body)

    def backfill(self, backfill_id: int) -> dict[str, Any]:
        """``GET /backfills/{backfill_id}`` (``completed_at`` is set once every run of it ended)."""
        return self.call("GET", f"backfills/{backfill_id}")

    def wait_for_backfill(self, backfill_id: int, timeout: float = 300.0) -> dict[str, Any]:
        """Wait until the backfill has completed."""
        return wait_until(
            lambda: (b := self.backfill(backfill_id))["completed_at"] and b,
            timeout,
            f"backfill {backfill_id} to complete",
            interval=1,
        )

    def dag_runs(self, dag_id: str, **filters: Any) -> list[dict[str, Any]]:
        """``GET /dags/{dag_id}/dagRuns`` with query ``filters`` (e.g. ``run_type="backfill"``)."""
        params = {"limit": 100, "order_by": "logical_date", **filters}
        return self.call("GET", f"dags/{dag_id}/dagRuns", params=params)["dag_runs"]
