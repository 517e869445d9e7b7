"""Connection settings for ``azure_elastic_jobs`` connections, parsed and validated once.

Both the sync hook and the async hook (for triggers) use this module, so the way a connection is
read, which authentication method it selects, and how the SDK retries transient faults are defined
exactly once.

Authentication methods, in order of precedence:

1. ``token`` extra: a static bearer token (the local emulator). Never sent to Azure unless the endpoint
   is set explicitly.
2. login (client id) + password (client secret) + ``tenant_id``: service principal with a secret.
3. login (client id) + ``certificate_path`` (+ optional ``certificate_password``) + ``tenant_id``:
   service principal with a certificate.
4. Otherwise ``DefaultAzureCredential`` through the Azure provider's helpers
   (``airflow.providers.microsoft.azure.utils``): environment, workload identity, managed identity
   (user-assigned with ``managed_identity_client_id``), Azure CLI, …

Service principals get their tokens from the cloud's Entra ID authority, or from the ``authority``
extra (an https URL or host, e.g. the local emulator's ``https://127.0.0.1:8443``). For an authority
that is not a known cloud's, instance discovery (a call to login.microsoftonline.com) is disabled
and the token requests verify TLS like the ARM calls (the ``verify`` extra).

The credentials themselves are built in :mod:`airflow_elasticjobs.hooks.credentials`. Nothing here
imports ``azure.*``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlparse

CONN_TYPE = "azure_elastic_jobs"
DEFAULT_CONN_ID = "azure_elastic_jobs_default"


@dataclass(frozen=True)
class AzureCloud:
    """ARM endpoint, token scope and Entra ID authority of one Azure cloud."""

    name: str
    endpoint: str
    credential_scope: str
    authority: str


# Source: azure.mgmt.core.tools.get_arm_endpoints and azure.identity.AzureAuthorityHosts.
CLOUDS: dict[str, AzureCloud] = {
    cloud.name: cloud
    for cloud in (
        AzureCloud(
            "AzurePublicCloud",
            "https://management.azure.com",
            "https://management.azure.com/.default",
            "login.microsoftonline.com",
        ),
        AzureCloud(
            "AzureChinaCloud",
            "https://management.chinacloudapi.cn",
            "https://management.chinacloudapi.cn/.default",
            "login.chinacloudapi.cn",
        ),
        AzureCloud(
            "AzureUSGovernment",
            "https://management.usgovcloudapi.net",
            "https://management.core.usgovcloudapi.net/.default",
            "login.microsoftonline.us",
        ),
    )
}
DEFAULT_CLOUD = "AzurePublicCloud"
#: Entra ID authority hosts of the known clouds (anything else is a custom authority, e.g. the emulator).
CLOUD_AUTHORITIES = frozenset(cloud.authority for cloud in CLOUDS.values())


@dataclass(frozen=True)
class RetrySettings:
    """The one transient-fault policy of every ARM call (azure-core ``RetryPolicy`` keyword arguments).

    azure-core retries 408, 429, 500, 502, 503 and 504 answers and connection/read errors with
    exponential backoff (``backoff_factor * 2 ** (n - 1)`` seconds, capped at ``backoff_max``) and
    honours ``Retry-After`` on 429/503. Defaults allow about two minutes of outage; connections may
    lower them (extras ``retry_total``, ``retry_backoff_factor``, ``retry_backoff_max``), e.g. in tests.
    """

    total: int = 10
    backoff_factor: float = 0.8
    backoff_max: float = 60.0

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for an azure-core client that configure its ``RetryPolicy``."""
        return {
            "retry_total": self.total,
            "retry_connect": self.total,
            "retry_read": self.total,
            "retry_status": self.total,
            "retry_backoff_factor": self.backoff_factor,
            "retry_backoff_max": self.backoff_max,
        }


class ConnectionSettingsError(ValueError):
    """An ``azure_elastic_jobs`` connection is missing a field or has an invalid value."""


@dataclass(frozen=True)
class ElasticJobsConnectionSettings:
    """Everything an ``azure_elastic_jobs`` connection says, parsed and validated once.

    Secrets (client secret, certificate password, static token) are excluded from ``repr``.
    """

    conn_id: str
    subscription_id: str
    resource_group_name: str | None = None
    server_name: str | None = None
    agent_name: str | None = None
    cloud: AzureCloud = CLOUDS[DEFAULT_CLOUD]
    endpoint: str = CLOUDS[DEFAULT_CLOUD].endpoint
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    certificate_path: str | None = None
    certificate_password: str | None = field(default=None, repr=False)
    managed_identity_client_id: str | None = None
    workload_identity_tenant_id: str | None = None
    static_token: str | None = field(default=None, repr=False)
    verify: bool | str = True
    retry: RetrySettings = RetrySettings()
    authority: str = CLOUDS[DEFAULT_CLOUD].authority
    #: Where a browser reaches the endpoint's own web pages (emulator links), when not at ``endpoint``.
    browser_url: str | None = None

    @property
    def custom_authority(self) -> bool:
        """Whether ``authority`` is none of the known clouds' Entra ID authorities (e.g. the emulator)."""
        return self.authority not in CLOUD_AUTHORITIES

    @property
    def credential_scopes(self) -> list[str]:
        """OAuth scopes requested for ARM tokens (the cloud's ``/.default`` scope)."""
        return [self.cloud.credential_scope]

    @property
    def is_azure(self) -> bool:
        """Whether the endpoint is a real Azure Resource Manager endpoint (not the emulator)."""
        host = urlparse(self.endpoint).hostname or ""
        return any(host == urlparse(c.endpoint).hostname for c in CLOUDS.values())

    @property
    def auth_method(self) -> str:
        """Name of the authentication method these settings select (safe to log)."""
        if self.static_token:
            return "static bearer token"
        via = f" via {self.authority}" if self.custom_authority else ""
        if self.client_id and self.client_secret:
            return f"service principal (client secret){via}"
        if self.client_id and self.certificate_path:
            return f"service principal (certificate){via}"
        if self.managed_identity_client_id:
            return "DefaultAzureCredential (user-assigned managed identity / workload identity)"
        return "DefaultAzureCredential"

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``SqlManagementClient`` (sync or aio) besides credential/subscription."""
        return {
            "base_url": self.endpoint,
            "credential_scopes": self.credential_scopes,
            "connection_verify": self.verify,
            **self.retry.client_kwargs(),
        }

    @classmethod
    def from_connection(cls, conn: Any) -> ElasticJobsConnectionSettings:
        """Parse an Airflow ``Connection`` of type ``azure_elastic_jobs``.

        :param conn: the connection (anything with ``conn_id``, ``login``, ``password``, ``extra_dejson``).
        :raises ConnectionSettingsError: naming the connection, the field and the fix.
        """
        extras: dict[str, Any] = dict(conn.extra_dejson or {})
        conn_id = conn.conn_id

        def extra(name: str) -> Any:
            value = extras.get(name, extras.get(f"extra__{CONN_TYPE}__{name}"))
            return None if value == "" else value

        def fail(name: str, problem: str, fix: str) -> ConnectionSettingsError:
            return ConnectionSettingsError(f"Connection {conn_id!r} field {name!r}: {problem}; {fix}.")

        conn_type = getattr(conn, "conn_type", None)
        if conn_type and conn_type != CONN_TYPE:
            raise fail("conn_type", f"is {conn_type!r}", f"use a connection of type {CONN_TYPE!r}")
        subscription_id = extra("subscription_id")
        if not subscription_id:
            raise fail(
                "subscription_id", "is missing", "set the Azure subscription id in the connection extras"
            )

        cloud_name = extra("cloud") or DEFAULT_CLOUD
        if cloud_name not in CLOUDS:
            raise fail("cloud", f"unknown cloud {cloud_name!r}", f"use one of {sorted(CLOUDS)}")
        cloud = CLOUDS[cloud_name]

        endpoint = _parse_url("endpoint", extra("endpoint") or conn.host or cloud.endpoint, fail)
        browser_url = extra("browser_url")
        if browser_url is not None:
            browser_url = _parse_url("browser_url", browser_url, fail, example="https://localhost:8443")

        static_token = extra("token")
        tenant_id = extra("tenant_id")
        client_id = conn.login or None
        client_secret = conn.password or None
        certificate_path = extra("certificate_path")
        if static_token and not (extra("endpoint") or conn.host):
            # The docstring's promise: a static token never goes to Azure by default.
            raise fail(
                "token",
                "is set but 'endpoint' is not, so the token would be sent to Azure Resource Manager",
                "set 'endpoint' to the emulator's URL (e.g. https://127.0.0.1:8443) or remove 'token'",
            )
        if not static_token:
            _check_service_principal(client_id, client_secret, certificate_path, tenant_id, fail)
        if certificate_path and not os.path.isfile(certificate_path):
            raise fail("certificate_path", "file does not exist", "give the path of a PEM or PKCS12 file")

        return cls(
            conn_id=conn_id,
            subscription_id=str(subscription_id),
            resource_group_name=extra("resource_group_name"),
            server_name=extra("server_name"),
            agent_name=extra("agent_name"),
            cloud=cloud,
            endpoint=endpoint,
            tenant_id=tenant_id,
            client_id=client_id,
            client_secret=client_secret,
            certificate_path=certificate_path,
            certificate_password=extra("certificate_password"),
            managed_identity_client_id=extra("managed_identity_client_id"),
            workload_identity_tenant_id=extra("workload_identity_tenant_id"),
            static_token=static_token,
            verify=_parse_verify(extra("verify"), fail),
            retry=_parse_retry(extra, fail),
            authority=_parse_authority(extra("authority"), cloud, fail),
            browser_url=browser_url,
        )


def _check_service_principal(
    client_id: str | None,
    client_secret: str | None,
    certificate_path: str | None,
    tenant_id: str | None,
    fail: Any,
) -> None:
    """A service principal is all there (client id, a secret or certificate, tenant) or not at all."""
    if client_id and not (client_secret or certificate_path):
        raise fail(
            "password",
            "is missing: login (client id) is set without a client secret or certificate_path",
            "set one of them, or clear login to use a managed identity (managed_identity_client_id)",
        )
    if certificate_path and not client_id:
        raise fail("login", "is missing", "a certificate_path needs the service principal's client id")
    if client_id and not tenant_id:
        raise fail("tenant_id", "is missing", "a service principal (login = client id) needs its tenant id")


def _parse_url(name: str, value: Any, fail: Any, example: str = "https://management.azure.com") -> str:
    """An http(s) URL without its trailing slash; the error names the field ``name``."""
    url = str(value).rstrip("/")
    parsed = urlparse(url)
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        raise fail(name, f"{url!r} is not a URL", f"use e.g. {example}")
    return url


def _parse_authority(value: Any, cloud: AzureCloud, fail: Any) -> str:
    """The Entra ID authority: the cloud's host, or the extra as ``host[:port]`` / ``https://host[:port]``."""
    if value is None:
        return cloud.authority
    text = str(value).strip()
    parsed = urlparse(text if "://" in text else f"https://{text}")
    try:
        port = parsed.port
    except ValueError:
        port = -1
    if (
        parsed.scheme != "https"
        or not parsed.hostname
        or parsed.path.strip("/")
        or parsed.query
        or parsed.username is not None
        or parsed.password is not None
        or port == -1
    ):
        shown = text.replace(parsed.password, "***") if parsed.password else text  # never echo a secret
        raise fail(
            "authority",
            f"{shown!r} is not an https URL or host of an Entra ID authority",
            "use e.g. login.microsoftonline.com, or https://127.0.0.1:8443 for the local emulator "
            "(https only, no path, no user or password)",
        )
    netloc = parsed.netloc.lower()
    if netloc in CLOUD_AUTHORITIES:
        return netloc
    return f"https://{netloc}"


def _parse_verify(value: Any, fail: Any) -> bool | str:
    if value is None or value is True or value is False:
        return True if value is None else value
    text = str(value).strip()
    if text.lower() in ("true", "yes", "1"):
        return True
    if text.lower() in ("false", "no", "0"):
        return False
    if not os.path.isfile(text):
        raise fail("verify", f"CA bundle {text!r} does not exist", "give true, false or a PEM file path")
    return text


def _parse_retry(extra: Any, fail: Any) -> RetrySettings:
    """The retry extras (each optional) over :class:`RetrySettings`' defaults; errors name the key."""
    defaults = RetrySettings()
    values: dict[str, float] = {}
    for name, attribute, kind, noun in (
        ("retry_total", "total", int, "whole number"),
        ("retry_backoff_factor", "backoff_factor", float, "number of seconds"),
        ("retry_backoff_max", "backoff_max", float, "number of seconds"),
    ):
        value = extra(name)
        if value is None:
            continue
        try:
            number = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError):
            number = math.nan
        if not (math.isfinite(number) and number >= 0 and (kind is float or number.is_integer())):
            default = getattr(defaults, attribute)
            raise fail(name, f"{value!r} is not a {noun} >= 0", f"use e.g. {default!r} (the default)")
        values[attribute] = kind(number)
    return replace(defaults, **values)


def get_connection(field: str, conn_id: str) -> Any:
    """``BaseHook.get_connection``, failing with the field and the fix when no such connection exists.

    :param field: the operator/hook argument that named the connection, e.g. ``credential_conn_id``.
    """
    from airflow_elasticjobs.compat import AirflowNotFoundException, BaseHook
    from airflow_elasticjobs.validation import invalid

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        raise invalid(
            field,
            conn_id,
            "no Airflow connection has this id; create it (Admin > Connections, `airflow connections add` "
            "or an AIRFLOW_CONN_<ID> variable) or fix the id",
        ) from None
