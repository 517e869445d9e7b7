"""The test harness's one home for what differs between the Airflow 3 minors the suite runs on.

The provider's own differences live in ``airflow_elasticjobs/compat.py``; this module covers what
only the tests touch (Airflow internals the harnesses drive directly). docs/compatibility.md lists
both.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import airflow
from packaging.version import Version

try:  # Airflow >= 3.2 (where airflow.exceptions keeps only a deprecated alias)
    from airflow.sdk.exceptions import TaskDeferred
except ImportError:  # 3.0, 3.1
    from airflow.exceptions import TaskDeferred

try:  # Airflow >= 3.1
    from airflow.sdk import timezone
except ImportError:  # 3.0
    from airflow.utils import timezone

try:  # Airflow >= 3.2
    from airflow.dag_processing.dagbag import DagBag
except ImportError:  # 3.0, 3.1
    from airflow.models.dagbag import DagBag

try:  # Airflow >= 3.3 (the task SDK's own copies)
    from airflow.sdk._shared.module_loading import import_string
    from airflow.sdk.serde import deserialize, serialize
except ImportError:  # 3.0 to 3.2
    from airflow.serialization.serde import deserialize, serialize
    from airflow.utils.module_loading import import_string

__all__ = [
    "AIRFLOW_VERSION",
    "DagBag",
    "TaskDeferred",
    "cli_json",
    "deserialize",
    "import_string",
    "serialize",
    "timezone",
    "trigger_event_payload",
    "write_dag_to_db",
]

AIRFLOW_VERSION = Version(airflow.__version__).release[:2]
"""The running Airflow's (major, minor)."""


def trigger_event_payload(entry: Any) -> Any:
    """The payload of one entry of ``TriggerRunner.events``.

    Airflow 3.3 queues ``TriggerEventEntry(trigger_id, event, persist_seq)``; 3.0 to 3.2 queue
    ``(trigger_id, event)`` tuples (``airflow/jobs/triggerer_job_runner.py``, ``run_trigger``).
    """
    event = entry[1] if isinstance(entry, tuple) else entry.event
    return event.payload


def cli_json(stdout: str) -> Any:
    """The JSON an ``airflow … --output json`` command printed.

    Airflow 3.0 also logs INFO lines (alembic's plugin setup) to stdout before it; the JSON starts
    on the first line that opens an array or an object.
    """
    lines = stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(("[", "{")) and "] {" not in line), 0)
    return json.loads("\n".join(lines[start:]))


def write_dag_to_db(dag: Any, bundle_name: str = "dags-folder") -> None:
    """Write a DAG into the metadata DB as the DAG processor does (``dag.test()`` needs it there).

    ``update_dag_parsing_results_in_db`` gained ``parse_duration`` in 3.1 (and keyword-only
    arguments later; ``airflow/dag_processing/collection.py``), so it is called by keyword.
    """
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.collection import update_dag_parsing_results_in_db
    from airflow.utils.session import create_session

    DagBundlesManager().sync_bundles_to_db()
    arguments: dict[str, Any] = {
        "bundle_name": bundle_name,
        "bundle_version": None,
        "dags": [_lazy_serialized(dag)],
        "import_errors": {},
        "warnings": set(),
    }
    if "parse_duration" in inspect.signature(update_dag_parsing_results_in_db).parameters:
        arguments["parse_duration"] = None
    with create_session() as session:
        update_dag_parsing_results_in_db(**arguments, session=session)


def _lazy_serialized(dag: Any) -> Any:
    """The DAG as the DAG processor hands it over; 3.0 has no ``LazyDeserializedDAG.from_dag`` and
    builds it from ``SerializedDAG.to_dict`` (``airflow/dag_processing/processor.py``)."""
    from airflow.serialization.serialized_objects import LazyDeserializedDAG, SerializedDAG

    if hasattr(LazyDeserializedDAG, "from_dag"):
        return LazyDeserializedDAG.from_dag(dag)
    data = SerializedDAG.to_dict(dag)
    # 3.0's DagBag sets it from the bundle path; a DAG built in a test has none (its file is no DAG file).
    data["dag"].setdefault("relative_fileloc", Path(dag.fileloc).name)
    return LazyDeserializedDAG(data=data)


def serialized_copy(dag: Any) -> Any:
    """The DAG as the api-server's DAG bag holds it: serialized and read back (``DagSerialization``
    from 3.2, ``SerializedDAG`` before, ``airflow/serialization/serialized_objects.py``)."""
    try:
        from airflow.serialization.serialized_objects import DagSerialization as serializer
    except ImportError:  # Airflow < 3.2
        from airflow.serialization.serialized_objects import SerializedDAG as serializer
    return serializer.from_dict(serializer.to_dict(dag))
