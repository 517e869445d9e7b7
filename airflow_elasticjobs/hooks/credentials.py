"""Credentials for ``azure_elastic_jobs`` connections: the one place the authentication method is chosen.

The order of precedence is described in :mod:`airflow_elasticjobs.hooks.connection`; the sync hook and
the async hook (triggers) both build their credential here. Nothing in this module imports
``azure.*`` at import time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_elasticjobs.hooks.connection import DEFAULT_CLOUD, ElasticJobsConnectionSettings
from airflow_elasticjobs.hooks.static_token import AsyncStaticTokenCredential, StaticTokenCredential

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.core.credentials_async import AsyncTokenCredential


def build_sync_credential(settings: ElasticJobsConnectionSettings) -> TokenCredential:
    """Build the sync credential the settings select (order: :mod:`airflow_elasticjobs.hooks.connection`)."""
    return _build_credential(settings, aio=False)


def build_async_credential(settings: ElasticJobsConnectionSettings) -> AsyncTokenCredential:
    """Build the async credential the settings select; the caller closes it (``async with``)."""
    return _build_credential(settings, aio=True)


def _build_credential(settings: ElasticJobsConnectionSettings, *, aio: bool) -> Any:
    """The one place the authentication method is chosen; ``aio`` picks the async flavour of each.

    ``azure.identity`` and ``azure.identity.aio`` (and the Azure provider's sync/async helpers) take
    the same arguments, so only the module differs.
    """
    if settings.static_token:
        return (AsyncStaticTokenCredential if aio else StaticTokenCredential)(settings.static_token)
    from importlib import import_module

    identity = import_module("azure.identity.aio" if aio else "azure.identity")
    authority = _authority_kwargs(settings)
    if settings.client_id and settings.client_secret:
        return identity.ClientSecretCredential(
            settings.tenant_id, settings.client_id, settings.client_secret, **authority
        )
    if settings.client_id and settings.certificate_path:
        return identity.CertificateCredential(
            settings.tenant_id,
            settings.client_id,
            settings.certificate_path,
            password=settings.certificate_password,
            **authority,
        )
    if settings.cloud.name != DEFAULT_CLOUD or settings.custom_authority:
        return identity.DefaultAzureCredential(authority=settings.authority, **_identity_kwargs(settings))
    from airflow.providers.microsoft.azure import utils

    default_credential = (
        utils.get_async_default_azure_credential if aio else utils.get_sync_default_azure_credential
    )
    return default_credential(
        managed_identity_client_id=settings.managed_identity_client_id,
        workload_identity_tenant_id=settings.workload_identity_tenant_id,
    )


def _authority_kwargs(settings: ElasticJobsConnectionSettings) -> dict[str, Any]:
    """``azure.identity`` arguments selecting the Entra ID authority (sync and aio take the same).

    For an authority that is no known cloud's, MSAL's instance discovery (a request to
    login.microsoftonline.com to validate the host) is disabled, and TLS verification of the token
    requests follows the ``verify`` extra (``connection_verify`` reaches the credential's azure-core
    transport, requests or aiohttp).
    """
    if not settings.custom_authority:
        return {"authority": settings.authority}
    return {
        "authority": settings.authority,
        "disable_instance_discovery": True,
        "connection_verify": settings.verify,
    }


def _identity_kwargs(settings: ElasticJobsConnectionSettings) -> dict[str, Any]:
    """``DefaultAzureCredential`` identity arguments for clouds the Azure provider helper can't target."""
    kwargs: dict[str, Any] = {}
    if settings.managed_identity_client_id:
        kwargs["managed_identity_client_id"] = settings.managed_identity_client_id
    if settings.workload_identity_tenant_id:
        kwargs["workload_identity_tenant_id"] = settings.workload_identity_tenant_id
        kwargs["additionally_allowed_tenants"] = [settings.workload_identity_tenant_id]
    return kwargs
