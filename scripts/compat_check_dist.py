"""Check what the built distributions hold, as a user's pip would unpack them.

``python scripts/compat_check_dist.py DIST_DIR`` (scripts/compat.sh, after ``python -m build``):

- the provider wheel holds every module of ``airflow_elasticjobs``, every static file of the UI
  plugin in this checkout (``airflow_elasticjobs/plugins/**/*.js|css|html``) and ``py.typed``;
- the emulator wheel holds every module of ``elasticjobs_emulator`` and its ``*.json`` data
  (``api_versions.json`` is read at import);
- each sdist holds the same package files plus ``pyproject.toml``, ``README.md`` and ``PKG-INFO``,
  and nothing else of the repository: no tests, benchmarks, docs, example DAGs, scripts, nor the
  other distribution's sources.

Exit 1 with one line per problem; the expected file lists come from this checkout, so a new static
file or module is covered without editing this script.
"""

from __future__ import annotations

import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Files an sdist holds at its top besides the package: setuptools' metadata and the build inputs.
SDIST_TOP_LEVEL = frozenset({"PKG-INFO", "README.md", "pyproject.toml", "setup.cfg"})


@dataclass(frozen=True)
class Distribution:
    """One of this repository's distributions: its project folder and import package."""

    project: str  # normalized file-name prefix, e.g. airflow_elasticjobs
    source: Path  # the folder holding pyproject.toml
    package: str  # the import package
    data_globs: tuple[str, ...]  # package data that must ship, relative to the package folder

    def expected_files(self) -> set[str]:
        """Paths (relative to the project folder) a wheel and an sdist must both hold."""
        package_dir = self.source / self.package
        files = {p for p in package_dir.rglob("*.py") if "__pycache__" not in p.parts}
        for pattern in self.data_globs:
            files |= set(package_dir.glob(pattern))
        return {path.relative_to(self.source).as_posix() for path in files}


PROVIDER = Distribution(
    "airflow_elasticjobs",
    ROOT,
    "airflow_elasticjobs",
    ("py.typed", "plugins/**/*.js", "plugins/**/*.css", "plugins/**/*.html"),
)
EMULATOR = Distribution(
    "airflow_elasticjobs_emulator", ROOT / "emulator", "elasticjobs_emulator", ("*.json",)
)


def wheel_problems(distribution: Distribution, names: list[str]) -> list[str]:
    """What a wheel whose members are ``names`` lacks or holds beyond its package and dist-info."""
    held = set(names)
    problems = [f"wheel lacks {path}" for path in sorted(distribution.expected_files() - held)]
    problems += [
        f"wheel holds {name}, outside {distribution.package}/"
        for name in sorted(held)
        if not name.startswith((f"{distribution.package}/", f"{distribution.project}-"))
    ]
    return problems


def sdist_problems(distribution: Distribution, names: list[str]) -> list[str]:
    """What an sdist whose files are ``names`` (under its ``name-version/`` folder) lacks or adds."""
    held = {name.split("/", 1)[1] for name in names if "/" in name}
    problems = [f"sdist lacks {path}" for path in sorted(distribution.expected_files() - held)]
    problems += [f"sdist lacks {name}" for name in sorted(SDIST_TOP_LEVEL - {"setup.cfg"} - held)]
    egg_info = f"{distribution.project}.egg-info/"
    problems += [
        f"sdist holds {name}: not part of the {distribution.package} distribution"
        for name in sorted(held)
        if name not in SDIST_TOP_LEVEL and not name.startswith((f"{distribution.package}/", egg_info))
    ]
    return problems


def _files(sdist: tarfile.TarFile) -> list[str]:
    return [member.name for member in sdist.getmembers() if member.isfile()]


def check(dist_dir: Path) -> list[str]:
    """Every problem of the two wheels and two sdists in ``dist_dir`` (each must exist once)."""
    problems = []
    for distribution in (PROVIDER, EMULATOR):
        wheels = sorted(dist_dir.glob(f"{distribution.project}-*.whl"))
        sdists = sorted(dist_dir.glob(f"{distribution.project}-*.tar.gz"))
        if len(wheels) != 1 or len(sdists) != 1:
            problems.append(f"{dist_dir} must hold one wheel and one sdist of {distribution.project}")
            continue
        with zipfile.ZipFile(wheels[0]) as wheel:
            problems += [f"{wheels[0].name}: {p}" for p in wheel_problems(distribution, wheel.namelist())]
        with tarfile.open(sdists[0]) as sdist:
            problems += [f"{sdists[0].name}: {p}" for p in sdist_problems(distribution, _files(sdist))]
    return problems


def main(argv: list[str]) -> int:
    """Check the distributions in the folder named by the only argument."""
    if len(argv) != 1:
        print("usage: compat_check_dist.py DIST_DIR", file=sys.stderr)
        return 2
    problems = check(Path(argv[0]))
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"distributions in {argv[0]} hold what they should (package files, static files, py.typed)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
