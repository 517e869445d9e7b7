"""The live tests' configuration without Azure: which variables are missing, how bad values are
refused, and that the connections built from the variables are what the provider and the ODBC hook
read (parsed by the real Airflow and provider code; no Azure call)."""

from __future__ import annotations

import json

import pytest

from tests.live.settings import OPT_IN, REQUIRED, LiveSettings, LiveSettingsError, run_prefix, skip_reason

COMPLETE = {
    OPT_IN: "1",
    "ELASTICJOBS_LIVE_SUBSCRIPTION_ID": "11111111-2222-3333-4444-555555555555",
    "ELASTICJOBS_LIVE_TENANT_ID": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
    "ELASTICJOBS_LIVE_CLIENT_ID": "99999999-8888-7777-6666-555555555555",
    "ELASTICJOBS_LIVE_CLIENT_SECRET": "sp-secret-value",
    "ELASTICJOBS_LIVE_RESOURCE_GROUP": "rg-elasticjobs-live",
    "ELASTICJOBS_LIVE_CLIENT_IP": "20.50.2.1",
}


def test_nothing_set_names_the_opt_in_and_every_required_variable() -> None:
    reason = skip_reason({})
    assert reason is not None
    assert f"{OPT_IN}=1" in reason
    for name in REQUIRED:
        assert name in reason
    assert "docs/live-tests.md" in reason


def test_opted_in_with_one_variable_missing_names_only_that_one() -> None:
    env = {k: v for k, v in COMPLETE.items() if k != "ELASTICJOBS_LIVE_CLIENT_IP"}
    reason = skip_reason(env)
    assert reason == "live Azure tests need ELASTICJOBS_LIVE_CLIENT_IP; see docs/live-tests.md"


def test_everything_set_but_not_opted_in_still_skips() -> None:
    env = {k: v for k, v in COMPLETE.items() if k != OPT_IN}
    assert skip_reason(env) == (
        f"live Azure tests need {OPT_IN}=1 (opt-in: creates billable Azure resources); see docs/live-tests.md"
    )
    assert skip_reason(COMPLETE) is None


@pytest.mark.parametrize(
    ("name", "value", "fix"),
    [
        ("ELASTICJOBS_LIVE_SUBSCRIPTION_ID", "my-subscription", "a GUID"),
        ("ELASTICJOBS_LIVE_CLIENT_IP", "192.168.1.10", "public IPv4"),
        ("ELASTICJOBS_LIVE_CLIENT_IP", "2001:db8::1", "public IPv4"),
        ("ELASTICJOBS_LIVE_LOCATION", "West Europe", "region name"),
        ("ELASTICJOBS_LIVE_RESOURCE_GROUP", "rg/with/slash", "resource group"),
    ],
)
def test_bad_value_names_the_variable_and_the_fix(name: str, value: str, fix: str) -> None:
    with pytest.raises(LiveSettingsError) as error:
        LiveSettings.from_env(COMPLETE | {name: value})
    assert name in str(error.value)
    assert fix in str(error.value)


def test_defaults_and_secrets_stay_out_of_repr() -> None:
    settings = LiveSettings.from_env(COMPLETE)
    assert (settings.location, settings.admin_login) == ("westeurope", "ejliveadmin")
    assert settings.admin_password != LiveSettings.from_env(COMPLETE).admin_password  # random per run
    assert "sp-secret-value" not in repr(settings)
    assert settings.admin_password not in repr(settings)


def test_run_prefix_makes_valid_unique_server_names() -> None:
    first, second = run_prefix(0), run_prefix(0)
    assert first != second
    assert first.startswith("ejlive-01010000-")
    settings = LiveSettings.from_env(COMPLETE)
    for server in (settings.names(first).agent_server, settings.names(first).target_server):
        assert server.islower() and len(server) <= 63 and server.replace("-", "").isalnum()


def test_connections_are_what_the_provider_and_the_odbc_hook_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ``AIRFLOW_CONN_*`` variables, read back by Airflow: the provider's hook gets the service
    principal on public Azure with the run's names; the ODBC hook connects to the target server."""
    from airflow.providers.odbc.hooks.odbc import OdbcHook

    from airflow_elasticjobs.hooks.credentials import build_sync_credential
    from airflow_elasticjobs.hooks.elastic_jobs import ElasticJobsHook

    settings = LiveSettings.from_env(COMPLETE | {"ELASTICJOBS_LIVE_SQL_ADMIN_PASSWORD": "Adm1n-Live-Secret!"})
    names = settings.names("ejlive-01010000-abcdef")
    env = settings.connection_env(names, {"masteruser": "Master-Pw-1!", "jobuser": "Job-Pw-1!"})
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    parsed = ElasticJobsHook().settings
    assert (parsed.subscription_id, parsed.tenant_id, parsed.client_id) == (
        COMPLETE["ELASTICJOBS_LIVE_SUBSCRIPTION_ID"],
        COMPLETE["ELASTICJOBS_LIVE_TENANT_ID"],
        COMPLETE["ELASTICJOBS_LIVE_CLIENT_ID"],
    )
    assert (parsed.resource_group_name, parsed.server_name, parsed.agent_name) == (
        "rg-elasticjobs-live",
        "ejlive-01010000-abcdef-agent",
        "ElasticJobsAgent",
    )
    assert (parsed.endpoint, parsed.is_azure, parsed.static_token) == (
        "https://management.azure.com",
        True,
        None,
    )
    assert parsed.auth_method == "service principal (client secret)"
    assert type(build_sync_credential(parsed)).__name__ == "ClientSecretCredential"

    odbc = OdbcHook(odbc_conn_id="elastic_jobs_target_sql", database="TargetDb1").odbc_connection_string
    for part in (
        "DRIVER={ODBC Driver 18 for SQL Server};",
        "SERVER=ejlive-01010000-abcdef-target.database.windows.net;",
        "DATABASE=TargetDb1;",
        "UID=ejliveadmin;",
        "Encrypt=yes;",
    ):
        assert part in odbc
    logins = {
        name: json.loads(env[f"AIRFLOW_CONN_ELASTIC_JOBS_{name}"])["login"]
        for name in ("SERVER_ADMIN", "MASTERUSER", "JOBUSER")
    }
    assert logins == {"SERVER_ADMIN": "ejliveadmin", "MASTERUSER": "masteruser", "JOBUSER": "jobuser"}


def test_cleanup_refuses_a_prefix_that_is_not_a_live_run() -> None:
    """``python -m tests.live.cleanup`` deletes servers by prefix: only ever those of live runs."""
    from tests.live.cleanup import main

    with pytest.raises(SystemExit) as error:
        main(["--prefix", "prod-"])
    assert error.value.code == 2
