"""Static bearer-token credentials (sync and async) for talking to the emulator in tests."""

from __future__ import annotations

import time
from typing import Any

from azure.core.credentials import AccessToken, AccessTokenInfo

_LIFETIME_SECONDS = 3600


class StaticTokenCredential:
    """A ``TokenCredential`` that always returns the same token (the emulator's ``--token``)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """Return the static token, valid for an hour from now."""
        return AccessToken(self._token, int(time.time()) + _LIFETIME_SECONDS)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        """Return the static token as ``AccessTokenInfo`` (newer azure-core protocol)."""
        return AccessTokenInfo(self._token, int(time.time()) + _LIFETIME_SECONDS)

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> StaticTokenCredential:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncStaticTokenCredential:
    """Async twin of :class:`StaticTokenCredential` for ``azure.mgmt.sql.aio`` clients."""

    def __init__(self, token: str) -> None:
        self._sync = StaticTokenCredential(token)

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """Return the static token."""
        return self._sync.get_token(*scopes)

    async def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        """Return the static token as ``AccessTokenInfo``."""
        return self._sync.get_token_info(*scopes)

    async def close(self) -> None:
        """Nothing to release."""

    async def __aenter__(self) -> AsyncStaticTokenCredential:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
