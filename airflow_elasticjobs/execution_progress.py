"""Progress lines of an execution while it runs: one line per step, logged only when it changed.

Built on the counts of :mod:`airflow_elasticjobs.execution_state` (unknown lifecycles count as in
progress, as everywhere); the start operator, the sensor and the trigger log them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from airflow_elasticjobs.execution_state import (
    ACTIVE,
    SUCCESSFUL,
    Lifecycle,
    TargetResult,
    count_targets,
    targets_by_step,
)

# Words used in progress lines, in the order they are printed; lifecycles not listed are "in progress".
_PROGRESS_WORDS: tuple[tuple[str, frozenset[Lifecycle]], ...] = (
    ("failed", frozenset({Lifecycle.FAILED})),
    ("timed out", frozenset({Lifecycle.TIMED_OUT})),
    ("canceled", frozenset({Lifecycle.CANCELED})),
    ("skipped", frozenset({Lifecycle.SKIPPED})),
    ("in progress", ACTIVE),
)


def _progress_by_step(targets: Iterable[TargetResult]) -> dict[tuple[int, str], str]:
    lines = {}
    for (step_id, step_name), of_step in targets_by_step(targets).items():
        counts: Counter[Lifecycle] = Counter()
        for lifecycle, number in count_targets(of_step).items():
            counts[Lifecycle.observed(lifecycle)] += number
        total = sum(counts.values())
        succeeded = sum(counts[s] for s in SUCCESSFUL)
        parts = [f"{succeeded}/{total} targets succeeded"]
        for word, states in _PROGRESS_WORDS:
            number = sum(counts[s] for s in states)
            if number:
                parts.append(f"{number} {word}")
        name = f" {step_name!r}" if step_name else ""
        lines[(step_id, step_name)] = f"step {step_id}{name}: {', '.join(parts)}"
    return lines


class ProgressTracker:
    """Remembers the progress lines already logged and returns only the ones that changed.

    One line per step, e.g. ``step 1 'Step1': 37/120 targets succeeded, 2 failed, 81 in progress``.
    """

    def __init__(self) -> None:
        self._seen: dict[tuple[int, str], str] = {}

    def changed_lines(self, targets: Iterable[TargetResult]) -> list[str]:
        """Progress lines for ``targets`` that differ from the last ones returned for the same step."""
        changed = []
        for step, line in _progress_by_step(targets).items():
            if self._seen.get(step) != line:
                self._seen[step] = line
                changed.append(line)
        return changed
