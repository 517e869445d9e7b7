"""Fixtures of the trigger and poller unit tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.unit.triggers.fakes import Ticks


@pytest.fixture
async def ticks() -> AsyncIterator[Ticks]:
    """A poller ``sleep`` the test steps round by round; afterwards the loops whose watches left end."""
    stepper = Ticks()
    yield stepper
    await stepper.rounds(2)
