"""ARM timestamps of the engine's clock: the same text as formatting a ``datetime``, faster."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from elasticjobs_emulator.engine.clock import parse_iso, to_iso


def _by_datetime(timestamp: float) -> str:
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@pytest.mark.parametrize(
    "fraction", [0.0, 0.0000004, 0.0000005, 0.0005, 0.123456, 0.9995, 0.9999994, 0.9999995, 0.9999999]
)
@pytest.mark.parametrize("second", [0, 244024071, 1_767_225_599, 1_767_225_600])
def test_to_iso_writes_what_datetime_writes_also_at_rounding_edges(second: int, fraction: float) -> None:
    timestamp = second + fraction
    assert to_iso(timestamp) == _by_datetime(timestamp)


def test_to_iso_round_trips_to_the_millisecond() -> None:
    assert parse_iso(to_iso(1_767_225_599.9876)) == pytest.approx(1_767_225_599.987, abs=1e-6)
    assert to_iso(1_767_225_599.9999999) == "2026-01-01T00:00:00.000Z"
