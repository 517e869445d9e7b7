"""Pin each requirement of a built wheel to its lower bound: the constraints of the "lowest" venv.

``python scripts/compat_constraints.py dist/airflow_elasticjobs-*.whl`` prints one ``name==version``
line per base requirement (no extra, no marker) of the wheel's ``Requires-Dist``, from its ``>=``
bound. scripts/compat.sh installs the oldest Airflow of scripts/compat_versions.txt with these
constraints, so the bounds pyproject.toml declares are the versions that venv really tests; a bound
that cannot resolve there fails the install with the resolver's own explanation. ``apache-airflow``
is left out: each venv pins it to the version under test.
"""

from __future__ import annotations

import sys
import zipfile
from collections.abc import Iterable
from pathlib import Path

from packaging.requirements import Requirement

#: Pinned by each compat venv itself (scripts/compat_versions.txt).
SKIPPED = frozenset({"apache-airflow"})


def wheel_requirements(wheel: Path) -> list[Requirement]:
    """``Requires-Dist`` of a built wheel's METADATA."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(name).decode()
    return [
        Requirement(line.split(":", 1)[1])
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:")
    ]


def lower_bound_pins(requirements: Iterable[Requirement]) -> list[str]:
    """``name==lower`` for every base requirement; a base requirement without ``>=`` is an error."""
    pins = []
    for requirement in requirements:
        if requirement.marker is not None or requirement.name in SKIPPED:
            continue
        lower = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        if len(lower) != 1:
            raise ValueError(
                f"requirement {requirement} has no single '>=' lower bound: give it one in pyproject.toml "
                "[project] dependencies, so the lowest compat venv can test it"
            )
        pins.append(f"{requirement.name}=={lower[0]}")
    return pins


def main(argv: list[str]) -> int:
    """Print the constraints of the wheel named by the only argument."""
    if len(argv) != 1:
        print("usage: compat_constraints.py WHEEL", file=sys.stderr)
        return 2
    print("\n".join(lower_bound_pins(wheel_requirements(Path(argv[0])))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
