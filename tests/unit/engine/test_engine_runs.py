"""The engine end to end over a real store and a fake database layer."""

from __future__ import annotations

import threading
import time
from typing import Any

from elasticjobs_emulator.engine import records as rec
from elasticjobs_emulator.engine.sql_access import AttemptError
from elasticjobs_emulator.engine.targets import Target
from elasticjobs_emulator.store.sqlite_store import resource_key
from tests.unit.engine.fakes import (
    AGENT,
    JOB,
    block_until_canceled,
    define_job,
    fail,
    fast_options,
    wait_for,
)

SERVER_MEMBER = {
    "type": "SqlServer",
    "serverName": "tsrv",
    "refreshCredential": "cred",
    "membershipType": "Include",
}


def _root(store, execution_id: str) -> dict[str, Any]:
    return store.get_execution(resource_key(f"{JOB}/executions/{execution_id}"))


def _finished(store, execution_id: str) -> dict[str, Any] | None:
    doc = _root(store, execution_id)
    return doc if doc and "endTime" in doc["properties"] else None


def _targets(store, execution_id: str) -> list[dict[str, Any]]:
    return store.find_executions("target", execution_id=execution_id)


def _steps(store, execution_id: str) -> list[dict[str, Any]]:
    return store.find_executions("step", execution_id=execution_id)


def test_steps_run_in_order_on_enumerated_targets(store, fake_sql, engine_factory):
    fake_sql.databases["tsrv"] = [("master", {}), ("TargetDb1", {}), ("TargetDb2", {})]
    define_job(store, [SERVER_MEMBER], [{}, {}])
    engine = engine_factory()
    doc, created = engine.create_execution(JOB)
    assert created and doc["properties"]["lifecycle"] == "Created" and "startTime" not in doc["properties"]
    root = wait_for(lambda: _finished(store, doc["name"]))
    assert root["properties"]["lifecycle"] == "Succeeded"
    assert root["properties"]["lastMessage"] == "Job execution succeeded."
    assert [s["properties"]["lastMessage"] for s in _steps(store, doc["name"])] == [
        "Step 1 succeeded.",
        "Step 2 succeeded.",
    ]
    targets = _targets(store, doc["name"])
    assert sorted(t["properties"]["target"]["databaseName"] for t in targets) == [
        "TargetDb1",
        "TargetDb1",
        "TargetDb2",
        "TargetDb2",
    ]
    assert all(t["properties"]["currentAttempts"] == 1 for t in targets)
    assert targets[0]["properties"]["lastMessage"].startswith(
        "Step 1 succeeded execution on target (server 'tsrv'"
    )


def test_put_with_existing_id_returns_it_without_starting_another(store, engine_factory):
    define_job(store, [], [{}])
    engine = engine_factory()
    first, created = engine.create_execution(JOB, "0f8fad5b-d9cb-469f-a165-70867728950e")
    second, created_again = engine.create_execution(JOB, "0f8fad5b-d9cb-469f-a165-70867728950e")
    assert created and not created_again and second["id"] == first["id"]
    assert len(store.find_executions("job")) == 1


def test_retries_then_fails_and_later_steps_do_not_run(store, fake_sql, engine_factory):
    fake_sql.databases["tsrv"] = [("db1", {})]
    fake_sql.behaviour = fail("Command failed: boom (Msg 50000, Level 16)")
    define_job(store, [SERVER_MEMBER], [fast_options(retryAttempts=2), {}])
    engine = engine_factory()
    doc, _ = engine.create_execution(JOB)
    root = wait_for(lambda: _finished(store, doc["name"]))
    assert root["properties"]["lifecycle"] == "Failed"
    assert "Step 1 ('Step1') failed" in root["properties"]["lastMessage"]
    [target] = _targets(store, doc["name"])
    assert target["properties"]["currentAttempts"] == 3
    assert "boom" in target["properties"]["lastMessage"]
    assert [s["name"] for s in _steps(store, doc["name"])] == ["Step1"]
    assert len(fake_sql.calls) == 3


def test_an_unexpected_error_in_an_attempt_fails_it_and_the_execution_still_ends(
    store, fake_sql, engine_factory, caplog
):
    # An error the database layer does not turn into an attempt failure (here a RuntimeError; in
    # the emulator, e.g. SQLite failing to open a file) used to leave the target InProgress and the
    # execution running for ever.
    fake_sql.databases["tsrv"] = [("TargetDb1", {}), ("TargetDb2", {})]

    def behaviour(_server: str, database: str, attempt: int, _cancel: threading.Event) -> None:
        if database == "TargetDb1" and attempt == 1:
            raise RuntimeError("disk on fire")

    fake_sql.behaviour = behaviour
    define_job(store, [SERVER_MEMBER], [fast_options(retryAttempts=0)])
    doc, _ = engine_factory().create_execution(JOB)
    root = wait_for(lambda: _finished(store, doc["name"]))
    assert root["properties"]["lifecycle"] == "Failed"
    ends = {t["properties"]["target"]["databaseName"]: t["properties"] for t in _targets(store, doc["name"])}
    assert ends["TargetDb2"]["lifecycle"] == "Succeeded"
    assert ends["TargetDb1"]["lifecycle"] == "Failed"
    assert "internal error of the emulator" in ends["TargetDb1"]["lastMessage"]
    assert "disk on fire" not in ends["TargetDb1"]["lastMessage"]  # the log has it, not the resource
    assert "disk on fire" in caplog.text


def test_an_unexpected_error_is_retried_like_any_failed_attempt(store, fake_sql, engine_factory):
    fake_sql.databases["tsrv"] = [("TargetDb1", {})]

    def behaviour(_server: str, _database: str, attempt: int, _cancel: threading.Event) -> None:
        if attempt == 1:
            raise OSError(24, "Too many open files")

    fake_sql.behaviour = behaviour
    define_job(store, [SERVER_MEMBER], [fast_options(retryAttempts=1)])
    doc, _ = engine_factory().create_execution(JOB)
    root = wait_for(lambda: _finished(store, doc["name"]))
    assert root["properties"]["lifecycle"] == "Succeeded"
    [target] = _targets(store, doc["name"])
    assert target["properties"]["currentAttempts"] == 2


def test_waiting_for_retry_is_visible_between_attempts(store, fake_sql, engine_factory):
    fake_sql.databases["tsrv"] = [("db1", {})]

    def flaky(_s: str, _d: str, attempt: int, _c: threading.Event) -> None:
        if attempt == 1:
            raise AttemptError("transient")

    fake_sql.behaviour = flaky
    define_job(store, [SERVER_MEMBER], [fast_options(initialRetryIntervalSeconds=0.5)])
    engine = engine_factory()
    doc, _ = engine.create_execution(JOB)
    waiting = wait_for(
        lambda: [t for t in _targets(store, doc["name"]) if t["properties"]["lifecycle"] == "WaitingForRetry"]
    )
    assert "transient" in waiting[0]["properties"]["lastMessage"]
    root = wait_for(lambda: _finished(store, doc["name"]))
    assert root["properties"]["lifecycle"] == "Succeeded"
    assert _targets(store, doc["name"])[0]["properties"]["currentAttempts"] == 2


def test_last_attempt_timing_out_ends_timed_out(store, fake_sql, engine_factory):
    fake_sql.databases["tsrv"] = [("db1", {})]
    fake_sql.behaviour = block_until_canceled
    define_job(store, [SERVER_MEMBER], [fast_options(timeoutSeconds=0.1, retryAttempts=1)])
    engine = engine_factory()
    doc, _ = engine.create_execution(JOB)
    root = wait_for(lambda: _finished(store, doc["name"]))
    assert root["properties"]["lifecycle"] == "TimedOut"
    [target] = _targets(store, doc["name"])
    assert target["properties"]["lifecycle"] == "TimedOut" and target["properties"]["currentAttempts"] == 2


def test_cancel_stops_running_targets(store, fake_sql, engine_factory):
    fake_sql.databases["tsrv"] = [("db1", {}), ("db2", {})]
    fake_sql.behaviour = block_until_canceled
    define_job(store, [SERVER_MEMBER], [fast_options(timeoutSeconds=30)])
    engine = engine_factory()
    doc, _ = engine.create_execution(JOB)
    wait_for(lambda: len(fake_sql.calls) == 2)
    engine.cancel(JOB, doc["name"])
    engine.cancel(JOB, doc["name"])
    root = wait_for(lambda: _finished(store, doc["name"]), timeout=5)
    assert root["properties"]["lifecycle"] == "Canceled"
    assert {t["properties"]["lifecycle"] for t in _targets(store, doc["name"])} == {"Canceled"}
    engine.cancel(JOB, doc["name"])


def _job_blocked_on_one_database(store, fake_sql) -> threading.Event:
    """A one-step job on ``db1`` whose batches block until the returned event is set (10 s at most)."""
    fake_sql.databases["tsrv"] = [("db1", {})]
    release = threading.Event()
    fake_sql.behaviour = lambda *_: release.wait(10)
    define_job(store, [SERVER_MEMBER], [fast_options()])
    return release


def test_overlapping_execution_skips_busy_targets(store, fake_sql, engine_factory):
    release = _job_blocked_on_one_database(store, fake_sql)
    engine = engine_factory()
    first, _ = engine.create_execution(JOB)
    wait_for(lambda: fake_sql.calls)
    second, _ = engine.create_execution(JOB)
    skipped = wait_for(lambda: _finished(store, second["name"]))
    release.set()
    done = wait_for(lambda: _finished(store, first["name"]))
    assert done["properties"]["lifecycle"] == "Succeeded"
    assert skipped["properties"]["lifecycle"] == "Skipped"
    assert _targets(store, second["name"])[0]["properties"]["lifecycle"] == "Skipped"


def test_skipped_and_succeeded_targets_end_succeeded_with_skipped(store, fake_sql, engine_factory):
    fake_sql.databases["tsrv"] = [("db1", {}), ("db2", {})]
    release = threading.Event()
    fake_sql.behaviour = lambda _s, database, *_: release.wait(10) if database == "db1" else None
    busy_member = {"type": "SqlDatabase", "serverName": "tsrv", "databaseName": "db1"}
    define_job(store, [busy_member], [fast_options()])
    engine = engine_factory()
    engine.create_execution(JOB)
    wait_for(lambda: fake_sql.calls)
    define_job(store, [SERVER_MEMBER], [fast_options()])
    second, _ = engine.create_execution(JOB)
    outcome = wait_for(lambda: _finished(store, second["name"]))
    release.set()
    assert outcome["properties"]["lifecycle"] == "SucceededWithSkipped"
    assert _steps(store, second["name"])[0]["properties"]["lifecycle"] == "SucceededWithSkipped"


def test_refresh_credential_failure_fails_the_server_member(store, fake_sql, engine_factory):
    fake_sql.databases["tsrv"] = [("db1", {})]
    fake_sql.bad_refresh.add("tsrv")
    define_job(store, [SERVER_MEMBER], [fast_options()])
    engine = engine_factory()
    doc, _ = engine.create_execution(JOB)
    root = wait_for(lambda: _finished(store, doc["name"]))
    assert root["properties"]["lifecycle"] == "Failed"
    [target] = _targets(store, doc["name"])
    assert target["properties"]["target"] == {"type": "SqlServer", "serverName": "tsrv"}
    assert "Login failed for refresh credential" in target["properties"]["lastMessage"]
    assert fake_sql.calls == []


def test_recovery_retries_an_interrupted_attempt(store, fake_sql, engine_factory):
    """Simulate a crash: an execution persisted mid-attempt resumes in a new engine."""
    fake_sql.databases["tsrv"] = [("db1", {}), ("db2", {})]
    define_job(store, [SERVER_MEMBER], [fast_options(), {}])
    crashed = engine_factory()
    crashed.stop()
    steps = [store.get(f"{JOB}/versions/1/steps/Step{i}") for i in (1, 2)]
    root = rec.new_root(store.get(JOB), "6f9619ff-8b86-d011-b42d-00cf4fc964ff", steps, 1.0)
    rec.transition(root, "WaitingForChildJobExecutions", 2.0, "Job execution waiting.")
    step = rec.new_step(root, steps[0], 2.0)
    rec.transition(step, "WaitingForChildJobExecutions", 2.0, "Step 1 waiting.")
    done = rec.new_target(step, Target("SqlDatabase", "tsrv", "db1"), 2.0)
    rec.begin_attempt(done, 2.0)
    rec.transition(done, "Succeeded", 3.0, "ok")
    interrupted = rec.new_target(step, Target("SqlDatabase", "tsrv", "db2"), 2.0)
    rec.begin_attempt(interrupted, 2.0)
    rec.transition(interrupted, "InProgress", 2.0, "running")
    rec.ExecutionRecords(store).save_all([root, step, done, interrupted])

    engine_factory()
    final = wait_for(lambda: _finished(store, root["name"]))
    assert final["properties"]["lifecycle"] == "Succeeded"
    resumed = store.get_execution(resource_key(interrupted["id"]))
    assert resumed["properties"]["currentAttempts"] == 2
    assert [s["name"] for s in _steps(store, root["name"])] == ["Step1", "Step2"]
    assert fake_sql.calls.count(("tsrv", "db1")) == 1  # step 2 only: step 1 kept its result


def test_graceful_stop_leaves_the_attempt_for_recovery(store, fake_sql, engine_factory):
    fake_sql.databases["tsrv"] = [("db1", {})]
    fake_sql.behaviour = block_until_canceled
    define_job(store, [SERVER_MEMBER], [fast_options(timeoutSeconds=30)])
    first = engine_factory()
    doc, _ = first.create_execution(JOB)
    wait_for(lambda: fake_sql.calls)
    first.stop()
    [target] = _targets(store, doc["name"])
    assert target["properties"]["lifecycle"] == "InProgress"

    fake_sql.behaviour = lambda *_: None
    engine_factory()
    assert wait_for(lambda: _finished(store, doc["name"]))["properties"]["lifecycle"] == "Succeeded"
    [target] = _targets(store, doc["name"])
    assert target["properties"]["currentAttempts"] == 2


def test_deleting_the_job_leaves_no_execution_rows_behind(store, fake_sql, engine_factory):
    release = _job_blocked_on_one_database(store, fake_sql)
    engine = engine_factory()
    engine.create_execution(JOB)
    wait_for(lambda: fake_sql.calls)
    store.delete(JOB)
    release.set()
    wait_for(lambda: not engine._runner._runs)
    assert [store.find_executions(kind) for kind in ("job", "step", "target")] == [[], [], []]


def test_hundreds_of_concurrent_executions_share_the_agent_capacity(store, fake_sql, engine_factory):
    fake_sql.databases["tsrv"] = [(f"db{i}", {}) for i in range(3)]
    # 100 ms per batch: long enough that the pool really grows past 50 threads (with 10 ms, idle
    # threads were reused and the count never got there); 600 batches still take under a second.
    fake_sql.behaviour = lambda *_: time.sleep(0.1)
    jobs = [define_job(store, [SERVER_MEMBER], [{}], job=f"{AGENT}/jobs/J{i}") for i in range(200)]
    threads_before = threading.active_count()
    engine = engine_factory()
    docs = [engine.create_execution(job)[0] for job in jobs]
    wait_for(lambda: threading.active_count() > threads_before + 50)
    assert (
        threading.active_count() <= threads_before + 100 + 4 + 2 + 1
    )  # capacity, control, timers, scheduler

    def all_done() -> bool:
        return all("endTime" in store.get_execution(resource_key(d["id"]))["properties"] for d in docs)

    wait_for(all_done, timeout=30)
    assert {store.get_execution(resource_key(d["id"]))["properties"]["lifecycle"] for d in docs} == {
        "Succeeded"
    }
    assert len(fake_sql.calls) == 600


OUTPUT = {"type": "SqlDatabase", "serverName": "osrv", "databaseName": "Results", "tableName": "results"}


def test_output_gets_each_succeeded_targets_first_result_set_with_its_own_internal_id(
    store, fake_sql, engine_factory
):
    fake_sql.databases["tsrv"] = [("TargetDb1", {}), ("TargetDb2", {})]
    fake_sql.results = True
    define_job(store, [SERVER_MEMBER], [{"output": OUTPUT}])
    engine = engine_factory()
    ids = []
    for _ in range(2):
        name = engine.create_execution(JOB)[0]["name"]
        assert wait_for(lambda name=name: _finished(store, name))["properties"]["lifecycle"] == "Succeeded"
        ids.append({rec.internal_execution_id(t) for t in _targets(store, name)})
    written = {(internal_id, result.rows[0][0]) for _output, internal_id, result in fake_sql.outputs}
    assert len(fake_sql.outputs) == 4
    assert {db for _internal_id, db in written} == {"TargetDb1", "TargetDb2"}
    assert {internal_id for internal_id, _db in written} == ids[0] | ids[1]
    assert len(ids[0] | ids[1]) == 4  # one id per target execution, none shared between executions
    assert all(output == OUTPUT for output, _i, _r in fake_sql.outputs)


def test_a_failed_output_write_fails_the_attempt_and_is_retried(store, fake_sql, engine_factory):
    fake_sql.databases["tsrv"] = [("TargetDb1", {})]
    fake_sql.results = True
    failures = iter([True, False])

    def output_behaviour(*_: Any) -> None:
        if next(failures):
            raise AttemptError("Failed to write the output to table [dbo].[results]: no INSERT permission")

    fake_sql.output_behaviour = output_behaviour
    define_job(store, [SERVER_MEMBER], [{"output": OUTPUT, **fast_options()}])
    doc, _created = engine_factory().create_execution(JOB)
    assert wait_for(lambda: _finished(store, doc["name"]))["properties"]["lifecycle"] == "Succeeded"
    (target,) = _targets(store, doc["name"])
    assert target["properties"]["currentAttempts"] == 2
    assert len(fake_sql.outputs) == 1 and len(fake_sql.calls) == 2


def test_no_output_is_written_without_a_result_set_or_without_output(store, fake_sql, engine_factory):
    fake_sql.databases["tsrv"] = [("TargetDb1", {})]
    define_job(store, [SERVER_MEMBER], [{"output": OUTPUT}])
    engine = engine_factory()
    first = engine.create_execution(JOB)[0]["name"]
    assert wait_for(lambda: _finished(store, first))["properties"]["lifecycle"] == "Succeeded"
    fake_sql.results = True
    other_job = define_job(store, [SERVER_MEMBER], [{}], job=f"{AGENT}/jobs/Job2")
    second = engine.create_execution(other_job)[0]
    assert wait_for(lambda: rec.lifecycle_of(store.get_execution(resource_key(second["id"]))) == "Succeeded")
    assert len(fake_sql.calls) == 2 and fake_sql.outputs == []
