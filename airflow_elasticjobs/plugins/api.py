"""The plugin's FastAPI app, mounted by the Airflow api-server under ``URL_PREFIX`` (``/elastic-jobs``).

- ``GET {URL_PREFIX}/execution?dag_id=…&run_id=…&task_id=…&map_index=-1&offset=0&limit=100``
  (optional filters ``lifecycle=…``, ``step=<step id>``, ``server=…``, ``name=<substring>``) — the
  execution a task instance started or watched: its steps, per-lifecycle counts, a ``version`` and
  one page of per-target rows (JSON).
- ``GET {URL_PREFIX}/fleet?dag_id=…&run_id=…&task_id=…&map_index=-1`` — the fleet picture of the
  same execution (:mod:`.fleet`): a cell per target database grouped by step and server, and a
  duration histogram.

Both are authorised exactly like the public API's XCom and task-instance endpoints
(``requires_access_dag``: the caller's JWT from the ``Authorization`` header or the UI's cookie,
then the auth manager's DAG permissions); anonymous callers get 401. The connection, agent and job
come from the task's own definition (:mod:`.task_definition`), only the execution id from XCom; the
execution is read on the server through a cached
:class:`~airflow_elasticjobs.hooks.elastic_jobs.ElasticJobsHook` (:mod:`.hook_cache`) into a cached
snapshot (:mod:`.snapshot_cache`): the browser never sees a credential, and paging reads no ARM.
- ``GET {URL_PREFIX}/view`` and ``/static/…`` — the small HTML+JS page shown in the task-instance
  tab (it calls the JSON endpoints with the browser's Airflow session).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.common.dagbag import DagBagDep, create_dag_bag, get_dag_for_run_or_latest_version
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import requires_access_dag
from fastapi import Depends, FastAPI, HTTPException, Query, status
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from airflow_elasticjobs.hooks.elastic_jobs import describe_error
from airflow_elasticjobs.links.elastic_jobs import ElasticJobsExecutionLink
from airflow_elasticjobs.plugins.execution_view import (
    MAX_PAGE,
    ExecutionSnapshot,
    TargetPage,
    page_view,
    snapshot,
)
from airflow_elasticjobs.plugins.fleet import fleet_json
from airflow_elasticjobs.plugins.hook_cache import HookCache
from airflow_elasticjobs.plugins.snapshot_cache import SnapshotCache
from airflow_elasticjobs.plugins.task_definition import (
    ExecutionRef,
    NotAnElasticJobsTask,
    UnresolvedTask,
    check_task,
    execution_id_from_xcom,
    resolve,
)

STATIC_DIR = Path(__file__).parent / "static"

log = logging.getLogger(__name__)

#: The api-server process's hooks (credentials, tokens, HTTP pools), shared by every request.
HOOKS = HookCache()
#: The executions read by this process, shared by every open tab (pages are cut from memory).
SNAPSHOTS = SnapshotCache()


def _task_xcoms(session: Any, dag_id: str, run_id: str, task_id: str, map_index: int) -> dict[str, Any]:
    """The execution reference and link URL the task pushed (keys missing when it never pushed them)."""
    from airflow.models.xcom import XComModel

    wanted = (ElasticJobsExecutionLink.ref_key, ElasticJobsExecutionLink.url_key)
    query = XComModel.get_many(run_id=run_id, dag_ids=dag_id, task_ids=task_id, map_indexes=map_index)
    query = query.where(XComModel.key.in_(wanted))
    return {row.key: XComModel.deserialize_value(row) for row in session.scalars(query)}


def _task_and_rendered_fields(
    session: Any, dag_bag: Any, dag_id: str, run_id: str, task_id: str, map_index: int
) -> tuple[Any, dict[str, Any] | None]:
    """The task's definition in the DAG version its instance ran, and the instance's rendered fields."""
    from airflow.exceptions import TaskNotFound
    from airflow.models import DagRun
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.taskinstance import TaskInstance
    from sqlalchemy import select

    ti = session.scalar(
        select(TaskInstance).where(
            TaskInstance.dag_id == dag_id,
            TaskInstance.run_id == run_id,
            TaskInstance.task_id == task_id,
            TaskInstance.map_index == map_index,
        )
    )
    if ti is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"Task instance {task_id!r} (map index {map_index}) of run {run_id!r} not found.",
        )
    dag = dag_bag.get_dag(ti.dag_version_id, session=session) if ti.dag_version_id else None
    if dag is None:
        dag_run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
        dag = get_dag_for_run_or_latest_version(dag_bag, dag_run, dag_id, session)
    try:
        task = dag.get_task(task_id)
    except TaskNotFound:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"Task {task_id!r} is not in the DAG {dag_id!r} its instance ran."
        ) from None
    return task, RenderedTaskInstanceFields.get_templated_fields(ti, session=session)


def _read(ref: ExecutionRef) -> ExecutionSnapshot:
    """The execution's snapshot, read through the task's cached hook (3 ARM calls + target pages)."""
    with HOOKS.hook(ref.hook_key) as hook:
        root = hook.get_execution(ref.job_name, ref.execution_id)
        if root is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND,
                f"Execution {ref.execution_id} of job {ref.job_name!r} no longer exists on agent "
                f"{hook.agent.agent_name!r} (deleted with its job?).",
            )
        steps = hook.list_step_executions(ref.job_name, ref.execution_id)
        targets = hook.list_target_executions(ref.job_name, ref.execution_id)
        return snapshot(ref, hook.agent, root, steps, targets)


def _read_execution(ref: ExecutionRef) -> ExecutionSnapshot:
    """:func:`_read`; after an authentication failure, once more with the connection read again.

    A rotated secret works at once, without restarting the api-server.
    """
    from azure.core.exceptions import ClientAuthenticationError

    try:
        return _read(ref)
    except ClientAuthenticationError:
        HOOKS.discard(ref.hook_key)
        return _read(ref)


def _snapshot_of(
    session: SessionDep,
    dag_bag: DagBagDep,
    dag_id: Annotated[str, Query(min_length=1)],
    run_id: Annotated[str, Query(min_length=1)],
    task_id: Annotated[str, Query(min_length=1)],
    map_index: Annotated[int, Query(ge=-1)] = -1,
) -> tuple[ExecutionSnapshot, str | None]:
    """The snapshot of the execution of one task instance, and the link URL the task pushed."""
    task, rendered = _task_and_rendered_fields(session, dag_bag, dag_id, run_id, task_id, map_index)
    try:
        check_task(task)
    except NotAnElasticJobsTask as err:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(err)) from None
    xcoms = _task_xcoms(session, dag_id, run_id, task_id, map_index)
    raw_ref = xcoms.get(ElasticJobsExecutionLink.ref_key)
    if raw_ref is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"Task {task_id!r} of run {run_id!r} has no Elastic Jobs execution yet (no XCom "
            f"{ElasticJobsExecutionLink.ref_key!r}): it has not started or found one.",
        )
    try:
        ref = resolve(task, rendered, execution_id_from_xcom(raw_ref))
    except UnresolvedTask as err:
        raise HTTPException(status.HTTP_409_CONFLICT, f"{err}.") from None
    try:
        snap = SNAPSHOTS.get((ref.hook_key, ref.job_name, ref.execution_id), lambda: _read_execution(ref))
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
    return snap, xcoms.get(ElasticJobsExecutionLink.url_key)


#: What both data endpoints start from (solved after the route's authorisation dependencies).
FoundExecution = Annotated[tuple[ExecutionSnapshot, str | None], Depends(_snapshot_of)]


def execution(
    found: FoundExecution,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    lifecycle: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    step: Annotated[int | None, Query(ge=0)] = None,
    server: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    name: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
) -> dict[str, Any]:
    """Steps, counts, version and one page of per-target rows of the execution of one task instance."""
    snap, url = found
    page = TargetPage(offset=offset, limit=limit, lifecycle=lifecycle, step_id=step, server=server, name=name)
    return page_view(snap, page, url)


def fleet(found: FoundExecution) -> Response:
    """The fleet picture of the execution of one task instance (cells, counts, duration histogram)."""
    return Response(fleet_json(found[0]), media_type="application/json")


def view() -> FileResponse:
    """The task-instance tab's page (static; it holds no data until the browser calls the API)."""
    return FileResponse(STATIC_DIR / "view.html", headers={"Cache-Control": "no-cache"})


def create_app() -> FastAPI:
    """Build the plugin's app (the api-server mounts it under ``/elastic-jobs``)."""
    app = FastAPI(title="Azure SQL Elastic Jobs monitoring", docs_url=None, redoc_url=None)
    # A mounted app has its own state: the same cached DAG bag the api-server's routes use.
    app.state.dag_bag = create_dag_bag()
    access = [
        Depends(requires_access_dag("GET", DagAccessEntity.TASK_INSTANCE)),
        Depends(requires_access_dag("GET", DagAccessEntity.XCOM)),
    ]
    app.add_api_route("/execution", execution, methods=["GET"], dependencies=access)
    app.add_api_route("/fleet", fleet, methods=["GET"], dependencies=access)
    app.add_api_route("/view", view, methods=["GET"], include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
