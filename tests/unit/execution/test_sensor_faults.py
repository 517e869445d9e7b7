"""The plain (non-deferrable) sensor retries transient faults within its ``error_budget``, as the
start operator and the trigger do (fake hook and fake clock: no network, no real sleep)."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ServiceRequestError

from airflow_elasticjobs.compat import AirflowException
from airflow_elasticjobs.sensors.execution import ElasticJobsExecutionSensor
from tests.unit.execution.fakes import FakeHook, context, http_error, install_clock


@pytest.fixture
def clock(monkeypatch):
    import airflow_elasticjobs.sensors.execution as module

    return install_clock(monkeypatch, module)


def sensor(hook, **kwargs):
    task = ElasticJobsExecutionSensor(
        task_id="wait", job_name="Job1", execution_id="e1", poke_interval=60, do_xcom_push=False, **kwargs
    )
    task._hook = lambda: hook
    return task


def poke_until_it_raises(task, clock, pokes):
    for _ in range(pokes):
        assert task.poke(context()) is False
        clock.sleep(task.poke_interval)
    return task.poke(context())


def test_only_transient_faults_fail_the_sensor_after_the_error_budget(clock):
    hook = FakeHook([ServiceRequestError("down")] * 10)
    task = sensor(hook, error_budget=120)
    with pytest.raises(AirflowException) as failed:
        poke_until_it_raises(task, clock, pokes=3)  # failing at 0, 60, 120 s; 180 s is past the budget
    message = str(failed.value)
    assert "No successful check of execution e1 of job 'Job1' for 180 s (error_budget 120 s)" in message
    assert "down" in message and "not affected" in message
    assert len(hook.script) == 6


def test_a_successful_poke_fills_the_budget_again(clock):
    faults = [http_error(503)] * 2
    hook = FakeHook([*faults, "InProgress", *faults, "InProgress", *faults, "Succeeded"])
    task = sensor(hook, error_budget=120)
    results = []
    while hook.script:
        results.append(task.poke(context()))
        clock.sleep(task.poke_interval)
    assert results[:-1] == [False] * 8
    assert results[-1].is_done


def test_a_permanent_error_fails_the_first_poke(clock):
    task = sensor(FakeHook([http_error(403)]), error_budget=120)
    with pytest.raises(type(http_error(403)), match="status 403"):
        task.poke(context())
