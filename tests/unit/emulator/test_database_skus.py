"""How the emulator completes a database sku (elasticjobs_emulator.api.database_skus)."""

from __future__ import annotations

from elasticjobs_emulator.api.database_skus import complete


def test_a_dtu_objective_gets_its_tier_and_dtus() -> None:
    chosen = complete({"name": "S0", "tier": "Standard"})
    assert chosen.sku == {"name": "S0", "tier": "Standard", "capacity": 10}
    assert chosen.current == {"name": "Standard", "tier": "Standard", "capacity": 10}
    assert chosen.objective == "S0"


def test_a_vcore_sku_by_name_or_by_edition_and_family() -> None:
    expected = {"name": "BC_Gen4", "tier": "BusinessCritical", "family": "Gen4", "capacity": 2}
    for sent in ({"name": "BC_Gen4", "capacity": 2}, {"name": "BC", "family": "Gen4", "capacity": 2}):
        chosen = complete(sent)
        assert chosen.sku == expected
        assert chosen.current == {"name": "BC_Gen4", "tier": "BusinessCritical", "capacity": 2}
        assert chosen.objective == "BC_Gen4_2"
    assert complete({"name": "GP_S_Gen5", "capacity": 1}).sku["family"] == "Gen5"


def test_any_other_sku_is_kept() -> None:
    sent = {"name": "Standard", "tier": "Standard", "capacity": 10}
    chosen = complete(sent)
    assert chosen.sku == sent == chosen.current and chosen.objective == "Standard"
