"""Trainer's tables. Functions take the connection first; transactions belong to the caller."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from trainer.lifecycle import DeprecationDates

MODEL_COLUMNS = """id, kind, subscription_id, project_id, base_model_id, display_name, description, locale, engine,
    status, package_key, package_sha256, package_size_bytes, supports_adaptations_with, created_at,
    adaptation_until, transcription_until"""

INSERT_BASE_MODEL = f"""
INSERT INTO models (id, kind, display_name, description, locale, engine, status, package_key, package_sha256,
    package_size_bytes, supports_adaptations_with, created_at, adaptation_until, transcription_until)
VALUES ($1, 'Base', $2, $3, $4, $5, 'Succeeded', $6, $7, $8, $9, $10, $11, $12)
RETURNING {MODEL_COLUMNS}
"""
SELECT_BASE_MODEL = f"SELECT {MODEL_COLUMNS} FROM models WHERE id = $1 AND kind = 'Base'"
# A model the subscription may use: any base model, or its own custom model.
SELECT_VISIBLE_MODEL = f"""
SELECT {MODEL_COLUMNS} FROM models WHERE id = $1 AND (kind = 'Base' OR subscription_id = $2)
"""
LIST_BASE_MODELS = f"""
SELECT {MODEL_COLUMNS}, count(*) OVER () AS total FROM models
WHERE kind = 'Base' AND ($1::text IS NULL OR locale = $1)
ORDER BY created_at DESC, id LIMIT $2 OFFSET $3
"""
NEWEST_TRANSCRIBING_BASE_MODEL = f"""
SELECT {MODEL_COLUMNS} FROM models
WHERE kind = 'Base' AND locale = $1 AND status = 'Succeeded' AND transcription_until > $2 AND created_at <= $2
ORDER BY created_at DESC, id LIMIT 1
"""
COUNT_BASE_MODELS = "SELECT count(*) FROM models WHERE kind = 'Base'"


async def insert_base_model(
    conn: asyncpg.Connection,
    *,
    model_id: uuid.UUID,
    display_name: str,
    description: str,
    locale: str,
    engine: str,
    package_key: str,
    package_sha256: str,
    package_size_bytes: int,
    adaptations: list[str],
    imported_at: datetime,
    dates: DeprecationDates,
) -> asyncpg.Record:
    return await conn.fetchrow(
        INSERT_BASE_MODEL,
        model_id,
        display_name,
        description,
        locale,
        engine,
        package_key,
        package_sha256,
        package_size_bytes,
        adaptations,
        imported_at,
        dates.adaptation_until,
        dates.transcription_until,
    )


async def get_base_model(conn: asyncpg.Connection, model_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(SELECT_BASE_MODEL, model_id)


async def get_visible_model(
    conn: asyncpg.Connection, model_id: uuid.UUID, subscription_id: uuid.UUID
) -> asyncpg.Record | None:
    return await conn.fetchrow(SELECT_VISIBLE_MODEL, model_id, subscription_id)


async def list_base_models(
    conn: asyncpg.Connection, locale: str | None, limit: int, offset: int
) -> list[asyncpg.Record]:
    return await conn.fetch(LIST_BASE_MODELS, locale, limit, offset)


async def newest_transcribing_base_model(conn: asyncpg.Connection, locale: str, now: datetime) -> asyncpg.Record | None:
    return await conn.fetchrow(NEWEST_TRANSCRIBING_BASE_MODEL, locale, now)


async def count_base_models(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval(COUNT_BASE_MODELS))
