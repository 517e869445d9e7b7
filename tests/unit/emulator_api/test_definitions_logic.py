"""Pure logic of the emulator's ARM layer: path templates, durations, timestamps."""

from __future__ import annotations

import pytest

from elasticjobs_emulator.api.controls import FaultRule, path_template
from elasticjobs_emulator.api.validation import duration, format_timestamp, timestamp
from elasticjobs_emulator.errors import ArmError


@pytest.mark.parametrize(
    ("path", "template"),
    [
        (
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.Sql/servers/x/jobAgents/a/executions",
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Sql/servers/{}/jobAgents/{}/executions",
        ),
        (
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.Sql/servers/x/jobAgents/a/jobs/j/start",
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Sql/servers/{}/jobAgents/{}/jobs/{}/start",
        ),
        (
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.Sql/locations/w/jobAgentOperationResults/1",
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Sql/locations/{}/jobAgentOperationResults/{}",
        ),
        ("/tenant-a/oauth2/v2.0/token", "/{tenant}/oauth2/v2.0/token"),
        ("/tenant-b/oauth2/v2.0/token", "/{tenant}/oauth2/v2.0/token"),
        (
            "/tenant-a/v2.0/.well-known/openid-configuration",
            "/{tenant}/v2.0/.well-known/openid-configuration",
        ),
    ],
)
def test_path_template(path: str, template: str) -> None:
    assert path_template(path) == template


@pytest.mark.parametrize("value", ["PT1H", "P1D", "PT15M", "P1W", "P1M", "P1DT12H", "PT30S"])
def test_valid_durations(value: str) -> None:
    assert duration(value, "interval") == value


@pytest.mark.parametrize("value", ["1h", "P", "PT", "P0D", "PT0M", "P1H", "", 3600, None])
def test_invalid_durations(value: object) -> None:
    with pytest.raises(ArmError) as refused:
        duration(value, "properties.schedule.interval")
    assert refused.value.code == "InvalidDuration"
    assert "properties.schedule.interval" in refused.value.message


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("2030-01-01T02:00:00+02:00", "2030-01-01T00:00:00Z"),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
        ("9999-12-31T03:59:59-08:00", "9999-12-31T11:59:59Z"),
    ],
)
def test_timestamps_are_normalised_to_utc(raw: str, normalised: str) -> None:
    assert format_timestamp(timestamp(raw, "startTime")) == normalised


@pytest.mark.parametrize("raw", ["2030-01-01T00:00:00", "tomorrow", "0001-01-01T00:00:00+01:00", 5])
def test_timestamps_need_an_offset_and_a_valid_value(raw: object) -> None:
    with pytest.raises(ArmError) as refused:
        timestamp(raw, "properties.schedule.startTime")
    assert "properties.schedule.startTime" in refused.value.message


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"kind": "418"}, "rules[0].kind"),
        ({"kind": "500", "path": "("}, "rules[0].path"),
        ({"kind": "500", "probability": 2}, "rules[0].probability"),
        ({"kind": "500", "max_count": 0}, "rules[0].max_count"),
        ({"kind": "latency", "latency_ms": "slow"}, "rules[0].latency_ms"),
    ],
)
def test_fault_rules_are_validated(rule: dict[str, object], field: str) -> None:
    with pytest.raises(ArmError) as refused:
        FaultRule.parse(0, rule)
    assert field in refused.value.message
