"""A database sku as Azure completes it: tier, family and capacity filled in from the name.

The spec examples show what Azure answers for the skus a client sends
(``stable/2023-08-01/examples/CreateDatabaseDefaultMode.json``,
``CreateVCoreDatabaseBySkuNameCapacity.json``, ``CreateVCoreDatabaseByServiceObjective.json``):

- a DTU service objective (``{"name": "S0"}``) answers ``sku`` ``{"name": "S0", "tier": "Standard",
  "capacity": 10}`` and ``currentSku`` ``{"name": "Standard", "tier": "Standard", "capacity": 10}``;
- a vCore sku by name and capacity (``{"name": "BC_Gen4", "capacity": 2}``) or by edition, family
  and capacity (``{"name": "BC", "family": "Gen4", "capacity": 2}``) answers ``sku``
  ``{"name": "BC_Gen4", "tier": "BusinessCritical", "family": "Gen4", "capacity": 2}``, ``currentSku``
  without the family, and the service objective ``BC_Gen4_2``.

Any other sku (a tier name such as ``{"name": "Standard", "tier": "Standard", "capacity": 10}``) is
kept as sent, its name being the service objective.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_VCORE_EDITIONS = {"GP": "GeneralPurpose", "BC": "BusinessCritical", "HS": "Hyperscale"}
_VCORE_DEFAULT_CAPACITY = 2
# DTU service objective -> (tier, DTUs), from Azure SQL Database's DTU purchasing model tables.
_DTU_OBJECTIVES = {
    "Basic": ("Basic", 5),
    "S0": ("Standard", 10),
    "S1": ("Standard", 20),
    "S2": ("Standard", 50),
    "S3": ("Standard", 100),
    "S4": ("Standard", 200),
    "S6": ("Standard", 400),
    "S7": ("Standard", 800),
    "S9": ("Standard", 1600),
    "S12": ("Standard", 3000),
    "P1": ("Premium", 125),
    "P2": ("Premium", 250),
    "P4": ("Premium", 500),
    "P6": ("Premium", 1000),
    "P11": ("Premium", 1750),
    "P15": ("Premium", 4000),
}


@dataclass(frozen=True)
class DatabaseSku:
    """What a database answers for its sku: ``sku``, ``properties.currentSku`` and the objective."""

    sku: dict[str, Any]
    current: dict[str, Any]
    objective: str


def complete(sent: dict[str, Any]) -> DatabaseSku:
    """The sku ``sent`` in a database PUT (it has a ``name``) as Azure answers it."""
    name = str(sent["name"])
    edition, _, family = name.partition("_")
    family = family or str(sent.get("family") or "")
    if edition.upper() in _VCORE_EDITIONS and family:
        capacity = sent.get("capacity") or _VCORE_DEFAULT_CAPACITY
        full = f"{edition.upper()}_{family}"
        tier = sent.get("tier") or _VCORE_EDITIONS[edition.upper()]
        current = {"name": full, "tier": tier, "capacity": capacity}
        return DatabaseSku({**current, "family": family.rpartition("_")[2]}, current, f"{full}_{capacity}")
    if name in _DTU_OBJECTIVES:
        tier, dtus = _DTU_OBJECTIVES[name]
        capacity = sent.get("capacity") or dtus
        current = {"name": tier, "tier": tier, "capacity": capacity}
        return DatabaseSku({"name": name, "tier": tier, "capacity": capacity}, current, name)
    return DatabaseSku(dict(sent), dict(sent), name)
