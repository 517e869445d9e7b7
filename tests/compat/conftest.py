"""Compatibility-suite fixtures: one emulator process per session and the provider tests' world.

The suite runs on every supported Airflow minor (docs/compatibility.md); its tests drive the running
version's own components, so what they prove holds for that version.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.provider.execution_support import world_fixture
from tests.support.emulator import EmulatorProcess

__all__ = ["world_fixture"]


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    """The running emulator (HTTPS on a free 127.0.0.1 port, temp state dir)."""
    with EmulatorProcess(tmp_path_factory.mktemp("emulator-state"), token="compat-token") as process:
        yield process
