"""API keys backed by ingest's tables: the resolver every call goes through, and issuing keys."""

from __future__ import annotations

import uuid

import asyncpg

from common.auth import issue_key, parse_key, secret_matches
from ingest import repository as repo


class DatabaseKeyResolver:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def resolve(self, plaintext_key: str) -> str | None:
        parsed = parse_key(plaintext_key)
        if parsed is None:
            return None
        key_id, secret = parsed
        async with self._pool.acquire() as conn:
            row = await repo.find_key(conn, key_id)
        if row is None or not secret_matches(secret, row["secret_hash"]):
            return None
        return str(row["subscription_id"])


async def create_subscription(conn: asyncpg.Connection, name: str) -> tuple[uuid.UUID, str]:
    """A new subscription and its first key; the key's clear text is returned only here."""
    subscription_id = uuid.uuid4()
    key = issue_key()
    async with conn.transaction():
        await repo.insert_subscription(conn, subscription_id, name)
        await repo.insert_key(conn, key.key_id, subscription_id, key.secret_hash)
    return subscription_id, key.plaintext


async def add_key(conn: asyncpg.Connection, subscription_id: uuid.UUID) -> str:
    key = issue_key()
    await repo.insert_key(conn, key.key_id, subscription_id, key.secret_hash)
    return key.plaintext
