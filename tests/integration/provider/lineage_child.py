"""The child process of ``test_start_lineage.py``: one DAG with ``dag.test()``, OpenLineage optional.

Run as ``python -m tests.integration.provider.lineage_child '<spec JSON>'`` from the repository root
(the OpenLineage listener is chosen when Airflow loads its plugins, once per interpreter). The spec:

* ``block_openlineage``: make ``airflow.providers.openlineage`` and ``openlineage`` unimportable
  (:mod:`tests.support.no_openlineage`) before anything imports Airflow;
* ``dag_id``, ``logical_date``, ``start``: the start task's operator arguments;
* ``fleet`` (optional): the fleet query's operator arguments. With it, the DAG is ``start``, then
  ``wait`` (the execution sensor on the execution ``start`` waited for, so already finished), then
  ``fleet`` (``ElasticJobsFleetQueryOperator``); without it, ``start`` only;
* ``outcome_file``: where the outcome goes, as JSON (not stdout, where the OpenLineage listener's
  processes log too): each task's ``state`` and return XCom, whether Airflow's provider manager
  found the OpenLineage provider and whether it is importable.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

SENSOR = {"poke_interval": 0.5, "timeout": 60, "error_budget": 30.0}


def operators_dag(dag_id: str, start: dict[str, Any], fleet: dict[str, Any]) -> Any:
    """``start`` >> ``wait`` (sensor on the execution ``start`` waited for) >> ``fleet``."""
    from airflow.sdk import DAG

    from airflow_elasticjobs.operators.execution import ElasticJobsStartJobOperator
    from airflow_elasticjobs.operators.fleet_query import ElasticJobsFleetQueryOperator
    from airflow_elasticjobs.sensors.execution import ElasticJobsExecutionSensor
    from tests.integration.provider.execution_support import CONN_ID

    with DAG(dag_id, schedule=None, catchup=False) as dag:
        started = ElasticJobsStartJobOperator(task_id="start", elastic_jobs_conn_id=CONN_ID, **start)
        waited = ElasticJobsExecutionSensor(
            task_id="wait",
            elastic_jobs_conn_id=CONN_ID,
            job_name=start["job_name"],
            execution_id="{{ ti.xcom_pull(task_ids='start', key='execution_id') }}",
            **SENSOR,
        )
        queried = ElasticJobsFleetQueryOperator(task_id="fleet", elastic_jobs_conn_id=CONN_ID, **fleet)
        started >> waited >> queried
    return dag


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the spec's DAG; its outcome (see the module docstring)."""
    if spec["block_openlineage"]:
        from tests.support import no_openlineage

        no_openlineage.install()
    from tests.integration.provider.execution_support import run_dag, start_dag, task_instance, xcom

    fleet = spec.get("fleet")
    if fleet is None:
        dag = start_dag(spec["dag_id"], **spec["start"])
    else:
        dag = operators_dag(spec["dag_id"], spec["start"], fleet)
    dag_run = run_dag(dag, datetime.fromisoformat(spec["logical_date"]))
    from airflow.providers_manager import ProvidersManager

    outcome: dict[str, Any] = {
        "tasks": {
            task_id: {"state": task_instance(dag_run, task_id).state, "xcom": xcom(dag_run, task_id)}
            for task_id in dag.task_ids
        },
        "provider_found": "apache-airflow-providers-openlineage" in ProvidersManager().providers,
    }
    try:
        import airflow.providers.openlineage  # noqa: F401
    except ModuleNotFoundError:
        outcome["importable"] = False
    else:
        outcome["importable"] = True
    return outcome


if __name__ == "__main__":
    child_spec = json.loads(sys.argv[1])
    with open(child_spec["outcome_file"], "w") as out:
        json.dump(run(child_spec), out)
