"""How many measured runs an emulator fan-out row gets: an odd number, so its median is a run."""

from __future__ import annotations

import pytest

from benchmarks.emulator_fanout import MAX_REPEATS, REPEAT_FOR_S, repeats


@pytest.mark.parametrize(
    ("wall_hint_s", "expected"),
    [
        (None, 1),
        (0.0, 1),
        (REPEAT_FOR_S, 1),  # one run already lasts the row's budget
        (REPEAT_FOR_S * 3, 1),
        (REPEAT_FOR_S * 0.6, 3),  # two runs would fill the budget: three, not the slower of two
        (REPEAT_FOR_S * 0.2, 5),
        (REPEAT_FOR_S * 0.24, 5),  # five wanted
        (REPEAT_FOR_S * 0.15, 7),  # seven wanted
        (REPEAT_FOR_S * 0.13, MAX_REPEATS),  # eight wanted: odd, so nine
        (REPEAT_FOR_S * 0.001, MAX_REPEATS),
    ],
)
def test_short_rows_run_an_odd_number_of_times(wall_hint_s: float | None, expected: int) -> None:
    assert repeats(wall_hint_s) == expected
    assert expected % 2 == 1
