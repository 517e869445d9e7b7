"""Reliability fixtures: one emulator process per session whose bearer token is a recognisable canary.

The token is ``S3cret-Canary-token-<uuid>`` so the secrets tests can search every log, table and file
for it; everything else behaves like the integration suite's ``emulator`` fixture. The ``world``
fixture (one tutorial world per module, on this emulator) is the provider integration tests' one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.integration.provider.execution_support import world_fixture
from tests.support.emulator import EmulatorProcess, unique_name

__all__ = ["canary", "world_fixture"]

CANARY_PREFIX = "S3cret-Canary"


def canary(kind: str) -> str:
    """A recognisable, unique secret such as ``S3cret-Canary-password-1b2c…`` (never in any output)."""
    return f"{CANARY_PREFIX}-{kind}-{uuid.uuid4().hex}"


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    """The running emulator (HTTPS on a free 127.0.0.1 port, temp state dir, canary token)."""
    with EmulatorProcess(tmp_path_factory.mktemp("emulator-state"), token=canary("token")) as process:
        yield process


@pytest.fixture
def resource_group() -> str:
    """A resource group name no other test uses (resource groups are not emulated)."""
    return unique_name("rg")
