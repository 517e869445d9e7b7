"""The hooks keep azure-core's per-request HTTP log lines (request and response headers at INFO) out
of the triggerer's and the tasks' logs: a real ``azure.mgmt.sql.aio`` client call against the emulator,
with log records captured at INFO."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import pytest

from airflow_elasticjobs.hooks.elastic_jobs_async import ElasticJobsAsyncHook
from airflow_elasticjobs.hooks.sdk_logging import HTTP_LOGGING_POLICY_LOGGER
from tests.support.emulator import FAST_RETRIES, unique_name

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

CONN_ID = "elastic_jobs_logging"


@pytest.fixture
def policy_logger(emulator, monkeypatch) -> Iterator[logging.Logger]:
    """azure-core's HTTP logging policy logger with no level, as in a fresh triggerer process."""
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{CONN_ID.upper()}",
        emulator.connection_json(unique_name("rg"), "srv", "agent", **FAST_RETRIES),
    )
    logger = logging.getLogger(HTTP_LOGGING_POLICY_LOGGER)
    level = logger.level
    logger.setLevel(logging.NOTSET)
    try:
        yield logger
    finally:
        logger.setLevel(level)


async def get_missing_execution() -> None:
    async with ElasticJobsAsyncHook(CONN_ID) as hook:
        assert await hook.get_execution("Job1", str(uuid.uuid4())) is None  # a real GET, answered 404


def http_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == HTTP_LOGGING_POLICY_LOGGER and r.levelno <= logging.INFO]


async def test_async_hook_logs_no_request_or_response_headers_at_info(policy_logger, caplog):
    caplog.set_level(logging.INFO)
    await get_missing_execution()
    assert http_lines(caplog) == []
    assert policy_logger.level == logging.WARNING


async def test_a_level_configured_for_that_logger_is_kept(policy_logger, caplog):
    """Someone troubleshooting sets the logger to INFO: the hook leaves it, and the lines appear
    (which also shows the request above would have been logged)."""
    caplog.set_level(logging.INFO)
    policy_logger.setLevel(logging.INFO)
    await get_missing_execution()
    assert any("Request URL" in r.getMessage() for r in http_lines(caplog))
