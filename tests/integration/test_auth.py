"""Bearer-token authentication of the ARM surface and test controls; secrets never logged."""

from __future__ import annotations

import httpx
import pytest
from azure.core.exceptions import ClientAuthenticationError

from airflow_elasticjobs.hooks.connection import StaticTokenCredential
from tests.support.definitions import ADMIN_PASSWORD, create_agent_setup
from tests.support.emulator import API_VERSION, EmulatorProcess, unique_name

pytestmark = pytest.mark.integration


def _servers_path(emulator: EmulatorProcess) -> str:
    return emulator.arm_path("any-rg", "servers")


def test_missing_token_is_401_with_arm_error(emulator: EmulatorProcess) -> None:
    with httpx.Client(base_url=emulator.url, verify=str(emulator.cert_path)) as http:
        response = http.get(_servers_path(emulator), params={"api-version": API_VERSION})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AuthenticationFailed"
    assert "WWW-Authenticate" in response.headers


@pytest.mark.parametrize("header", ["Bearer wrong-token", "Basic dXNlcjpwdw==", "integration-token"])
def test_wrong_token_is_401(emulator: EmulatorProcess, header: str) -> None:
    with httpx.Client(base_url=emulator.url, verify=str(emulator.cert_path)) as http:
        response = http.get(
            _servers_path(emulator), params={"api-version": API_VERSION}, headers={"Authorization": header}
        )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert emulator.token not in response.text


def test_401_comes_before_routing(emulator: EmulatorProcess) -> None:
    with emulator.http(token="nope") as http:
        response = http.get("/subscriptions/x/no/such/path")
    assert response.status_code == 401


def test_sdk_with_wrong_token_raises_authentication_error(emulator: EmulatorProcess) -> None:
    from azure.mgmt.sql import SqlManagementClient

    client = SqlManagementClient(
        credential=StaticTokenCredential("not-the-token"), **emulator.client_kwargs()
    )
    with client, pytest.raises(ClientAuthenticationError) as denied:
        client.servers.get("rg", "srv")
    assert denied.value.status_code == 401


def test_test_controls_need_the_token_but_health_does_not(emulator: EmulatorProcess) -> None:
    with httpx.Client(base_url=emulator.url, verify=str(emulator.cert_path)) as http:
        assert http.get("/_emulator/counters").status_code == 401
        assert http.get("/_emulator/health").json() == {"status": "ok"}
    assert "total" in emulator.control("GET", "counters")


def test_tls_certificate_covers_localhost_and_loopback(emulator: EmulatorProcess) -> None:
    for host in ("127.0.0.1", "localhost"):
        url = emulator.url.replace("127.0.0.1", host)
        with httpx.Client(verify=str(emulator.cert_path)) as http:
            assert http.get(f"{url}/_emulator/health").status_code == 200
    with httpx.Client() as untrusting, pytest.raises(httpx.ConnectError):
        untrusting.get(f"{emulator.url}/_emulator/health")


def test_no_password_or_token_reaches_the_log(emulator: EmulatorProcess) -> None:
    secret = "Very-Secret-Credential-Pw-42"
    with emulator.management_client() as client:
        setup = create_agent_setup(client, unique_name("rg"))
        client.job_credentials.create_or_update(
            *setup.names(), "cred", {"properties": {"username": "u", "password": secret}}
        )
    log = emulator.log_text()
    assert "/credentials/cred" in log  # the request was logged...
    for value in (secret, ADMIN_PASSWORD, emulator.token):
        assert value not in log  # ...but no secret
