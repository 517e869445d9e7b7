"""docs/emulator.md "Coverage by client" names exactly the ARM operations the emulator serves, each with
the api-versions ``api_versions.py`` accepts for it.

The served operations are read from the FastAPI app's routes, so a new route (or a removed one) fails
here until the table says so; the client columns are the table's own claims (kept by hand).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute

from elasticjobs_emulator import api_versions
from elasticjobs_emulator.api.app import create_app

DOC = Path(__file__).resolve().parents[3] / "docs" / "emulator.md"
SECTION = "## Coverage by client"
ARM_PREFIX = re.compile(r"^/subscriptions/\{[^}]+\}/resourceGroups/\{[^}]+\}/providers/Microsoft\.Sql/")
ROW = re.compile(r"^\| `(?P<operation>[A-Z]+ [^`]+)` \| (?P<versions>[^|]+?) \|")
HOW_TO_UPDATE = (
    'Update the table in docs/emulator.md, section "Coverage by client": one row per operation, first '
    "cell `METHOD path` with the path after /subscriptions/{…}/resourceGroups/{…}/providers/Microsoft.Sql/ "
    "exactly as the route declares it, second cell the api-versions (`oldest` … `newest` (count), as "
    "computed from api_versions.py), then one cell per client: ✓, the tests or examples that cover "
    "it, or — (check with the emulator's request counters, GET /_emulator/counters)."
)


def versions_cell(route_path: str) -> str:
    """How the table shows the api-versions served for a route: oldest … newest (count)."""
    served = api_versions.supported(api_versions.resource_type(route_path))
    return f"`{served[-1]}` … `{served[0]}` ({len(served)})"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """``"METHOD path"`` → api-versions cell, for every ARM route of the emulator's app."""
    app = create_app(tmp_path_factory.mktemp("coverage-state"), "coverage-token")
    return {
        f"{method} {ARM_PREFIX.sub('', route.path)}": versions_cell(route.path)
        for route in app.routes
        if isinstance(route, APIRoute) and ARM_PREFIX.match(route.path)
        for method in sorted(route.methods)
    }


@pytest.fixture(scope="module")
def documented() -> dict[str, str]:
    """``"METHOD path"`` → api-versions cell, for every row of the coverage table."""
    text = DOC.read_text()
    assert SECTION in text, f"docs/emulator.md lost its {SECTION!r} section. {HOW_TO_UPDATE}"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        if match := ROW.match(line):
            assert match["operation"] not in rows, f"{match['operation']} has two rows. {HOW_TO_UPDATE}"
            rows[match["operation"]] = match["versions"].strip()
    return rows


def test_every_served_operation_has_a_row(served: dict[str, str], documented: dict[str, str]) -> None:
    missing = [f"| `{op}` | {served[op]} |" for op in sorted(set(served) - set(documented))]
    assert not missing, (
        "The emulator serves operations the coverage table does not list; start their rows with\n"
        + "\n".join(missing)
        + f"\n{HOW_TO_UPDATE}"
    )


def test_every_row_is_a_served_operation(served: dict[str, str], documented: dict[str, str]) -> None:
    unknown = sorted(set(documented) - set(served))
    assert not unknown, (
        f"The coverage table lists operations the emulator does not serve: {unknown}; delete those rows "
        f"or fix their method/path. {HOW_TO_UPDATE}"
    )


def test_rows_show_the_api_versions_served(served: dict[str, str], documented: dict[str, str]) -> None:
    wrong = {
        operation: f"{documented[operation]!r}, should be {cell!r}"
        for operation, cell in served.items()
        if operation in documented and documented[operation] != cell
    }
    assert not wrong, f"api-versions column out of date: {wrong}. {HOW_TO_UPDATE}"


def test_the_table_is_not_trivially_small(served: dict[str, str]) -> None:
    """The route listing itself works: every resource kind of the tutorial is served."""
    assert len(served) >= 40
    for operation in ("PUT servers/{server}", "POST servers/{server}/jobAgents/{agent}/jobs/{job}/start"):
        assert operation in served
