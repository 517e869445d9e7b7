"""A step's first attempts share the server, admin login and credential they resolved; retries and
later steps resolve them again, and a dropped database file is prepared again when recreated.

Real store and T-SQL interpreter (``TsqlAccess``), no fake database layer.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from elasticjobs_emulator import tsql
from elasticjobs_emulator.catalog import ServerCatalog
from elasticjobs_emulator.engine import Engine
from elasticjobs_emulator.passwords import PasswordHasher
from elasticjobs_emulator.store import Store
from tests.unit.engine.fakes import AGENT, CREDENTIAL, JOB, RG, define_job, fast_options, wait_for

SERVER = f"{RG}/servers/tsrv"
DATABASES = ("master", "db1", "db2")


def _server(store: Store, hasher: PasswordHasher) -> None:
    store.put(SERVER, {"id": SERVER, "name": "tsrv", "properties": {"administratorLogin": "jobuser"}})
    store.set_secret(SERVER, hasher.digest("right"))
    for name in DATABASES:
        store.put(f"{SERVER}/databases/{name}", {"id": f"{SERVER}/databases/{name}", "name": name})


def _targets(engine: Engine, execution_id: str) -> list[dict]:
    return engine.target_executions(JOB, execution_id)


def test_a_retry_logs_in_with_the_credential_as_it_is_now(store: Store, tmp_path: Path) -> None:
    hasher = PasswordHasher(b"k")
    _server(store, hasher)
    refresh = f"{AGENT}/credentials/refresh"
    member = {"type": "SqlServer", "serverName": "tsrv", "refreshCredential": refresh}
    action = {"type": "TSql", "source": "Inline", "value": "SELECT 1"}
    define_job(store, [member], [{**fast_options(initialRetryIntervalSeconds=1.0), "action": action}])
    store.put(refresh, {"id": refresh, "name": "refresh", "properties": {"username": "jobuser"}})
    store.set_secret(refresh, hasher.digest("right"))
    store.set_secret(CREDENTIAL, hasher.digest("wrong"))
    engine = Engine(store, tmp_path, hasher)
    engine.start()
    try:
        doc, _ = engine.create_execution(JOB)
        wait_for(
            lambda: (
                len(targets := _targets(engine, doc["name"])) == 2
                and all(t["properties"]["lifecycle"] == "WaitingForRetry" for t in targets)
            )
        )
        store.set_secret(CREDENTIAL, hasher.digest("right"))  # fixed while the targets wait
        wait_for(lambda: "endTime" in (engine.execution(doc["id"]) or {}).get("properties", {}))
        targets = _targets(engine, doc["name"])
        assert [t["properties"]["lifecycle"] for t in targets] == ["Succeeded", "Succeeded"]
        assert [t["properties"]["currentAttempts"] for t in targets] == [2, 2]
    finally:
        engine.stop()


def test_a_pinned_catalog_keeps_the_admin_login_it_read(store: Store, tmp_path: Path) -> None:
    hasher = PasswordHasher(b"k")
    _server(store, hasher)
    catalog = ServerCatalog.from_store(store, hasher, tmp_path, SERVER)
    pinned = catalog.pinned()
    store.set_secret(SERVER, hasher.digest("changed"))
    assert tsql.connect(pinned, "db1", "jobuser", hasher.digest("right")).is_admin
    assert tsql.connect(catalog, "db1", "jobuser", hasher.digest("changed")).is_admin


def test_a_dropped_and_recreated_database_file_gets_its_catalog_again(store: Store, tmp_path: Path) -> None:
    hasher = PasswordHasher(b"k")
    _server(store, hasher)
    catalog = ServerCatalog.from_store(store, hasher, tmp_path, SERVER)
    admin = tsql.connect(catalog, "db1", "jobuser", hasher.digest("right"))
    tsql.execute_batch(catalog, "db1", admin, "CREATE TABLE T (id int)")
    catalog.drop_database_file("db1")
    result = tsql.execute_batch(
        catalog, "db1", admin, "SELECT COUNT(*) FROM sys.database_principals; SELECT COUNT(*) FROM sys.tables"
    )
    assert result.result_sets[0].rows[0][0] > 0
    assert result.result_sets[1].rows == [[0]]


def test_a_reused_connection_keeps_nothing_of_the_batch_before(store: Store, tmp_path: Path) -> None:
    hasher = PasswordHasher(b"k")
    _server(store, hasher)
    catalog = ServerCatalog.from_store(store, hasher, tmp_path, SERVER)
    admin = tsql.connect(catalog, "db1", "jobuser", hasher.digest("right"))
    scratch = "CREATE TABLE #scratch (id int); INSERT INTO #scratch VALUES (1)"
    tsql.execute_batch(catalog, "db1", admin, scratch)
    with pytest.raises(tsql.TsqlError):
        tsql.execute_batch(catalog, "db1", admin, "SELECT COUNT(*) FROM #scratch")
    tsql.execute_batch(catalog, "db1", admin, "SELECT name FROM sys.tables")
    plain = "SELECT COUNT(*) FROM T1"
    tsql.execute_batch(catalog, "db1", admin, "CREATE TABLE T1 (id int); INSERT INTO T1 VALUES (1)")
    assert tsql.execute_batch(catalog, "db1", admin, plain).result_sets[0].rows == [[1]]
    catalog.drop_database_file("db1")  # its idle connection goes with it
    with pytest.raises(tsql.TsqlError):
        tsql.execute_batch(catalog, "db1", admin, plain)
