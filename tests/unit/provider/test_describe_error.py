"""describe_error tells an outage from a TLS failure, whichever HTTP stack raised it."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ServiceRequestError

from airflow_elasticjobs.hooks.errors import describe_error

REFUSED_AIOHTTP = (
    "Cannot connect to host 127.0.0.1:8443 ssl:<ssl.SSLContext object at 0x7f> "
    "[Connect call failed ('127.0.0.1', 8443)]"
)
REFUSED_REQUESTS = (
    "HTTPSConnectionPool(host='127.0.0.1', port=8443): Max retries exceeded (Connection refused)"
)
BAD_CERT = "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate"


@pytest.mark.parametrize("text", [REFUSED_AIOHTTP, REFUSED_REQUESTS])
def test_a_refused_connection_is_an_unreachable_endpoint(text: str) -> None:
    message = describe_error(ServiceRequestError(text))
    assert message.startswith("Endpoint unreachable")
    assert "'endpoint'" in message


def test_a_certificate_failure_names_the_verify_field() -> None:
    message = describe_error(ServiceRequestError(BAD_CERT))
    assert message.startswith("TLS verification failed")
    assert "'verify'" in message


def test_authentication_failure_names_the_entra_code_and_its_meaning():
    from azure.core.exceptions import ClientAuthenticationError

    err = ClientAuthenticationError(
        "ClientSecretCredential.get_token failed: AADSTS7000215: Invalid client secret provided. "
        "Ensure the secret being sent in the request is the client secret value."
    )
    message = describe_error(err)
    assert "Entra ID AADSTS7000215: invalid client secret" in message
    assert "check the connection's client id" in message
    assert "Entra ID" not in describe_error(ClientAuthenticationError("token refused"))


def test_no_identity_is_named_but_stays_transient(monkeypatch):
    """A real DefaultAzureCredential with no source configured: the hint, and waits keep retrying
    (an unreachable managed-identity endpoint ends in the same error)."""
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import DefaultAzureCredential

    from airflow_elasticjobs.waiting import is_transient

    for name in ("CLIENT_ID", "TENANT_ID", "CLIENT_SECRET", "CLIENT_CERTIFICATE_PATH", "USERNAME"):
        monkeypatch.delenv(f"AZURE_{name}", raising=False)
    excluded = {
        f"exclude_{source}_credential": True
        for source in (
            "managed_identity",
            "workload_identity",
            "shared_token_cache",
            "cli",
            "powershell",
            "developer_cli",
            "visual_studio_code",
        )
    }
    with pytest.raises(ClientAuthenticationError) as failed:
        DefaultAzureCredential(**excluded).get_token("https://management.azure.com/.default")
    message = describe_error(failed.value)
    assert message.startswith("No Azure identity gave a token") and "managed_identity_client_id" in message
    assert is_transient(failed.value)


def test_forbidden_names_a_role_that_can_manage_job_agents():
    from azure.core.exceptions import HttpResponseError

    forbidden = HttpResponseError(message="AuthorizationFailed: no write")
    forbidden.status_code = 403
    assert "SQL Server Contributor" in describe_error(forbidden)
