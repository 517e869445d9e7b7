"""One source of truth for the Airflow versions the built provider is tested on.

scripts/compat_versions.txt lists them; scripts/compat.sh reads it (and names no version itself),
docs/compatibility-ci.md shows the same rows, and both pyproject.toml files admit every one of them,
one release line per minor from the lower bound of their ``apache-airflow`` range to the newest.
"""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from scripts.compat_check_dist import PROVIDER, sdist_problems, wheel_problems
from scripts.compat_constraints import lower_bound_pins
from scripts.compat_summary import counts_per_file

ROOT = Path(__file__).resolve().parents[2]
VERSIONS_FILE = ROOT / "scripts" / "compat_versions.txt"
DOC = ROOT / "docs" / "compatibility-ci.md"
RESOLUTIONS = ("lowest", "highest")


def matrix() -> list[tuple[str, str, str]]:
    """``(version, resolution, cutoff or "")`` rows of scripts/compat_versions.txt."""
    lines = (line.strip() for line in VERSIONS_FILE.read_text().splitlines())
    rows = [line.split() for line in lines if line and not line.startswith(("#", "exempt "))]
    return [(row[0], row[1], row[2] if len(row) > 2 else "") for row in rows]


def airflow_requirement(pyproject: Path, extra: str | None = None) -> Requirement:
    project = tomllib.loads(pyproject.read_text())["project"]
    texts = project["optional-dependencies"][extra] if extra else project["dependencies"]
    (requirement,) = (r for r in map(Requirement, texts) if r.name == "apache-airflow")
    return requirement


def test_rows_are_versions_with_a_resolution_and_only_the_oldest_is_lowest() -> None:
    rows = matrix()
    assert rows, f"{VERSIONS_FILE} lists no version"
    versions = [Version(v) for v, _, _ in rows]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
    assert [resolution for _, resolution, _ in rows] == ["lowest"] + ["highest"] * (len(rows) - 1)


def test_every_row_but_the_newest_has_a_cutoff_and_cutoffs_follow_the_releases() -> None:
    cutoffs = [cutoff for _, _, cutoff in matrix()]
    assert cutoffs[-1] == "", "the newest row tests today's releases, as the main venv does"
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", c) for c in cutoffs[:-1]), cutoffs
    assert cutoffs[:-1] == sorted(set(cutoffs[:-1])), "an older Airflow release cannot have a later cutoff"


def test_one_release_per_minor_from_the_lower_bound_of_the_airflow_range() -> None:
    provider = airflow_requirement(ROOT / "pyproject.toml")
    emulator = airflow_requirement(ROOT / "emulator" / "pyproject.toml", extra="airflow")
    assert provider.specifier == emulator.specifier, "the emulator's [airflow] extra must match the provider"
    versions = [Version(v) for v, _, _ in matrix()]
    assert all(provider.specifier.contains(v) for v in versions), f"{provider} excludes one of {versions}"
    (lower,) = (Version(s.version) for s in provider.specifier if s.operator == ">=")
    minors = [(v.major, v.minor) for v in versions]
    assert minors[0] == (lower.major, lower.minor), f"the oldest tested release is not a {lower} release"
    assert minors == [(lower.major, minor) for minor in range(lower.minor, minors[-1][1] + 1)]


def test_the_newest_row_is_the_main_venvs_airflow() -> None:
    """The whole suite runs on the main venv's Airflow; the matrix's newest row is the same release."""
    assert matrix()[-1][0] == version("apache-airflow")


def test_the_doc_table_shows_the_same_rows() -> None:
    table = re.findall(
        r"^\| (\d+\.\d+\.\d+) +\| (\w+) +\| (\d{4}-\d{2}-\d{2}|none) ", DOC.read_text(), flags=re.MULTILINE
    )
    table = [(v, resolution, "" if cutoff == "none" else cutoff) for v, resolution, cutoff in table]
    assert table == matrix(), f"{DOC.name}'s table differs from {VERSIONS_FILE.name}"


def test_compat_sh_reads_the_versions_file_and_names_no_version() -> None:
    script = (ROOT / "scripts" / "compat.sh").read_text()
    assert "scripts/compat_versions.txt" in script
    assert not re.search(r"\b3\.\d+\.\d+\b", script), "compat.sh must take versions from the file only"
    test_sh = (ROOT / "scripts" / "test.sh").read_text().strip().splitlines()
    assert test_sh[-1] == "bash scripts/compat.sh", "scripts/test.sh ends with the compat stage"


def test_every_provider_requirement_has_a_lower_bound_the_lowest_venv_pins() -> None:
    dependencies = [
        Requirement(t)
        for t in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    ]
    pins = lower_bound_pins(dependencies)
    assert len(pins) == len(dependencies) - 1  # all but apache-airflow, pinned per venv
    assert "apache-airflow-providers-common-sql==1.26.0" in pins
    with pytest.raises(ValueError, match="azure-identity"):
        lower_bound_pins([Requirement("azure-identity<2")])


def test_dist_check_names_missing_static_files_and_stray_sources(tmp_path: Path) -> None:
    expected = sorted(PROVIDER.expected_files())
    assert "airflow_elasticjobs/py.typed" in expected
    assert any(name.endswith("view.js") for name in expected)
    assert wheel_problems(PROVIDER, [*expected, "airflow_elasticjobs-0.1.0.dist-info/METADATA"]) == []
    without_js = [name for name in expected if not name.endswith(".js")]
    assert wheel_problems(PROVIDER, without_js) == [
        f"wheel lacks {name}" for name in expected if name.endswith(".js")
    ]
    sdist = [
        f"airflow_elasticjobs-0.1.0/{name}" for name in [*expected, "PKG-INFO", "README.md", "pyproject.toml"]
    ]
    assert sdist_problems(PROVIDER, sdist) == []
    assert sdist_problems(PROVIDER, [*sdist, "airflow_elasticjobs-0.1.0/tests/conftest.py"]) == [
        "sdist holds tests/conftest.py: not part of the airflow_elasticjobs distribution"
    ]


def test_summary_counts_outcomes_per_test_file_including_import_errors(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.unit.triggers.test_poller" name="test_a"/>'
        '<testcase classname="tests.unit.triggers.test_poller.TestRound" name="test_b"><skipped/></testcase>'
        '<testcase classname="tests.unit.triggers.test_poller" name="test_c"><failure/></testcase>'
        '<testcase classname="" name="tests.unit.provider.test_links"><error/></testcase>'
        "</testsuite></testsuites>"
    )
    assert counts_per_file(junit) == {
        "tests/unit/triggers/test_poller.py": {"passed": 1, "skipped": 1, "failed": 1},
        "tests/unit/provider/test_links.py": {"failed": 1},
    }
