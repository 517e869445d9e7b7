"""The deferrable execution sensor bounds its deferral by what is left of its ``timeout``."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from airflow_elasticjobs.sensors.execution import ElasticJobsExecutionSensor
from tests.compat.airflow_versions import TaskDeferred


def test_deferral_gets_the_rest_of_the_sensor_timeout(monkeypatch):
    sensor = ElasticJobsExecutionSensor(
        task_id="wait", job_name="Job1", execution_id="e1", deferrable=True, timeout=2
    )

    def slow_first_poke(context):
        time.sleep(0.5)  # the first poke, in the worker, counts against the timeout
        return False

    monkeypatch.setattr(sensor, "poke", slow_first_poke)
    before = time.time()
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})

    timeout = deferred.value.timeout
    assert isinstance(timeout, timedelta)
    assert 1.0 <= timeout.total_seconds() <= 1.5
    end_time = deferred.value.trigger.end_time
    assert before + 1.5 <= end_time <= time.time() + timeout.total_seconds() + 0.1
    assert deferred.value.trigger.cancel_on_timeout is False
