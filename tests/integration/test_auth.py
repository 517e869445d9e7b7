"""Bearer-token authentication of the ARM surface and test controls; secrets never logged; the
emulator's Entra ID token endpoint, expired tokens (401) and the reader role (403)."""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest
from azure.core.exceptions import ClientAuthenticationError

from airflow_elasticjobs.hooks.static_token import StaticTokenCredential
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


@pytest.mark.parametrize(
    "header",
    [b"Bearer wrong-token", b"Basic dXNlcjpwdw==", b"integration-token", b"Bearer ej1.a.\xe9"],
    ids=["wrong", "basic", "no-scheme", "non-ascii-signature"],
)
def test_wrong_token_is_401(emulator: EmulatorProcess, header: bytes) -> None:
    with httpx.Client(base_url=emulator.url, verify=str(emulator.cert_path)) as http:
        response = http.get(
            _servers_path(emulator), params={"api-version": API_VERSION}, headers={b"Authorization": header}
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
    client_id, client_secret = unique_name("app"), "Very-Secret-Client-Secret-42"
    emulator.register_principal(client_id, client_secret)
    issued = emulator.issue_token(client_id, client_secret)
    with emulator.http(token=issued) as http:
        assert http.get(_servers_path(emulator), params={"api-version": API_VERSION}).status_code == 200
    with emulator.management_client() as client:
        setup = create_agent_setup(client, unique_name("rg"))
        client.job_credentials.create_or_update(
            *setup.names(), "cred", {"properties": {"username": "u", "password": secret}}
        )
    log = emulator.log_text()
    assert "/credentials/cred" in log  # the request was logged...
    assert "/oauth2/v2.0/token" in log
    for value in (secret, ADMIN_PASSWORD, emulator.token, client_secret, issued):
        assert value not in log  # ...but no secret


# -- the emulator's Entra ID authority (service principals) ----------------------------------------
TENANT = "emulator-tenant"


def _token_response(emulator: EmulatorProcess, **form: str) -> httpx.Response:
    with httpx.Client(base_url=emulator.url, verify=str(emulator.cert_path)) as http:
        return http.post(f"/{TENANT}/oauth2/v2.0/token", data=form)


def test_openid_configuration_points_at_the_emulator(emulator: EmulatorProcess) -> None:
    with httpx.Client(base_url=emulator.url, verify=str(emulator.cert_path)) as http:
        config = http.get(f"/{TENANT}/v2.0/.well-known/openid-configuration").json()
    assert config["token_endpoint"] == f"{emulator.url}/{TENANT}/oauth2/v2.0/token"
    assert config["authorization_endpoint"] == f"{emulator.url}/{TENANT}/oauth2/v2.0/authorize"
    assert config["issuer"] == f"{emulator.url}/{TENANT}/v2.0"


def test_token_endpoint_answers_like_entra_id(emulator: EmulatorProcess) -> None:
    client_id, secret = unique_name("app"), "Entra-Secret-1"
    emulator.register_principal(client_id, secret, lifetime_seconds=120)
    response = _token_response(
        emulator,
        grant_type="client_credentials",
        client_id=client_id,
        client_secret=secret,
        scope="https://management.azure.com/.default",
    )
    body = response.json()
    assert response.status_code == 200
    assert (body["token_type"], body["expires_in"], body["ext_expires_in"]) == ("Bearer", 120, 120)
    assert secret not in body["access_token"]
    with emulator.http(token=body["access_token"]) as http:
        assert http.get(_servers_path(emulator), params={"api-version": API_VERSION}).status_code == 200
    assert emulator.principals()[client_id]["tokens_issued"] == 1


@pytest.mark.parametrize(
    ("form", "status", "error", "code"),
    [
        ({"client_id": "nobody", "client_secret": "x"}, 400, "unauthorized_client", 700016),
        ({"client_secret": "Wrong-Secret-1"}, 401, "invalid_client", 7000215),
        ({"client_secret": ""}, 401, "invalid_client", 7000218),
        ({"client_secret": "", "client_assertion": "eyJ.x.y"}, 400, "invalid_request", 900144),
        ({"scope": ""}, 400, "invalid_request", 900144),
        ({"scope": "https://management.azure.com/user_impersonation"}, 400, "invalid_scope", 1002012),
        ({"grant_type": "password"}, 400, "unsupported_grant_type", 70003),
    ],
)
def test_token_endpoint_errors_are_entra_ids(
    emulator: EmulatorProcess, form: dict[str, str], status: int, error: str, code: int
) -> None:
    client_id = unique_name("app")
    emulator.register_principal(client_id, "Entra-Secret-2")
    request = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": "Entra-Secret-2",
        "scope": "https://management.azure.com/.default",
        **form,
    }
    response = _token_response(emulator, **request)
    body = response.json()
    assert (response.status_code, body["error"], body["error_codes"]) == (status, error, [code])
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert "Entra-Secret-2" not in response.text and "Wrong-Secret-1" not in response.text


def test_an_expired_token_gets_arms_401(emulator: EmulatorProcess) -> None:
    client_id = unique_name("app")
    # ARM's clock 9.9 s ahead of a 10 s lifetime: the token is refused 0.1 s after it is issued.
    emulator.register_principal(client_id, "Entra-Secret-3", lifetime_seconds=10, clock_skew_seconds=9.9)
    token = emulator.issue_token(client_id, "Entra-Secret-3")
    time.sleep(0.2)
    with emulator.http(token=token) as http:
        response = http.get(_servers_path(emulator), params={"api-version": API_VERSION})
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "ExpiredAuthenticationToken"
    assert re.fullmatch(
        r"The access token expiry UTC time '\d+/\d+/\d{4} \d+:\d\d:\d\d [AP]M' is earlier than current UTC "
        r"time '\d+/\d+/\d{4} \d+:\d\d:\d\d [AP]M'\.",
        error["message"],
    ), error["message"]
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith(f'Bearer authorization_uri="{emulator.url}/"')
    assert 'error="invalid_token"' in challenge


def test_issued_tokens_are_for_arm_only_and_forgeries_fail(emulator: EmulatorProcess) -> None:
    client_id = unique_name("app")
    emulator.register_principal(client_id, "Entra-Secret-4")
    token = emulator.issue_token(client_id, "Entra-Secret-4")
    with emulator.http(token=token) as http:
        assert http.get("/_emulator/counters").status_code == 401  # test controls: static token only
        forged = http.get(
            _servers_path(emulator),
            params={"api-version": API_VERSION},
            headers={"Authorization": f"Bearer {token[:-4]}AAAA"},
        )
    assert forged.status_code == 401
    assert forged.json()["error"]["code"] == "InvalidAuthenticationToken"
    emulator.control("DELETE", f"principals/{client_id}")
    with emulator.http(token=token) as http:
        assert http.get(_servers_path(emulator), params={"api-version": API_VERSION}).status_code == 401


def test_a_reader_gets_403_for_every_write(emulator: EmulatorProcess, resource_group: str) -> None:
    client_id = unique_name("reader")
    object_id = emulator.register_principal(client_id, "Entra-Secret-5", role="reader")["object_id"]
    agent = emulator.arm_path(resource_group, "servers", "srv", "jobAgents", "agent")
    writes = [
        ("PUT", agent, "Microsoft.Sql/servers/jobAgents/write", agent),
        ("DELETE", f"{agent}/jobs/j", "Microsoft.Sql/servers/jobAgents/jobs/delete", f"{agent}/jobs/j"),
        (
            "POST",
            f"{agent}/jobs/j/start",
            "Microsoft.Sql/servers/jobAgents/jobs/start/action",
            f"{agent}/jobs/j",
        ),
    ]
    token = emulator.issue_token(client_id, "Entra-Secret-5")
    with emulator.http(token=token) as http:
        assert http.get(_servers_path(emulator), params={"api-version": API_VERSION}).status_code == 200
        for method, path, action, scope in writes:
            response = http.request(method, path, params={"api-version": API_VERSION}, json={})
            assert response.status_code == 403, (method, path)
            assert response.json()["error"] == {
                "code": "AuthorizationFailed",
                "message": f"The client '{object_id}' with object id '{object_id}' does not have "
                f"authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. "
                "If access was recently granted, please refresh your credentials.",
            }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "secret"),
        ({"secret": "s", "role": "owner"}, "role"),
        ({"secret": "s", "lifetime_seconds": 0}, "lifetime"),
    ],
)
def test_principal_registration_errors_name_the_field(
    emulator: EmulatorProcess, body: dict[str, object], field: str
) -> None:
    with emulator.http() as http:
        response = http.put("/_emulator/principals/app-x", json=body)
    assert response.status_code == 400
    assert f"'{field}" in response.json()["error"]["message"]


def test_principals_file_registers_and_tokens_survive_a_restart(tmp_path) -> None:
    """``--principals-file`` registers principals at start; after kill -9 and restart the principal
    is still there and a token issued before the crash still works until its expiry."""
    principals_file = tmp_path / "principals.json"
    principals_file.write_text(
        json.dumps(
            [{"client_id": "file-app", "secret": "File-Secret-7", "role": "reader", "lifetime_seconds": 600}]
        )
    )
    with EmulatorProcess(
        tmp_path / "state", extra_args=["--principals-file", str(principals_file)]
    ) as emulator:
        assert emulator.principals()["file-app"]["role"] == "reader"
        token = emulator.issue_token("file-app", "File-Secret-7")
        emulator.restart(kill=True)
        with emulator.http(token=token) as http:
            assert http.get(_servers_path(emulator), params={"api-version": API_VERSION}).status_code == 200
        assert "File-Secret-7" not in emulator.log_text()


def test_a_bad_principals_file_stops_the_start_with_the_field(tmp_path) -> None:
    principals_file = tmp_path / "principals.json"
    principals_file.write_text(json.dumps([{"client_id": "app", "secret": "File-Secret-8", "role": "owner"}]))
    emulator = EmulatorProcess(tmp_path / "state", extra_args=["--principals-file", str(principals_file)])
    with pytest.raises(RuntimeError, match="emulator exited with 2"):
        emulator.start()
    log = emulator.log_text()
    assert "--principals-file" in log and "entry 0: 'owner' is not one of contributor, reader" in log
    assert "File-Secret-8" not in log


def test_the_default_token_on_a_non_loopback_address_is_warned_about(tmp_path) -> None:
    exposed = EmulatorProcess(tmp_path / "exposed", token="emulator-token", extra_args=["--host", "0.0.0.0"])
    exposed.start()
    try:
        assert "Warning: listening on 0.0.0.0 with the default token" in exposed.log_text()
    finally:
        exposed.stop()
    loopback = EmulatorProcess(tmp_path / "loopback", token="emulator-token")
    loopback.start()
    try:
        assert "Warning" not in loopback.log_text()
    finally:
        loopback.stop()
