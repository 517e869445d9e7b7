"""Service principals of the emulator's Entra ID authority and the access tokens issued to them.

A principal is registered by a test control (``PUT /_emulator/principals/{client_id}``) or the
``--principals-file`` option: client id, client secret, role and token lifetime. The secret is kept
only as a :class:`~elasticjobs_emulator.passwords.PasswordHasher` digest (in the store's
secrets); the rest in the store's metadata, so principals survive a restart.

Access tokens are opaque to clients but self-contained: ``ej1.<payload>.<signature>``, an
HMAC-SHA256 over the base64url JSON payload (client id, tenant, issue and expiry time, a random id)
with a key kept in the store's metadata. Nothing about issued tokens is stored, so tokens stay valid
across an emulator restart exactly until their expiry, like Entra ID tokens do; only the
``tokens issued`` counters are in memory.

``clock_skew_seconds`` makes ARM's clock run ahead of the client's for one principal: its tokens are
refused that many seconds before the expiry the client was told (``expires_in``), which is how a
client that presents an expired token (clock skew, a token cached across a long pause) is tested.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from elasticjobs_emulator.passwords import PasswordHasher
from elasticjobs_emulator.store import Store

ROLES = ("contributor", "reader")
DEFAULT_ROLE = "contributor"
DEFAULT_LIFETIME_SECONDS = 3600
MAX_LIFETIME_SECONDS = 86400
_TOKEN_PREFIX = "ej1"
_KEY_META = "entra_token_key"
_PRINCIPALS_META = "entra_principals"
_SECRET_PREFIX = "entra/principals/"
_OBJECT_ID_NAMESPACE = uuid.UUID("5d1c3a4e-8f0b-4b51-9a62-0e7c2f1d9b30")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_REGISTRATION_FIELDS = frozenset({"client_id", "secret", "role", "lifetime_seconds", "clock_skew_seconds"})


class PrincipalError(ValueError):
    """A principal registration with an invalid field (message names the field and the fix)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Principal:
    """One registered service principal (never holds its secret)."""

    client_id: str
    role: str = DEFAULT_ROLE
    lifetime_seconds: int = DEFAULT_LIFETIME_SECONDS
    clock_skew_seconds: float = 0.0
    #: Changes when the client id is registered anew after a removal, so older tokens stay dead.
    generation: str = field(default="", repr=False)

    @property
    def object_id(self) -> str:
        """The principal's object id, derived from its client id (stable across restarts)."""
        return str(uuid.uuid5(_OBJECT_ID_NAMESPACE, self.client_id))

    @property
    def can_write(self) -> bool:
        """Whether ARM lets this principal PUT/PATCH/DELETE/POST (``contributor``) or only GET."""
        return self.role == "contributor"

    def describe(self) -> dict[str, Any]:
        """JSON form (no secret) with the object id."""
        fields = {k: v for k, v in asdict(self).items() if k != "generation"}
        return {**fields, "object_id": self.object_id}

    @classmethod
    def parse(cls, client_id: str, body: dict[str, Any]) -> tuple[Principal, str]:
        """Validate a registration ``{"secret", "role", "lifetime_seconds", "clock_skew_seconds"}``.

        :returns: the principal and its secret.
        :raises PrincipalError: naming the invalid field and the fix.
        """
        unknown = sorted(set(body) - _REGISTRATION_FIELDS)
        if unknown:
            raise PrincipalError(
                unknown[0], f"unknown field(s) {unknown}; use only {sorted(_REGISTRATION_FIELDS)}."
            )
        if not _CLIENT_ID.match(client_id):
            raise PrincipalError(
                "client_id", "use letters, digits, '.', '_' or '-' (a GUID in Azure), at most 128 characters."
            )
        secret = body.get("secret")
        if not isinstance(secret, str) or not secret:
            raise PrincipalError("secret", "give the client secret as a non-empty string.")
        role = body.get("role", DEFAULT_ROLE)
        if role not in ROLES:
            raise PrincipalError("role", f"{role!r} is not one of {', '.join(ROLES)}.")
        lifetime = body.get("lifetime_seconds", DEFAULT_LIFETIME_SECONDS)
        if (
            isinstance(lifetime, bool)
            or not isinstance(lifetime, int)
            or not 1 <= lifetime <= MAX_LIFETIME_SECONDS
        ):
            raise PrincipalError("lifetime_seconds", f"give whole seconds from 1 to {MAX_LIFETIME_SECONDS}.")
        skew = body.get("clock_skew_seconds", 0)
        if isinstance(skew, bool) or not isinstance(skew, int | float) or not 0 <= skew < lifetime:
            raise PrincipalError("clock_skew_seconds", "give seconds >= 0 and below lifetime_seconds.")
        return cls(client_id.lower(), role, lifetime, float(skew)), secret


def load_principals_file(path: Path) -> list[tuple[Principal, str]]:
    """Principals and secrets from a JSON file: a list of registrations, each with a ``client_id``.

    :raises PrincipalError: naming the file, the entry and the field to fix.
    """
    try:
        entries = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise PrincipalError("principals_file", f"{path}: cannot read a JSON list ({error}).") from None
    if not isinstance(entries, list):
        raise PrincipalError("principals_file", f"{path}: give a JSON list of principal registrations.")
    loaded = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("client_id"), str):
            raise PrincipalError(f"[{index}].client_id", f"{path}: each entry needs a string 'client_id'.")
        try:
            loaded.append(Principal.parse(entry["client_id"], entry))
        except PrincipalError as error:
            raise PrincipalError(f"[{index}].{error.field}", f"{path} entry {index}: {error}") from None
    return loaded


@dataclass(frozen=True)
class VerifiedToken:
    """A token this authority issued and signed: whose it is and when it expires (epoch seconds)."""

    principal: Principal
    expires_on: float

    def expired_at(self, now: float) -> float | None:
        """ARM's current time when the token counts as expired at client time ``now``, else ``None``."""
        arm_now = now + self.principal.clock_skew_seconds
        return arm_now if arm_now >= self.expires_on else None


class Principals:
    """The registry of service principals and the token signer of one emulator (thread-safe)."""

    def __init__(self, store: Store, hasher: PasswordHasher) -> None:
        self._store = store
        self._hasher = hasher
        key_hex = store.get_meta(_KEY_META)
        if key_hex is None:
            key_hex = secrets.token_hex(32)
            store.set_meta(_KEY_META, key_hex)
        self._key = bytes.fromhex(key_hex)
        self._lock = threading.Lock()
        raw = json.loads(store.get_meta(_PRINCIPALS_META) or "{}")
        self._principals = {client_id: Principal(**fields) for client_id, fields in raw.items()}
        self.tokens_issued: Counter[str] = Counter()

    def register(self, principal: Principal, secret: str) -> None:
        """Add or replace a principal; only the digest of ``secret`` is kept.

        Replacing keeps the principal's tokens valid (as a role change in Azure does: ARM checks the
        role on every request); registering a client id anew after :meth:`remove` does not revive
        the tokens issued before the removal.
        """
        self._store.set_secret(_SECRET_PREFIX + principal.client_id, self._hasher.digest(secret))
        with self._lock:
            existing = self._principals.get(principal.client_id)
            generation = existing.generation if existing else secrets.token_hex(8)
            self._principals[principal.client_id] = replace(principal, generation=generation)
            self._save()

    def remove(self, client_id: str) -> bool:
        """Forget a principal (its tokens stop working at once); ``False`` if it did not exist."""
        with self._lock:
            removed = self._principals.pop(client_id.lower(), None) is not None
            self._save()
        return removed

    def _save(self) -> None:
        doc = {client_id: asdict(p) for client_id, p in self._principals.items()}
        self._store.set_meta(_PRINCIPALS_META, json.dumps(doc))

    def get(self, client_id: str) -> Principal | None:
        """The principal with this client id (case-insensitive), or ``None``."""
        with self._lock:
            return self._principals.get(client_id.lower())

    def all(self) -> list[Principal]:
        """Every registered principal."""
        with self._lock:
            return list(self._principals.values())

    def secret_matches(self, principal: Principal, secret: str) -> bool:
        """Whether ``secret`` is the principal's client secret (digests compared in constant time)."""
        stored = self._store.get_secret(_SECRET_PREFIX + principal.client_id)
        return self._hasher.matches(self._hasher.digest(secret), stored)

    def issue(self, principal: Principal, tenant: str) -> str:
        """A new access token for ``principal``, valid for its ``lifetime_seconds`` from now."""
        now = time.time()
        payload = {
            "sub": principal.client_id,
            "gen": principal.generation,
            "tid": tenant,
            "iat": now,
            "exp": now + principal.lifetime_seconds,
            "jti": secrets.token_hex(8),
        }
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        with self._lock:
            self.tokens_issued[principal.client_id] += 1
        return f"{_TOKEN_PREFIX}.{body}.{self._sign(body)}"

    def verify(self, token: str) -> VerifiedToken | None:
        """The token's principal and expiry when this authority signed it and the principal still
        exists; ``None`` for anything else (a forged, malformed or foreign token)."""
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != _TOKEN_PREFIX:
            return None
        # Bytes, not str: compare_digest refuses non-ASCII str (a hostile header would be a 500).
        if not hmac.compare_digest(parts[2].encode("latin-1"), self._sign(parts[1]).encode("ascii")):
            return None
        try:
            payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
            principal = self.get(str(payload["sub"]))
            expires_on = float(payload["exp"])
        except (ValueError, KeyError, TypeError):
            return None
        if principal is None or payload.get("gen", "") != principal.generation:
            return None
        return VerifiedToken(principal, expires_on)

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
