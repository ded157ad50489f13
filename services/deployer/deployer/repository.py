"""Deployer's tables. Functions take the connection first; transactions belong to the caller."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class ServedModel:
    """What a replica needs to load and serve a model."""

    model_id: str
    locale: str
    package_key: str
    package_sha256: str
    transcription_until: datetime


UPSERT_SERVED_MODEL = """
INSERT INTO served_models (model_id, locale, package_key, package_sha256, transcription_until)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (model_id) DO UPDATE SET package_key = EXCLUDED.package_key, package_sha256 = EXCLUDED.package_sha256,
    transcription_until = EXCLUDED.transcription_until
"""

ENDPOINT_COLUMNS = """e.id, e.subscription_id, e.project_id, e.display_name, e.description, e.locale, e.model_id,
    e.revision,
    e.status, e.logging_enabled, e.custom_properties, e.created_at, e.last_action_at,
    c.model_id AS change_model_id, c.status AS change_status, c.error AS change_error,
    c.requested_at AS change_requested_at, c.finished_at AS change_finished_at,
    m.package_key, m.package_sha256, m.transcription_until"""
ENDPOINT_FROM = """
FROM endpoints e JOIN served_models m ON m.model_id = e.model_id
LEFT JOIN LATERAL (
    SELECT * FROM model_changes WHERE endpoint_id = e.id ORDER BY id DESC LIMIT 1
) c ON true
"""
INSERT_ENDPOINT = """
INSERT INTO endpoints (id, subscription_id, project_id, display_name, description, locale, model_id, status,
    logging_enabled, custom_properties)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'Running', $8, $9::jsonb)
"""
SELECT_ENDPOINT = f"SELECT {ENDPOINT_COLUMNS} {ENDPOINT_FROM} WHERE e.id = $1 AND e.subscription_id = $2"
SELECT_ENDPOINT_ANY = f"SELECT {ENDPOINT_COLUMNS} {ENDPOINT_FROM} WHERE e.id = $1"
SELECT_ALL_ENDPOINTS = f"SELECT {ENDPOINT_COLUMNS} {ENDPOINT_FROM} WHERE e.status = 'Succeeded'"
LIST_ENDPOINTS = f"""
SELECT {ENDPOINT_COLUMNS}, count(*) OVER () AS total {ENDPOINT_FROM}
WHERE e.project_id = $1 AND e.subscription_id = $2 ORDER BY e.created_at, e.id LIMIT $3 OFFSET $4
"""
UPDATE_TEXT = """
UPDATE endpoints SET display_name = coalesce($2, display_name), description = coalesce($3, description),
    last_action_at = now()
WHERE id = $1
"""
SET_ENDPOINT_STATUS = "UPDATE endpoints SET status = $2, last_action_at = now() WHERE id = $1"
SET_ENDPOINT_MODEL = """
UPDATE endpoints SET model_id = $2, status = 'Succeeded', revision = revision + 1, last_action_at = now()
WHERE id = $1 RETURNING revision
"""
DELETE_ENDPOINT = "DELETE FROM endpoints WHERE id = $1 AND subscription_id = $2"
INSERT_CHANGE = "INSERT INTO model_changes (endpoint_id, model_id, status) VALUES ($1, $2, 'Running') RETURNING id"
FINISH_CHANGE = "UPDATE model_changes SET status = $2, error = $3, finished_at = now() WHERE id = $1"


async def upsert_served_model(conn: asyncpg.Connection, model: ServedModel) -> None:
    await conn.execute(
        UPSERT_SERVED_MODEL,
        uuid.UUID(model.model_id),
        model.locale,
        model.package_key,
        model.package_sha256,
        model.transcription_until,
    )


async def insert_endpoint(
    conn: asyncpg.Connection,
    *,
    endpoint_id: uuid.UUID,
    subscription_id: uuid.UUID,
    project_id: uuid.UUID,
    display_name: str,
    description: str,
    locale: str,
    model_id: str,
    logging_enabled: bool,
    custom_properties: dict[str, str],
) -> None:
    await conn.execute(
        INSERT_ENDPOINT,
        endpoint_id,
        subscription_id,
        project_id,
        display_name,
        description,
        locale,
        uuid.UUID(model_id),
        logging_enabled,
        json.dumps(custom_properties),
    )


async def get_endpoint(
    conn: asyncpg.Connection, endpoint_id: uuid.UUID, subscription_id: uuid.UUID
) -> asyncpg.Record | None:
    return await conn.fetchrow(SELECT_ENDPOINT, endpoint_id, subscription_id)


async def get_endpoint_any(conn: asyncpg.Connection, endpoint_id: uuid.UUID) -> asyncpg.Record | None:
    """Whatever its subscription: for replicas syncing themselves from events."""
    return await conn.fetchrow(SELECT_ENDPOINT_ANY, endpoint_id)


async def serving_endpoints(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(SELECT_ALL_ENDPOINTS)


async def list_endpoints(
    conn: asyncpg.Connection, project_id: uuid.UUID, subscription_id: uuid.UUID, limit: int, offset: int
) -> list[asyncpg.Record]:
    return await conn.fetch(LIST_ENDPOINTS, project_id, subscription_id, limit, offset)


async def update_text(
    conn: asyncpg.Connection, endpoint_id: uuid.UUID, display_name: str | None, description: str | None
) -> None:
    await conn.execute(UPDATE_TEXT, endpoint_id, display_name, description)


async def set_status(conn: asyncpg.Connection, endpoint_id: uuid.UUID, status: str) -> None:
    await conn.execute(SET_ENDPOINT_STATUS, endpoint_id, status)


async def set_model(conn: asyncpg.Connection, endpoint_id: uuid.UUID, model_id: str) -> int:
    """Points the endpoint at `model_id`; returns the endpoint's new revision."""
    return int(await conn.fetchval(SET_ENDPOINT_MODEL, endpoint_id, uuid.UUID(model_id)))


async def delete_endpoint(conn: asyncpg.Connection, endpoint_id: uuid.UUID, subscription_id: uuid.UUID) -> bool:
    return (await conn.execute(DELETE_ENDPOINT, endpoint_id, subscription_id)) == "DELETE 1"


async def insert_change(conn: asyncpg.Connection, endpoint_id: uuid.UUID, model_id: str) -> int:
    return int(await conn.fetchval(INSERT_CHANGE, endpoint_id, uuid.UUID(model_id)))


async def finish_change(conn: asyncpg.Connection, change_id: int, status: str, error: str | None) -> None:
    await conn.execute(FINISH_CHANGE, change_id, status, error)


def served_model(row: asyncpg.Record) -> ServedModel:
    """The served model of an endpoint row."""
    return ServedModel(
        model_id=str(row["model_id"]),
        locale=row["locale"],
        package_key=row["package_key"],
        package_sha256=row["package_sha256"],
        transcription_until=row["transcription_until"],
    )
