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
import uuid
from dataclasses import dataclass
from typing import Protocol

from common.errors import Unauthenticated

API_KEY_HEADER = "x-api-key"
# Service identity: a job that runs without a user (an evaluation, a transcription) acts for
# the subscription that owns it by presenting the installation's internal token and naming
# that subscription. Only services hold the token; the REST gateway never forwards these.
INTERNAL_TOKEN_HEADER = "x-attune-internal-token"
ON_BEHALF_OF_HEADER = "x-attune-on-behalf-of"
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
    # Kept for the call's lifetime only, to act for the caller towards other services;
    # None when a service called with the internal token.
    key: str | None


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
    key = _current().key
    if key is None:
        raise Unauthenticated("this call came from a service, not from a key holder")
    return key


def internal_caller(metadata: dict[str, str], internal_token: str | None) -> Caller | None:
    """The subscription a service acts for, when the call carries the internal token; None
    when it does not (then the API key decides). A wrong token is refused outright."""
    presented = metadata.get(INTERNAL_TOKEN_HEADER)
    if presented is None:
        return None
    if not internal_token or not hmac.compare_digest(presented.encode(), internal_token.encode()):
        raise Unauthenticated("invalid internal token")
    subscription = metadata.get(ON_BEHALF_OF_HEADER, "")
    try:
        return Caller(str(uuid.UUID(subscription)), None)
    except ValueError:
        raise Unauthenticated(f"{ON_BEHALF_OF_HEADER} must name a subscription id") from None
