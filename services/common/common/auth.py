"""API keys: issued once in clear, stored only as a hash, resolved to a subscription per call.

A key reads `atn_<key id>_<secret>`. The key id finds the row; the secret's SHA-256 is
compared in constant time. Secrets are 256 random bits, so a fast hash is enough (as for
other bearer tokens); no clear key is ever stored or logged.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Protocol

from common.errors import Unauthenticated

API_KEY_HEADER = "x-api-key"
_KEY = re.compile(r"^atn_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    secret_hash: str
    # Shown to the operator once; never stored.
    plaintext: str


def issue_key() -> IssuedKey:
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return IssuedKey(key_id, hash_secret(secret), f"atn_{key_id}_{secret}")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_key(plaintext: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    match = _KEY.match(plaintext.strip())
    return (match.group(1), match.group(2)) if match else None


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


class KeyResolver(Protocol):
    async def resolve(self, plaintext_key: str) -> str | None:
        """The subscription id the key belongs to, or None for an unknown or revoked key."""


def key_from_metadata(metadata: dict[str, str]) -> str | None:
    if key := metadata.get(API_KEY_HEADER):
        return key
    authorization = metadata.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value else None


@dataclass(frozen=True)
class Caller:
    subscription_id: str
    # Kept for the call's lifetime only, to act for the caller towards other services.
    key: str


_caller: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("caller", default=None)


def set_caller(caller: Caller | None) -> contextvars.Token[Caller | None]:
    return _caller.set(caller)


def reset_caller(token: contextvars.Token[Caller | None]) -> None:
    _caller.reset(token)


def _current() -> Caller:
    caller = _caller.get()
    if caller is None:
        raise Unauthenticated("no API key was presented")
    return caller


def subscription_id() -> str:
    """The calling key's subscription; every authenticated call has one."""
    return _current().subscription_id


def caller_key() -> str:
    """The calling key, to forward when this service calls another on the caller's behalf."""
    return _current().key
