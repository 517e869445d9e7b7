"""The plugin's FastAPI app, mounted by the Airflow api-server under ``URL_PREFIX`` (``/elastic-jobs``).

- ``GET {URL_PREFIX}/execution?dag_id=…&run_id=…&task_id=…&map_index=-1`` — the execution a task
  instance started or watched: its steps and per-target rows (JSON). Authorised exactly like the
  public API's XCom and task-instance endpoints (``requires_access_dag``: the caller's JWT from the
  ``Authorization`` header or the UI's cookie, then the auth manager's DAG permissions); anonymous
  callers get 401. The execution is found through the task instance's XCom
  (:attr:`ElasticJobsExecutionLink.ref_key`) and read from ARM (or the emulator) through
  :class:`~airflow_elasticjobs.hooks.elastic_jobs.ElasticJobsHook` with the task's connection, on
  the server: the browser never sees a credential.
- ``GET {URL_PREFIX}/view`` and ``/static/…`` — the small HTML+JS page shown in the task-instance
  tab (it calls the JSON endpoint with the browser's Airflow session).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import requires_access_dag
from fastapi import Depends, FastAPI, HTTPException, Query, status
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from airflow_elasticjobs.hooks.elastic_jobs import ElasticJobsHook, describe_error
from airflow_elasticjobs.links.elastic_jobs import ElasticJobsExecutionLink
from airflow_elasticjobs.plugins.execution_view import ExecutionRef, build_view

STATIC_DIR = Path(__file__).parent / "static"

log = logging.getLogger(__name__)


def _task_xcoms(session: Any, dag_id: str, run_id: str, task_id: str, map_index: int) -> dict[str, Any]:
    """The execution reference and link URL the task pushed (keys missing when it never pushed them)."""
    from airflow.models.xcom import XComModel

    wanted = (ElasticJobsExecutionLink.ref_key, ElasticJobsExecutionLink.url_key)
    query = XComModel.get_many(run_id=run_id, dag_ids=dag_id, task_ids=task_id, map_indexes=map_index)
    query = query.where(XComModel.key.in_(wanted))
    return {row.key: XComModel.deserialize_value(row) for row in session.scalars(query)}


def _read_execution(ref: ExecutionRef) -> tuple[Any, list[Any], list[Any]]:
    """Root execution, step executions and target executions, read through the task's connection."""
    hook = ElasticJobsHook(
        ref.conn_id,
        resource_group_name=ref.resource_group_name,
        server_name=ref.server_name,
        agent_name=ref.agent_name,
    )
    try:
        root = hook.get_execution(ref.job_name, ref.execution_id)
        if root is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                f"Execution {ref.execution_id} of job {ref.job_name!r} no longer exists on agent "
                f"{ref.agent_name!r} (deleted with its job?).",
            )
        steps = hook.list_step_executions(ref.job_name, ref.execution_id)
        targets = hook.list_target_executions(ref.job_name, ref.execution_id)
        return root, steps, targets
    finally:
        hook.close()


def execution(
    session: SessionDep,
    dag_id: Annotated[str, Query(min_length=1)],
    run_id: Annotated[str, Query(min_length=1)],
    task_id: Annotated[str, Query(min_length=1)],
    map_index: Annotated[int, Query(ge=-1)] = -1,
) -> dict[str, Any]:
    """Steps and per-target rows of the execution started or watched by one task instance."""
    xcoms = _task_xcoms(session, dag_id, run_id, task_id, map_index)
    raw_ref = xcoms.get(ElasticJobsExecutionLink.ref_key)
    if raw_ref is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"Task {task_id!r} of run {run_id!r} has no Elastic Jobs execution (no XCom "
            f"{ElasticJobsExecutionLink.ref_key!r}): it has not started or found one yet, or it is not "
            "an Elastic Jobs start/sensor task.",
        )
    try:
        ref = ExecutionRef.from_xcom(raw_ref)
    except ValueError as err:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"XCom {ElasticJobsExecutionLink.ref_key!r}: {err}."
        ) from None
    try:
        root, steps, targets = _read_execution(ref)
    except HTTPException:
        raise
    except Exception as err:
        message = describe_error(err)
        log.warning(
            "Reading execution %s through connection %r failed: %s", ref.execution_id, ref.conn_id, message
        )
        raise HTTPException(
            status.HTTP_502_BAD_GATEWAY,
            f"Could not read execution {ref.execution_id} through connection {ref.conn_id!r}: {message}",
        ) from None
    return build_view(ref, root, steps, targets, xcoms.get(ElasticJobsExecutionLink.url_key))


def view() -> FileResponse:
    """The task-instance tab's page (static; it holds no data until the browser calls the API)."""
    return FileResponse(STATIC_DIR / "view.html", headers={"Cache-Control": "no-cache"})


def create_app() -> FastAPI:
    """Build the plugin's app (the api-server mounts it under ``/elastic-jobs``)."""
    app = FastAPI(title="Azure SQL Elastic Jobs monitoring", docs_url=None, redoc_url=None)
    app.add_api_route(
        "/execution",
        execution,
        methods=["GET"],
        dependencies=[
            Depends(requires_access_dag("GET", DagAccessEntity.TASK_INSTANCE)),
            Depends(requires_access_dag("GET", DagAccessEntity.XCOM)),
        ],
    )
    app.add_api_route("/view", view, methods=["GET"], include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
