"""The static bearer token credential (sync and async) for the local emulator's ``--token``.

Implements azure-core's ``TokenCredential`` / ``AsyncTokenCredential`` protocols (``get_token`` and
``get_token_info``); ``azure.core`` is imported only when a token is asked for. The token never
appears in ``repr``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken, AccessTokenInfo


class StaticTokenCredential:
    """A ``TokenCredential`` that always returns one fixed bearer token (for the emulator)."""

    _LIFETIME_SECONDS = 3600

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "StaticTokenCredential(token=***)"

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """Return the token, valid for the next hour."""
        import time

        from azure.core.credentials import AccessToken

        return AccessToken(self._token, int(time.time()) + self._LIFETIME_SECONDS)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        """Return the token as ``AccessTokenInfo`` (the newer azure-core protocol)."""
        from azure.core.credentials import AccessTokenInfo

        token = self.get_token(*scopes)
        return AccessTokenInfo(token.token, token.expires_on)

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> StaticTokenCredential:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()


class AsyncStaticTokenCredential:
    """The async twin of :class:`StaticTokenCredential` (an ``AsyncTokenCredential``)."""

    def __init__(self, token: str) -> None:
        self._sync = StaticTokenCredential(token)

    def __repr__(self) -> str:
        return "AsyncStaticTokenCredential(token=***)"

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """Return the token, valid for the next hour."""
        return self._sync.get_token(*scopes)

    async def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        """Return the token as ``AccessTokenInfo``."""
        return self._sync.get_token_info(*scopes)

    async def close(self) -> None:
        """Nothing to release."""

    async def __aenter__(self) -> AsyncStaticTokenCredential:
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.close()
