"""How many target-database connections the emulator keeps idle, by open-file limit."""

from __future__ import annotations

import pytest

from elasticjobs_emulator.catalog import FREE_FDS, MAX_IDLE_CONNECTIONS, idle_limit


@pytest.mark.parametrize(
    ("open_files", "idle"),
    [
        (1024, 512),  # a common default soft limit: half stays free
        (8192, 4096),  # half and FREE_FDS agree
        (10_000, 10_000 - FREE_FDS),  # a large limit: FREE_FDS stays free
        (20_000, MAX_IDLE_CONNECTIONS),  # enough for every database of a 10,000-database step
        (1_048_576, MAX_IDLE_CONNECTIONS),
    ],
)
def test_idle_connections_leave_half_the_descriptors_or_free_fds_free(open_files: int, idle: int) -> None:
    assert idle_limit(open_files) == idle
    assert open_files - idle >= min(open_files // 2, FREE_FDS)
