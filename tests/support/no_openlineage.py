"""Make this interpreter behave as if the OpenLineage provider and client were not installed.

Used by a child process (``python -c``) that checks the operators work without the optional
``openlineage`` extra. :func:`install`, called before anything imports Airflow,

* puts a meta-path finder first on ``sys.meta_path`` that raises ``ModuleNotFoundError`` for
  :data:`BLOCKED_MODULES` and their submodules, and
* hides :data:`HIDDEN_DISTRIBUTIONS` from ``importlib.metadata`` (and its backport
  ``importlib_metadata``, which Airflow uses on this Python), so Airflow's provider and plugin
  discovery, which reads the distributions' entry points, does not find the provider either.
"""

from __future__ import annotations

import importlib
import re
import sys
from typing import Any

#: The OpenLineage provider and the OpenLineage Python client (with its SQL parser).
BLOCKED_MODULES = ("airflow.providers.openlineage", "openlineage", "openlineage_sql")
#: Their distributions, in normalized form (PEP 503).
HIDDEN_DISTRIBUTIONS = frozenset(
    {
        "apache-airflow-providers-openlineage",
        "openlineage-python",
        "openlineage-integration-common",
        "openlineage-sql",
    }
)


def _blocked(name: str) -> bool:
    return any(name == b or name.startswith(b + ".") for b in BLOCKED_MODULES)


class _Blocker:
    """A meta-path finder that refuses :data:`BLOCKED_MODULES` (and notes every refusal)."""

    def __init__(self) -> None:
        self.refused: list[str] = []

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if _blocked(name):
            self.refused.append(name)
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
        return None


BLOCKER = _Blocker()


def _normalized(name: str | None) -> str:
    return re.sub(r"[-_.]+", "-", name or "").lower()


def _hide_distributions(module: Any) -> None:
    """Filter :data:`HIDDEN_DISTRIBUTIONS` out of ``module.Distribution.discover``."""
    discover = module.Distribution.discover

    def visible(cls: type, **kwargs: Any) -> Any:
        return (d for d in discover(**kwargs) if _normalized(d.metadata["Name"]) not in HIDDEN_DISTRIBUTIONS)

    module.Distribution.discover = classmethod(visible)


def install() -> None:
    """Block the OpenLineage modules and hide their distributions; fail if one is already imported."""
    loaded = [m for m in sys.modules if _blocked(m)]
    assert not loaded, f"already imported before the blocker: {loaded}"
    sys.meta_path.insert(0, BLOCKER)
    for name in ("importlib.metadata", "importlib_metadata"):
        try:
            _hide_distributions(importlib.import_module(name))
        except ModuleNotFoundError:
            continue
