"""Connection parsing, credential selection and secret hygiene."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from airflow_elasticjobs.hooks.connection import ConnectionSettingsError, ElasticJobsConnectionSettings
from airflow_elasticjobs.hooks.credentials import build_async_credential, build_sync_credential
from airflow_elasticjobs.hooks.static_token import AsyncStaticTokenCredential, StaticTokenCredential


class Conn:
    def __init__(
        self, login: str | None = None, password: str | None = None, host: str | None = None, **extra: Any
    ):
        self.conn_id = "ej"
        self.login = login
        self.password = password
        self.host = host
        self.extra_dejson = {"subscription_id": "sub-1", **extra}


EMULATOR = "https://127.0.0.1:8443"


def parse(**kwargs: Any) -> ElasticJobsConnectionSettings:
    return ElasticJobsConnectionSettings.from_connection(Conn(**kwargs))


def test_defaults_to_public_cloud() -> None:
    settings = parse()
    assert settings.endpoint == "https://management.azure.com"
    assert settings.credential_scopes == ["https://management.azure.com/.default"]
    assert settings.is_azure
    assert settings.auth_method == "DefaultAzureCredential"
    kwargs = settings.client_kwargs()
    assert kwargs["base_url"] == "https://management.azure.com"
    assert kwargs["connection_verify"] is True
    assert kwargs["retry_total"] == 10


def test_sovereign_cloud_sets_endpoint_scope_and_authority() -> None:
    settings = parse(cloud="AzureChinaCloud")
    assert settings.endpoint == "https://management.chinacloudapi.cn"
    assert settings.credential_scopes == ["https://management.chinacloudapi.cn/.default"]
    assert settings.cloud.authority == "login.chinacloudapi.cn"
    assert settings.is_azure


def test_emulator_settings(tmp_path) -> None:
    ca = tmp_path / "cert.pem"
    ca.write_text("pem")
    settings = parse(
        endpoint="https://127.0.0.1:8443/", token="emulator-token", verify=str(ca), retry_total="2"
    )
    assert settings.endpoint == "https://127.0.0.1:8443"
    assert not settings.is_azure
    assert settings.verify == str(ca)
    assert settings.retry.total == 2
    assert settings.auth_method == "static bearer token"


@pytest.mark.parametrize(
    ("kwargs", "field", "fix"),
    [
        ({"subscription_id": ""}, "'subscription_id'", "set the Azure subscription id"),
        ({"cloud": "Mars"}, "'cloud'", "AzureChinaCloud"),
        ({"endpoint": "management.azure.com"}, "'endpoint'", "https://management.azure.com"),
        ({"verify": "/nowhere/ca.pem"}, "'verify'", "true, false or a PEM file path"),
        ({"login": "app", "password": "s3cret-value"}, "'tenant_id'", "needs its tenant id"),
        ({"login": "app", "tenant_id": "t", "certificate_path": "/nowhere.pem"}, "'certificate_path'", "PEM"),
        ({"retry_total": "many"}, "'retry_total'", "whole number"),
        ({"retry_backoff_max": -1}, "'retry_backoff_max'", "use e.g. 60.0"),
        ({"retry_backoff_max": "nan"}, "'retry_backoff_max'", "number of seconds >= 0"),
        ({"retry_backoff_factor": "inf"}, "'retry_backoff_factor'", "number of seconds >= 0"),
        ({"retry_total": 2.9}, "'retry_total'", "whole number"),
        ({"retry_total": True}, "'retry_total'", "whole number"),
        ({"authority": "https://user:s3cret-value@127.0.0.1:8443"}, "'authority'", "no user or password"),
        ({"token": "tok"}, "'token'", "set 'endpoint' to the emulator's URL"),
        ({"login": "app", "tenant_id": "t"}, "'password'", "clear login to use a managed identity"),
        ({"certificate_path": __file__, "tenant_id": "t"}, "'login'", "client id"),
        ({"authority": "http://127.0.0.1:8443"}, "'authority'", "https only"),
        ({"authority": "https://login.microsoftonline.com/tenant"}, "'authority'", "no path"),
        ({"authority": "https://127.0.0.1:99999"}, "'authority'", "https://127.0.0.1:8443"),
        ({"authority": "https://"}, "'authority'", "login.microsoftonline.com"),
        ({"browser_url": "localhost:8443"}, "'browser_url'", "https://localhost:8443"),
    ],
)
def test_invalid_connections_name_field_and_fix(kwargs: dict[str, Any], field: str, fix: str) -> None:
    with pytest.raises(ConnectionSettingsError) as caught:
        parse(**kwargs)
    assert field in str(caught.value)
    assert fix in str(caught.value)
    assert "s3cret-value" not in str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "authority", "custom"),
    [
        ({}, "login.microsoftonline.com", False),
        ({"cloud": "AzureChinaCloud"}, "login.chinacloudapi.cn", False),
        ({"authority": "login.microsoftonline.us"}, "login.microsoftonline.us", False),
        ({"authority": "https://login.microsoftonline.com/"}, "login.microsoftonline.com", False),
        ({"authority": "https://127.0.0.1:8443/"}, "https://127.0.0.1:8443", True),
        ({"authority": "LOGIN.microsoftonline.com"}, "login.microsoftonline.com", False),
        ({"authority": "localhost:8443"}, "https://localhost:8443", True),
        ({"authority": " https://login.example.test "}, "https://login.example.test", True),
    ],
)
def test_authority_extra(kwargs: dict[str, Any], authority: str, custom: bool) -> None:
    settings = parse(login="app", password="s3cret-value", tenant_id="t", **kwargs)
    assert settings.authority == authority
    assert settings.custom_authority is custom
    method = settings.auth_method
    assert method.startswith("service principal (client secret)")
    assert (authority in method) is custom
    assert "s3cret-value" not in method


def test_custom_authority_turns_off_msal_instance_discovery() -> None:
    """Else MSAL would ask login.microsoftonline.com to validate the emulator's host. (The async
    credential, which does no instance discovery, is covered end to end by
    tests/integration/provider/test_service_principal.py.)"""
    settings = parse(
        login="app", password="pw", tenant_id="t", authority="https://127.0.0.1:8443", verify="false"
    )
    assert build_sync_credential(settings)._instance_discovery is False
    cloud = parse(login="app", password="pw", tenant_id="t")
    assert build_sync_credential(cloud)._instance_discovery is None  # azure-identity's default


def test_repr_hides_every_secret() -> None:
    settings = parse(
        login="app",
        password="client-secret-value",
        tenant_id="t",
        token="token-value",
        endpoint="https://127.0.0.1:8443",
        certificate_password="cert-pass-value",
    )
    text = repr(settings)
    for secret in ("client-secret-value", "token-value", "cert-pass-value"):
        assert secret not in text
    assert "token-value" not in repr(StaticTokenCredential("token-value"))
    assert "token-value" not in repr(AsyncStaticTokenCredential("token-value"))


def test_credential_selection() -> None:
    from azure.identity import ClientSecretCredential, DefaultAzureCredential

    assert isinstance(build_sync_credential(parse(token="t", endpoint=EMULATOR)), StaticTokenCredential)
    assert isinstance(
        build_sync_credential(parse(login="app", password="pw", tenant_id="t")), ClientSecretCredential
    )
    assert isinstance(build_sync_credential(parse()), DefaultAzureCredential)
    assert isinstance(build_sync_credential(parse(cloud="AzureUSGovernment")), DefaultAzureCredential)
    assert parse(managed_identity_client_id="mi").auth_method.startswith(
        "DefaultAzureCredential (user-assigned"
    )


def test_certificate_credential(tmp_path) -> None:
    from azure.identity import CertificateCredential

    pem = tmp_path / "sp.pem"
    pem.write_bytes(_self_signed_pem())
    settings = parse(login="app", tenant_id="t", certificate_path=str(pem))
    assert settings.auth_method == "service principal (certificate)"
    assert isinstance(build_sync_credential(settings), CertificateCredential)


def _self_signed_pem() -> bytes:
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sp")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem + cert.public_bytes(serialization.Encoding.PEM)


def test_async_credential_selection() -> None:
    from azure.identity.aio import ClientSecretCredential

    async def check() -> None:
        async with build_async_credential(parse(token="tok", endpoint=EMULATOR)) as credential:
            token = await credential.get_token("scope")
            info = await credential.get_token_info("scope")
            assert token.token == info.token == "tok"
        credential = build_async_credential(parse(login="app", password="pw", tenant_id="t"))
        assert isinstance(credential, ClientSecretCredential)
        await credential.close()

    asyncio.run(check())


@pytest.mark.parametrize("aio", [False, True], ids=["sync", "async"])
def test_both_flavours_choose_the_same_method(aio: bool, tmp_path) -> None:
    """One selection serves both: each method gives its ``azure.identity`` (or ``.aio``) class."""
    pem = tmp_path / "sp.pem"
    pem.write_bytes(_self_signed_pem())
    expected = {
        "ClientSecretCredential": parse(login="app", password="pw", tenant_id="t"),
        "CertificateCredential": parse(login="app", tenant_id="t", certificate_path=str(pem)),
        "DefaultAzureCredential": parse(cloud="AzureUSGovernment"),
    }

    async def build_all() -> list[Any]:
        built = [build_async_credential(s) for s in expected.values()]
        for credential in built:
            await credential.close()
        return built

    built = asyncio.run(build_all()) if aio else [build_sync_credential(s) for s in expected.values()]
    for name, credential in zip(expected, built, strict=True):
        assert type(credential).__name__ == name
        assert type(credential).__module__.startswith("azure.identity.")
        assert type(credential).__module__.startswith("azure.identity.aio.") is aio


def test_static_token_credential_protocols() -> None:
    credential = StaticTokenCredential("tok")
    token = credential.get_token("https://management.azure.com/.default")
    info = credential.get_token_info("https://management.azure.com/.default")
    assert token.token == info.token == "tok"
    assert info.expires_on > 0


def test_browser_url_is_optional_and_normalised() -> None:
    assert parse().browser_url is None
    assert parse(browser_url="https://localhost:8443/").browser_url == "https://localhost:8443"


def test_a_static_token_goes_to_azure_only_when_the_endpoint_is_set_explicitly() -> None:
    explicit = parse(token="tok", endpoint="https://management.azure.com")
    assert explicit.is_azure and explicit.auth_method == "static bearer token"
    assert parse(token="tok", endpoint=EMULATOR).endpoint == EMULATOR
