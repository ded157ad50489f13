"""Ingest's tables. Functions take the connection first; transactions belong to the caller."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import asyncpg

# -- subscriptions and keys -------------------------------------------------------------------

INSERT_SUBSCRIPTION = "INSERT INTO subscriptions (id, name) VALUES ($1, $2)"
INSERT_KEY = "INSERT INTO api_keys (key_id, subscription_id, secret_hash) VALUES ($1, $2, $3)"
SELECT_KEY = """
SELECT k.subscription_id, k.secret_hash FROM api_keys k
WHERE k.key_id = $1 AND k.revoked_at IS NULL
"""
SUBSCRIPTION_EXISTS = "SELECT EXISTS (SELECT 1 FROM subscriptions WHERE id = $1)"
REVOKE_KEY = "UPDATE api_keys SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS NULL"


async def insert_subscription(conn: asyncpg.Connection, subscription_id: uuid.UUID, name: str) -> None:
    await conn.execute(INSERT_SUBSCRIPTION, subscription_id, name)


async def insert_key(conn: asyncpg.Connection, key_id: str, subscription_id: uuid.UUID, secret_hash: str) -> None:
    await conn.execute(INSERT_KEY, key_id, subscription_id, secret_hash)


async def subscription_exists(conn: asyncpg.Connection, subscription_id: uuid.UUID) -> bool:
    return bool(await conn.fetchval(SUBSCRIPTION_EXISTS, subscription_id))


async def find_key(conn: asyncpg.Connection, key_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(SELECT_KEY, key_id)


async def revoke_key(conn: asyncpg.Connection, key_id: str) -> bool:
    return (await conn.execute(REVOKE_KEY, key_id)) == "UPDATE 1"


# -- projects ---------------------------------------------------------------------------------

PROJECT_COLUMNS = "id, display_name, description, locale, custom_properties, created_at, updated_at"
INSERT_PROJECT = f"""
INSERT INTO projects (id, subscription_id, display_name, description, locale, custom_properties)
VALUES ($1, $2, $3, $4, $5, $6::jsonb) RETURNING {PROJECT_COLUMNS}
"""
SELECT_PROJECT = f"SELECT {PROJECT_COLUMNS} FROM projects WHERE id = $1 AND subscription_id = $2"
LIST_PROJECTS = f"""
SELECT {PROJECT_COLUMNS}, count(*) OVER () AS total FROM projects WHERE subscription_id = $1
ORDER BY created_at, id LIMIT $2 OFFSET $3
"""
UPDATE_PROJECT = f"""
UPDATE projects SET display_name = coalesce($3, display_name), description = coalesce($4, description),
    updated_at = now()
WHERE id = $1 AND subscription_id = $2 RETURNING {PROJECT_COLUMNS}
"""
DELETE_PROJECT = "DELETE FROM projects WHERE id = $1 AND subscription_id = $2"
PROJECT_HAS_DATASETS = "SELECT EXISTS (SELECT 1 FROM datasets WHERE project_id = $1)"


async def insert_project(
    conn: asyncpg.Connection,
    subscription_id: uuid.UUID,
    display_name: str,
    description: str,
    locale: str,
    custom_properties: dict[str, str],
) -> asyncpg.Record:
    return await conn.fetchrow(
        INSERT_PROJECT,
        uuid.uuid4(),
        subscription_id,
        display_name,
        description,
        locale,
        json.dumps(custom_properties),
    )


async def get_project(
    conn: asyncpg.Connection, project_id: uuid.UUID, subscription_id: uuid.UUID
) -> asyncpg.Record | None:
    return await conn.fetchrow(SELECT_PROJECT, project_id, subscription_id)


async def list_projects(
    conn: asyncpg.Connection, subscription_id: uuid.UUID, limit: int, offset: int
) -> list[asyncpg.Record]:
    return await conn.fetch(LIST_PROJECTS, subscription_id, limit, offset)


async def update_project(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    subscription_id: uuid.UUID,
    display_name: str | None,
    description: str | None,
) -> asyncpg.Record | None:
    return await conn.fetchrow(UPDATE_PROJECT, project_id, subscription_id, display_name, description)


async def project_has_datasets(conn: asyncpg.Connection, project_id: uuid.UUID) -> bool:
    return bool(await conn.fetchval(PROJECT_HAS_DATASETS, project_id))


async def delete_project(conn: asyncpg.Connection, project_id: uuid.UUID, subscription_id: uuid.UUID) -> bool:
    return (await conn.execute(DELETE_PROJECT, project_id, subscription_id)) == "DELETE 1"


# -- datasets ---------------------------------------------------------------------------------

DATASET_COLUMNS = """id, subscription_id, project_id, display_name, description, locale, kind, status,
    upload_key, upload_size_bytes, accepted_count, rejected_count, total_duration_ms, progress_percent,
    error_code, error_message, custom_properties, created_at, last_action_at"""
INSERT_DATASET = f"""
INSERT INTO datasets (id, subscription_id, project_id, display_name, description, locale, kind, status,
    upload_key, upload_size_bytes, custom_properties)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'NotStarted', $8, $9, $10::jsonb) RETURNING {DATASET_COLUMNS}
"""
SELECT_DATASET = f"SELECT {DATASET_COLUMNS} FROM datasets WHERE id = $1 AND subscription_id = $2"
SELECT_DATASET_FOR_JOB = f"SELECT {DATASET_COLUMNS} FROM datasets WHERE id = $1"
LIST_DATASETS = f"""
SELECT {DATASET_COLUMNS}, count(*) OVER () AS total FROM datasets
WHERE project_id = $1 AND subscription_id = $2 ORDER BY created_at, id LIMIT $3 OFFSET $4
"""
MARK_RUNNING = """
UPDATE datasets SET status = 'Running', progress_percent = 0, last_action_at = now()
WHERE id = $1 AND status IN ('NotStarted', 'Running')
"""
SET_PROGRESS = "UPDATE datasets SET progress_percent = $2, last_action_at = now() WHERE id = $1 AND status = 'Running'"
FINISH_DATASET = f"""
UPDATE datasets SET status = $2, accepted_count = $3, rejected_count = $4, total_duration_ms = $5,
    error_code = $6, error_message = $7, progress_percent = 100, upload_key = NULL, last_action_at = now()
WHERE id = $1 RETURNING {DATASET_COLUMNS}
"""
# Only finished datasets: a running validation job would otherwise keep writing objects.
DELETE_FINISHED_DATASET = """
DELETE FROM datasets WHERE id = $1 AND subscription_id = $2 AND status IN ('Succeeded', 'Failed')
"""


async def insert_dataset(
    conn: asyncpg.Connection,
    *,
    dataset_id: uuid.UUID,
    subscription_id: uuid.UUID,
    project_id: uuid.UUID,
    display_name: str,
    description: str,
    locale: str,
    kind: str,
    upload_key: str,
    upload_size_bytes: int,
    custom_properties: dict[str, str],
) -> asyncpg.Record:
    return await conn.fetchrow(
        INSERT_DATASET,
        dataset_id,
        subscription_id,
        project_id,
        display_name,
        description,
        locale,
        kind,
        upload_key,
        upload_size_bytes,
        json.dumps(custom_properties),
    )


async def get_dataset(
    conn: asyncpg.Connection, dataset_id: uuid.UUID, subscription_id: uuid.UUID
) -> asyncpg.Record | None:
    return await conn.fetchrow(SELECT_DATASET, dataset_id, subscription_id)


async def get_dataset_for_job(conn: asyncpg.Connection, dataset_id: uuid.UUID) -> asyncpg.Record | None:
    """The dataset whatever its subscription: for the processing job, which acts for the system."""
    return await conn.fetchrow(SELECT_DATASET_FOR_JOB, dataset_id)


async def list_datasets(
    conn: asyncpg.Connection, project_id: uuid.UUID, subscription_id: uuid.UUID, limit: int, offset: int
) -> list[asyncpg.Record]:
    return await conn.fetch(LIST_DATASETS, project_id, subscription_id, limit, offset)


async def mark_running(conn: asyncpg.Connection, dataset_id: uuid.UUID) -> bool:
    return (await conn.execute(MARK_RUNNING, dataset_id)) == "UPDATE 1"


async def set_progress(conn: asyncpg.Connection, dataset_id: uuid.UUID, percent: int) -> None:
    await conn.execute(SET_PROGRESS, dataset_id, percent)


@dataclass(frozen=True)
class Outcome:
    status: str
    accepted: int
    rejected: int
    duration_ms: int
    error_code: str | None = None
    error_message: str | None = None


async def finish_dataset(conn: asyncpg.Connection, dataset_id: uuid.UUID, outcome: Outcome) -> asyncpg.Record:
    return await conn.fetchrow(
        FINISH_DATASET,
        dataset_id,
        outcome.status,
        outcome.accepted,
        outcome.rejected,
        outcome.duration_ms,
        outcome.error_code,
        outcome.error_message,
    )


async def delete_finished_dataset(conn: asyncpg.Connection, dataset_id: uuid.UUID, subscription_id: uuid.UUID) -> bool:
    return (await conn.execute(DELETE_FINISHED_DATASET, dataset_id, subscription_id)) == "DELETE 1"


# -- files and utterances ---------------------------------------------------------------------

FILE_COLUMNS = "id, dataset_id, name, kind, object_key, size_bytes, sha256, duration_ms, sample_rate_hz, created_at"
INSERT_FILES = """
INSERT INTO dataset_files (id, dataset_id, name, kind, object_key, size_bytes, sha256, duration_ms, sample_rate_hz)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
"""
LIST_FILES = f"""
SELECT {FILE_COLUMNS}, count(*) OVER () AS total FROM dataset_files WHERE dataset_id = $1
ORDER BY kind, name LIMIT $2 OFFSET $3
"""
SELECT_FILE = f"""
SELECT f.{FILE_COLUMNS.replace(", ", ", f.")} FROM dataset_files f JOIN datasets d ON d.id = f.dataset_id
WHERE f.id = $1 AND d.subscription_id = $2
"""
SELECT_REPORT_FILE = f"SELECT {FILE_COLUMNS} FROM dataset_files WHERE dataset_id = $1 AND kind = 'DatasetReport'"
INSERT_UTTERANCES = """
INSERT INTO utterances (dataset_id, file_id, transcript, normalized_transcript, normalization_version)
VALUES ($1, $2, $3, $4, $5)
"""
LIST_UTTERANCES = """
SELECT u.file_id, f.name AS file_name, u.transcript, u.normalized_transcript, u.normalization_version,
    f.duration_ms, count(*) OVER () AS total
FROM utterances u JOIN dataset_files f ON f.id = u.file_id
WHERE u.dataset_id = $1 ORDER BY u.id LIMIT $2 OFFSET $3
"""


@dataclass(frozen=True)
class StoredFile:
    id: uuid.UUID
    name: str
    kind: str
    object_key: str
    size_bytes: int
    sha256: str
    duration_ms: int | None = None
    sample_rate_hz: int | None = None


@dataclass(frozen=True)
class StoredUtterance:
    file_id: uuid.UUID
    transcript: str
    normalized: str
    normalization_version: str


async def insert_files(conn: asyncpg.Connection, dataset_id: uuid.UUID, files: Iterable[StoredFile]) -> None:
    await conn.executemany(
        INSERT_FILES,
        [
            (f.id, dataset_id, f.name, f.kind, f.object_key, f.size_bytes, f.sha256, f.duration_ms, f.sample_rate_hz)
            for f in files
        ],
    )


async def insert_utterances(
    conn: asyncpg.Connection, dataset_id: uuid.UUID, utterances: Sequence[StoredUtterance]
) -> None:
    await conn.executemany(
        INSERT_UTTERANCES,
        [(dataset_id, u.file_id, u.transcript, u.normalized, u.normalization_version) for u in utterances],
    )


async def list_files(conn: asyncpg.Connection, dataset_id: uuid.UUID, limit: int, offset: int) -> list[asyncpg.Record]:
    return await conn.fetch(LIST_FILES, dataset_id, limit, offset)


async def get_file(conn: asyncpg.Connection, file_id: uuid.UUID, subscription_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(SELECT_FILE, file_id, subscription_id)


async def get_report_file(conn: asyncpg.Connection, dataset_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(SELECT_REPORT_FILE, dataset_id)


async def list_utterances(
    conn: asyncpg.Connection, dataset_id: uuid.UUID, limit: int, offset: int
) -> list[asyncpg.Record]:
    return await conn.fetch(LIST_UTTERANCES, dataset_id, limit, offset)
