"""An async token credential whose tokens expire quickly, for the token-refresh chaos test.

It behaves like an ``azure.identity`` credential: it caches the token it minted until that token
expires (``expires_on`` is ``lifetime`` seconds after minting), then mints a new one, and records when
it minted each. azure-core's bearer policy asks the credential again once its cached token expired.

The first token it mints is ``refused_token`` (one the emulator does not accept: ARM answers 401
``InvalidAuthenticationToken`` exactly as for an expired token); every later one is the emulator's.
"""

from __future__ import annotations

import time
from typing import Any

from azure.core.credentials import AccessToken, AccessTokenInfo


class ShortLivedTokenCredential:
    """Mints tokens valid for ``lifetime`` seconds (whole seconds: ``expires_on`` is an int)."""

    def __init__(self, token: str, refused_token: str, lifetime: float) -> None:
        self._tokens = [refused_token]
        self._token = token
        self._lifetime = lifetime
        self._current: AccessTokenInfo | None = None
        self.minted: list[float] = []

    def _valid(self) -> AccessTokenInfo:
        now = time.time()
        if self._current is None or self._current.expires_on <= now:
            value = self._tokens.pop(0) if self._tokens else self._token
            self._current = AccessTokenInfo(value, int(now + self._lifetime))
            self.minted.append(now)
        return self._current

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """The cached token, or a new one when it is about to expire."""
        info = self._valid()
        return AccessToken(info.token, info.expires_on)

    async def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        """As :meth:`get_token` (the newer azure-core protocol)."""
        return self._valid()

    async def close(self) -> None:
        """Shared by every client of the test; nothing to release."""

    async def __aenter__(self) -> ShortLivedTokenCredential:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
