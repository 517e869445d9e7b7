"""A user ending a deferred start task cancels its execution on every supported Airflow, a move does not.

Airflow 3.3's triggerer awaits ``BaseTrigger.on_kill()`` when a trigger is no longer assigned to it;
3.0 to 3.2 only cancel the trigger's asyncio task, so the trigger decides in ``run()`` on
``CancelledError`` (``airflow_elasticjobs/compat.py``, docs/compatibility.md). Here the trigger a
deferred ``ElasticJobsStartJobOperator`` hands to Airflow is rebuilt from its serialized form, as the
triggerer does, runs in the running version's own ``TriggerRunner`` against a real emulator
execution, and is stopped through that runner's own ``cancel_triggers()``. The task instance's state
decides: ``failed`` (a user marked it) → the execution is cancelled; still ``deferred`` (the trigger
moved to another triggerer) → nothing is cancelled. The state is what Airflow's API server answers;
this in-process runner has no supervisor channel, so the provider's reader is given that answer
(the real read is covered in tests/unit/execution/test_kill_and_clear.py and in a deployment).
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from airflow_elasticjobs import compat
from airflow_elasticjobs.operators.execution import ElasticJobsStartJobOperator
from airflow_elasticjobs.task_instance_state import StateReading
from tests.compat.airflow_versions import AIRFLOW_VERSION, TaskDeferred, import_string
from tests.integration.provider.execution_support import CONN_ID, sql_job
from tests.reliability.chaos_dag import wait_until
from tests.reliability.chaos_emulator import CANCEL, RequestCounts
from tests.reliability.chaos_triggerer import TriggerHarness

# 300 s: the first test also pays for the session's `airflow db migrate` (slow on a loaded machine).
pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

POLL = 1.0


def deferred_start_trigger(job: str, execution_id: str):
    """The trigger the start operator defers with, rebuilt from ``serialize()`` like the triggerer."""
    operator = ElasticJobsStartJobOperator(
        task_id="start", elastic_jobs_conn_id=CONN_ID, job_name=job, deferrable=True, poll_interval=POLL
    )
    operator.execution_id = execution_id
    with pytest.raises(TaskDeferred) as deferred:
        operator._defer(end_time=None, earlier=False)
    classpath, kwargs = deferred.value.trigger.serialize()
    return import_string(classpath)(**kwargs)


def test_the_kill_path_matches_the_running_airflow():
    """``on_kill`` from 3.3 (where the triggerer awaits it), the ``run()`` fallback before."""
    assert compat.trigger_has_on_kill() is (AIRFLOW_VERSION >= (3, 3))


def test_state_reads_are_warmed_up_only_where_the_triggerer_takes_concurrent_requests():
    """3.0 and 3.1 read replies in order under a lock: a second request in flight can crash the runner."""
    assert compat.triggerer_matches_replies_by_id() is (AIRFLOW_VERSION >= (3, 2))


@pytest.mark.parametrize(
    ("state", "cancels"), [("failed", 1), ("deferred", 0)], ids=["user-marked-failed", "trigger-moved"]
)
async def test_the_triggerers_kill_cancels_only_what_a_user_ended(world, monkeypatch, state, cancels):
    import airflow_elasticjobs.triggers.execution as trigger_module

    async def airflow_answers(ref, timeout):
        return StateReading(state)

    monkeypatch.setattr(trigger_module, "aread_state", airflow_answers)
    job = sql_job(world, f"CompatKill{state.title()}", "WAITFOR DELAY '00:00:30';", timeoutSeconds=120)
    execution = world.start(job)
    trigger = deferred_start_trigger(job, execution.name)
    harness = TriggerHarness(trigger)
    await asyncio.to_thread(
        wait_until, lambda: world.get(job, execution.name).lifecycle != "Created", 20, "the job to start"
    )
    await asyncio.sleep(2 * POLL)
    assert not harness.task.done(), harness.events
    trigger.task_instance = SimpleNamespace(dag_id="compat", run_id="run", task_id="start", map_index=-1)
    before = RequestCounts.of(world.emulator)

    await harness.user_kill()

    assert harness.events == []
    if cancels:
        ended = world.wait(job, execution.name, timeout=15, until=lambda e: e.lifecycle == "Canceled")
        assert ended.lifecycle == "Canceled"
    else:
        await asyncio.sleep(2 * POLL)
        assert world.get(job, execution.name).lifecycle not in ("Canceled", "Succeeded")
    assert RequestCounts.of(world.emulator).since(before, CANCEL) == cancels
    if not cancels:  # the test's own clean-up
        world.client.job_executions.cancel(world.rg, world.agent_server, world.agent, job, execution.name)
