"""Password digests: the emulator never stores a password as text.

Credential passwords (ARM ``credentials``) and SQL login passwords (``CREATE LOGIN … WITH
PASSWORD``) are both kept as a keyed PBKDF2 digest. The key is random per state directory and kept
in the store's metadata, so two digests of the same password are equal within one emulator (that
is how the engine checks that a job credential can log in to a target) and useless outside it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from elasticjobs_emulator.store import Store

_META_KEY = "password_digest_key"
_ITERATIONS = 20_000


class PasswordHasher:
    """Makes and compares keyed password digests."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def for_store(cls, store: Store) -> PasswordHasher:
        """Return the hasher whose key is persisted in ``store`` (created on first use)."""
        key_hex = store.get_meta(_META_KEY)
        if key_hex is None:
            key_hex = secrets.token_hex(32)
            store.set_meta(_META_KEY, key_hex)
        return cls(bytes.fromhex(key_hex))

    def digest(self, password: str) -> str:
        """Return the digest of a password (hex)."""
        return hashlib.pbkdf2_hmac("sha256", password.encode(), self._key, _ITERATIONS).hex()

    @staticmethod
    def matches(digest_a: str | None, digest_b: str | None) -> bool:
        """Constant-time comparison of two digests; False if either is missing."""
        if not digest_a or not digest_b:
            return False
        return hmac.compare_digest(digest_a, digest_b)
