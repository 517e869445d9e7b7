"""The test harness's one home for what differs between the Airflow 3 minors the suite runs on.

The provider's own differences live in ``airflow_elasticjobs/compat.py``; this module covers what
only the tests touch (Airflow internals the harnesses drive directly). docs/compatibility.md lists
both.
"""

from __future__ import annotations

from typing import Any

import airflow
from packaging.version import Version

try:  # Airflow >= 3.2 (where airflow.exceptions keeps only a deprecated alias)
    from airflow.sdk.exceptions import TaskDeferred
except ImportError:  # 3.0, 3.1
    from airflow.exceptions import TaskDeferred

try:  # Airflow >= 3.3 (the task SDK's own copies)
    from airflow.sdk._shared.module_loading import import_string
    from airflow.sdk.serde import deserialize, serialize
except ImportError:  # 3.0 to 3.2
    from airflow.serialization.serde import deserialize, serialize
    from airflow.utils.module_loading import import_string

__all__ = [
    "AIRFLOW_VERSION",
    "TaskDeferred",
    "deserialize",
    "import_string",
    "serialize",
    "trigger_event_payload",
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
