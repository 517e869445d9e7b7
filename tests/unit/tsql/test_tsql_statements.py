"""DML, control flow, messages, errors, WAITFOR/cancel, unsupported statements and concurrency."""

from __future__ import annotations

import threading
import time

import pytest

from elasticjobs_emulator import tsql


def test_dml_round_trip_with_rowcounts(server) -> None:
    result = server.run(
        "TargetDb1",
        "CREATE TABLE [dbo].[Items] ([Id] INT NOT NULL, [Name] NVARCHAR(50))\n"
        "INSERT INTO Items (Id, Name) VALUES (1, N'one'), (2, 'two'), (3, 'it''s')\n"
        "UPDATE [dbo].[Items] SET Name = Name + N'!' WHERE Id >= 2\n"
        "DELETE FROM Items WHERE Id = 1\n"
        "SELECT TOP 1 Id, Name FROM Items ORDER BY Id DESC\n"
        "SELECT COUNT(*) FROM dbo.Items",
    )
    assert result.rowcount == 3 + 2 + 1
    assert [rs.rows for rs in result.result_sets] == [[[3, "it's!"]], [[2]]]
    assert result.result_sets[0].columns == ["Id", "Name"]
    truncated = server.run("TargetDb1", "TRUNCATE TABLE Items; SELECT COUNT(*) FROM Items")
    assert truncated.result_sets[0].rows == [[0]]


@pytest.mark.parametrize(
    ("sql", "number"),
    [
        ("SELECT * FROM Missing", 208),
        ("SELECT nope FROM T1", 207),
        ("CREATE TABLE T1 (a INT)", 2714),
        ("DROP TABLE Missing", 3701),
        ("INSERT INTO T1 (a) VALUES (NULL)", 515),
        ("SELECT * FROM sales.T1", 208),
        ("SELECT * FROM TargetDb2.dbo.T1", 40515),
        ("USE master", 40508),
        ("SELECT FROM WHERE", 102),
        ("SELECT 'unterminated", 105),
        ("THROW 50123, N'custom', 1", 50123),
        ("THROW 1, 'low', 1", 35100),
        ("RAISERROR('bad %s', 16, 1, 'thing')", 50000),
        ("WAITFOR DELAY '99:00:00'", 148),
        ("IF 1 = 1", 102),
        ("BEGIN SELECT 1", 102),
        ("(SELECT 1)", 102),
        ("SELECT @x", 137),
        ("SELECT @@ROWCOUNT", 40517),
    ],
)
def test_errors_carry_sql_server_numbers(server, sql, number) -> None:
    server.run("TargetDb1", "CREATE TABLE T1 (a INT NOT NULL)")
    with pytest.raises(tsql.TsqlError) as info:
        server.run("TargetDb1", sql)
    assert info.value.number == number


def test_raiserror_formats_arguments(server) -> None:
    with pytest.raises(tsql.TsqlError) as info:
        server.run("TargetDb1", "RAISERROR('bad %s #%d', 16, 1, 'thing', 7)")
    assert info.value.message == "bad thing #7"


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("EXEC sp_who", "EXEC"),
        ("EXECUTE sp_who", "EXECUTE"),
        ("DECLARE @x INT = 1", "DECLARE"),
        ("BEGIN TRY SELECT 1 END TRY BEGIN CATCH SELECT 2 END CATCH", "BEGIN TRY"),
        ("BEGIN TRANSACTION", "BEGIN TRANSACTION"),
        ("COMMIT", "COMMIT"),
        ("CREATE PROCEDURE p AS SELECT 1", "CREATE PROCEDURE"),
        ("CREATE VIEW v AS SELECT 1 AS a", "CREATE VIEW"),
        ("ALTER TABLE t ADD c INT", "ALTER TABLE"),
        ("MERGE t USING s ON t.a = s.a WHEN MATCHED THEN DELETE;", "MERGE"),
        ("WHILE 1 = 0 PRINT 'x'", "WHILE"),
        ("SET ANSI_NULLS ON", "SET ANSI_NULLS"),
        ("DENY SELECT TO public", "DENY"),
        ("SELECT 1 AS a INTO t2", "SELECT … INTO"),
        ("SELECT 1\nGO\nSELECT 2", "GO"),
        ("WAITFOR TIME '10:00'", "WAITFOR TIME"),
        ("CREATE USER u WITHOUT LOGIN", "CREATE USER … WITHOUT LOGIN"),
        ("CREATE LOGIN l WITH PASSWORD = 'Passw0rd!x', CHECK_POLICY = OFF", "LOGIN option ,"),
    ],
)
def test_unsupported_statements_are_named_and_nothing_runs(server, sql, named) -> None:
    with pytest.raises(tsql.UnsupportedStatement) as info:
        server.run("master", "CREATE TABLE Before (a INT);\n" + sql)
    assert f"'{named}'" in info.value.message or named in info.value.message
    assert "not supported by the emulator" in info.value.message
    if named not in ("CREATE USER … WITHOUT LOGIN", "LOGIN option ,"):
        # unsupported statements are found when the batch is compiled: nothing ran
        assert server.rows("master", "SELECT COUNT(*) FROM sys.tables WHERE name = 'Before'") == [[0]]


def test_control_flow_blocks_and_messages(server) -> None:
    result = server.run(
        "TargetDb1",
        """
        -- comments are fine /* and this */
        IF EXISTS (SELECT * FROM sys.tables WHERE name = 'Nope') PRINT 'wrong'
        ELSE
        BEGIN
            PRINT 'created ' + CAST(1 AS NVARCHAR(10));
            CREATE TABLE [Flow] ([v] INT)
            IF NOT EXISTS (SELECT 1 FROM Flow) BEGIN INSERT INTO Flow VALUES (1) END
        END;
        SELECT CASE WHEN v = 1 THEN 'one' ELSE 'other' END AS label FROM Flow
        RAISERROR('info %d', 10, 1, 5) WITH NOWAIT
        SET NOCOUNT ON
        """,
    )
    assert result.messages == ["created 1", "info 5"]
    assert result.result_sets[0].rows == [["one"]]


def test_messages_before_an_error_are_kept(server) -> None:
    with pytest.raises(tsql.TsqlError) as info:
        server.run(
            "TargetDb1", "PRINT 'step 1'; CREATE TABLE Kept (a INT); THROW 50001, 'stop', 1; PRINT 'never'"
        )
    assert info.value.messages == ["step 1"]
    assert server.rows("TargetDb1", "SELECT COUNT(*) FROM sys.tables WHERE name = 'Kept'") == [
        [1]
    ]  # autocommit


def test_waitfor_delay_waits_and_is_cancellable(server) -> None:
    started = time.monotonic()
    server.run("TargetDb1", "WAITFOR DELAY '00:00:00.200'")
    assert 0.18 <= time.monotonic() - started < 2
    cancel = threading.Event()
    threading.Timer(0.1, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(tsql.QueryCanceled) as info:
        server.run("TargetDb1", "WAITFOR DELAY '00:01:00'; CREATE TABLE Never (a INT)", cancel=cancel)
    assert info.value.number == 3980
    assert time.monotonic() - started < 1.0  # noticed within the 50 ms checks
    assert server.rows("TargetDb1", "SELECT COUNT(*) FROM sys.tables") == [[0]]


def test_a_set_cancel_flag_stops_before_the_first_statement(server) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(tsql.QueryCanceled):
        server.run("TargetDb1", "CREATE TABLE Never (a INT)", cancel=cancel)


def test_string_literals_cannot_break_out(server) -> None:
    server.run("TargetDb1", "CREATE TABLE Notes (v NVARCHAR(100))")
    server.run("TargetDb1", "INSERT INTO Notes VALUES (N'x''); DROP TABLE Notes; --')")
    assert server.rows("TargetDb1", "SELECT v FROM Notes") == [["x'); DROP TABLE Notes; --"]]


def test_concurrent_batches_on_one_database(server) -> None:
    server.run("TargetDb1", "CREATE TABLE Hits (n INT)")
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(20):
                server.run("TargetDb1", "INSERT INTO Hits VALUES (1); SELECT COUNT(*) FROM Hits")
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert server.rows("TargetDb1", "SELECT COUNT(*) FROM Hits") == [[120]]


def test_temp_tables_live_for_the_batch_and_need_no_permission(server) -> None:
    server.add_login("jobuser", "password!123", ("TargetDb1",))
    server.run("TargetDb1", "CREATE TABLE t (a INT); INSERT INTO t VALUES (1)")
    result = server.run(
        "TargetDb1",
        "CREATE TABLE #t (a INT); INSERT INTO #t VALUES (7), (8); SELECT COUNT(*) FROM #t; DROP TABLE #t",
        login="jobuser",
        password="password!123",
    )
    assert result.result_sets[0].rows == [[2]]
    assert server.rows("TargetDb1", "SELECT a FROM t; SELECT name FROM sys.tables") == [[1]]  # t untouched
    with pytest.raises(tsql.TsqlError) as gone:
        server.run("TargetDb1", "SELECT * FROM #t")
    assert gone.value.number == 208


def test_writes_check_the_target_and_reads_check_the_sources(server) -> None:
    server.add_login("jobuser", "password!123", ("TargetDb1",))
    server.run(
        "TargetDb1", "CREATE TABLE src (a INT); CREATE TABLE dst (a INT); GRANT INSERT ON dst TO jobuser"
    )
    with pytest.raises(tsql.PermissionDenied) as reading:
        server.run("TargetDb1", "INSERT INTO dst SELECT a FROM src", login="jobuser", password="password!123")
    assert "SELECT permission was denied on the object 'src'" in reading.value.message
    server.run("TargetDb1", "GRANT SELECT ON src TO jobuser")
    server.run("TargetDb1", "INSERT INTO dst SELECT a FROM src", login="jobuser", password="password!123")
