"""Identity across services: checking a key in a service that does not own keys, and
calling another service as the current caller (their key) or for a job's subscription.

`RemoteKeyResolver` asks ingest's IdentityService; a resolved key is cached briefly (by its
hash, never in clear) so a busy endpoint does not call ingest on every request, and a
revoked key stops working within `ttl_seconds`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc
from google.protobuf.message import Message

from attune.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from common.auth import API_KEY_HEADER, INTERNAL_TOKEN_HEADER, ON_BEHALF_OF_HEADER, caller_key
from common.errors import Unavailable, from_rpc_error
from common.logs import CORRELATION_HEADER, correlation_id

R = TypeVar("R")
# Calls between services are quick lookups; a caller's deadline is usually longer.
CALL_TIMEOUT_S = 10


class RemoteKeyResolver:
    def __init__(self, channel: grpc.aio.Channel, *, ttl_seconds: float = 30.0, max_entries: int = 10_000) -> None:
        self._stub = ingest_pb2_grpc.IdentityServiceStub(channel)
        self._ttl = ttl_seconds
        self._max_entries = max_entries
        self._cache: dict[str, tuple[float, str | None]] = {}

    async def resolve(self, plaintext_key: str) -> str | None:
        digest = hashlib.sha256(plaintext_key.encode()).hexdigest()
        cached = self._cache.get(digest)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            identity = await self._stub.WhoAmI(
                ingest_pb2.WhoAmIRequest(), metadata=((API_KEY_HEADER, plaintext_key),), timeout=5
            )
            subscription: str | None = identity.subscription_id
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.UNAUTHENTICATED:
                raise Unavailable(f"cannot check the API key: ingest answered {exc.code().name}") from None
            subscription = None
        if len(self._cache) >= self._max_entries:
            self._cache.clear()
        self._cache[digest] = (now + self._ttl, subscription)
        return subscription


def on_behalf_of_caller() -> tuple[tuple[str, str], ...]:
    """Metadata for a call to another service made for the current caller: their key, so
    the other service applies the same subscription's rights, and the correlation id."""
    return ((API_KEY_HEADER, caller_key()), (CORRELATION_HEADER, correlation_id()))


def acting_for(subscription_id: str, internal_token: str) -> tuple[tuple[str, str], ...]:
    """Metadata for a call a job makes for the subscription that owns it (no user present)."""
    return (
        (INTERNAL_TOKEN_HEADER, internal_token),
        (ON_BEHALF_OF_HEADER, subscription_id),
        (CORRELATION_HEADER, correlation_id()),
    )


async def ask_for_caller(method: Callable[..., Awaitable[R]], request: Message, *, service: str) -> R:
    """Calls another service's unary method for the current caller; its answer about the
    request passes on as our own error (`from_rpc_error`), anything else is UNAVAILABLE."""
    try:
        return await method(request, metadata=on_behalf_of_caller(), timeout=CALL_TIMEOUT_S)
    except grpc.aio.AioRpcError as exc:
        raise from_rpc_error(exc, service) from None
