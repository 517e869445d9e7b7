"""Integration fixtures: one emulator process per test session, shared by every integration test.

Tests isolate themselves by using their own resource group / server names (``unique_name``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.emulator import EmulatorProcess, unique_name


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    """The running emulator (HTTPS on a free 127.0.0.1 port, temp state dir)."""
    with EmulatorProcess(tmp_path_factory.mktemp("emulator-state"), token="integration-token") as process:
        yield process


@pytest.fixture
def resource_group() -> str:
    """A resource group name no other test uses (resource groups are not emulated)."""
    return unique_name("rg")
