"""Deterministic job execution ids derived from the task instance that starts them.

``PUT …/jobs/{job}/executions/{id}`` lets the caller choose the execution id (201 when it starts an
execution, 200 with the existing one when the id is taken — REST spec ``JobExecutions.json``,
example ``CreateOrUpdateJobExecution.json``). Deriving the id from the task instance makes starting
idempotent: a retry or a restarted worker computes the same id and re-attaches instead of starting
a second execution.

One task instance may need several executions over its life (a retry after the job *failed* should
run the job again), so ids form a sequence: ``attempt_execution_id(key, 0)``, ``(key, 1)``, … The
start operator probes that sequence (see ``docs/execution-semantics.md``); the try number is
deliberately *not* part of the key, because a retry after a lost worker must find the execution the
previous try started.

Clearing a DAG run (or a backfill that reprocesses it) means "run it again": Airflow increments the
run's ``clear_number`` on every clear (``airflow/models/taskinstance.py``, ``clear_task_instances``),
and that number is the key's ``generation``, so a clear starts a fresh sequence. Generation 0 derives
exactly the ids earlier versions derived.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

#: XCom key under which the start operator and the sensor push the execution id they watch.
EXECUTION_ID_KEY = "execution_id"

# Fixed namespace for every id this provider derives; changing it would orphan running executions.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "airflow-elasticjobs/job-execution")


@dataclass(frozen=True)
class ExecutionKey:
    """What identifies "this task instance starting this job": the seed of its execution ids."""

    job_id: str
    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1
    generation: int = 0
    """The DAG run's ``clear_number`` (0 until the run is first cleared)."""

    @classmethod
    def from_context(cls, context: Any, job_id: str) -> ExecutionKey:
        """Build the key from an Airflow task context and the ARM id of the job being started."""
        ti = context["ti"]
        map_index = getattr(ti, "map_index", -1)
        clear_number = getattr(context.get("dag_run"), "clear_number", None)
        return cls(
            job_id=job_id,
            dag_id=ti.dag_id,
            run_id=ti.run_id,
            task_id=ti.task_id,
            map_index=-1 if map_index is None else int(map_index),
            generation=int(clear_number or 0),
        )

    @property
    def seed(self) -> uuid.UUID:
        """The uuid5 all attempt ids of this key derive from.

        The job id is lower-cased because ARM ids compare case-insensitively. Generation 0 adds no
        part, so its ids are the ones derived before generations existed.
        """
        parts = (self.job_id.lower(), self.dag_id, self.run_id, self.task_id, str(self.map_index))
        if self.generation:
            parts += (f"clear={self.generation}",)
        return uuid.uuid5(NAMESPACE, "\x1f".join(parts))


def attempt_execution_id(key: ExecutionKey, attempt: int) -> str:
    """The execution id of the ``attempt``-th execution (0-based) this task instance starts.

    :raises ValueError: when ``attempt`` is negative.
    """
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, got {attempt}.")
    return str(uuid.uuid5(key.seed, str(attempt)))
