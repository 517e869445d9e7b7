"""The live Azure tests (``pytest -m live`` or ``pytest tests/live``), opt-in through environment
variables (docs/live-tests.md). Without them every ``live`` test is skipped at collection with a
reason naming the missing variables; nothing heavier than the standard library is imported then.
"""

from __future__ import annotations

import os

import pytest

from tests.live.settings import LiveSettings, skip_reason


def pytest_report_header(config: pytest.Config) -> str:
    """One header line saying whether the live tests run, and if not, which variables are missing."""
    reason = skip_reason(os.environ)
    return f"skipped: {reason}" if reason else "live Azure tests: ENABLED (creates billable resources)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip every test marked ``live`` unless the live variables are all set."""
    reason = skip_reason(os.environ)
    if reason is None:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if item.get_closest_marker("live") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def live_settings() -> LiveSettings:
    """The validated live configuration (a bad value fails here, naming the variable)."""
    return LiveSettings.from_env(os.environ)
