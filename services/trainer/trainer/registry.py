"""Registering base models: pack the package, store it, record the model with its dates.

On first start the trainer registers the engine's bundled en-US model, imported "now"; an
operator imports further base model packages with the date they count from.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import uuid
from datetime import datetime
from pathlib import Path

import asyncpg

from common.blobs import BlobStore
from speech import packages
from trainer import lifecycle
from trainer import repository as repo

log = logging.getLogger(__name__)

BUNDLED_DISPLAY_NAME = "PocketSphinx en-US general (bundled)"
# What the engine can adapt today; acoustic adaptation joins with the trainer's jobs.
ADAPTATIONS = ["Language", "Pronunciation", "Acoustic"]


def package_key(model_id: uuid.UUID) -> str:
    return f"models/{model_id}/package.tar.gz"


async def import_base_model(
    conn: asyncpg.Connection,
    blobs: BlobStore,
    package_dir: Path,
    *,
    display_name: str,
    description: str,
    imported_at: datetime,
    work_dir: str,
) -> asyncpg.Record:
    """Stores the package at `package_dir` and registers it; its manifest names id and locale."""
    # Hashing and packing read every file of the package: threads, not the event loop.
    manifest = await asyncio.to_thread(packages.read_manifest, package_dir)
    model_id = uuid.UUID(manifest.model_id)
    with tempfile.TemporaryDirectory(dir=work_dir) as scratch:
        archive = Path(scratch) / "package.tar.gz"
        sha256 = await asyncio.to_thread(packages.pack, package_dir, archive)
        size = archive.stat().st_size
        await blobs.put_file(package_key(model_id), str(archive), content_type="application/gzip")
    row = await repo.insert_base_model(
        conn,
        model_id=model_id,
        display_name=display_name,
        description=description,
        locale=manifest.locale,
        engine=manifest.engine,
        package_key=package_key(model_id),
        package_sha256=sha256,
        package_size_bytes=size,
        adaptations=ADAPTATIONS,
        imported_at=imported_at,
        dates=lifecycle.base_model_dates(imported_at),
    )
    log.info("base model imported", extra={"model_id": str(model_id), "locale": manifest.locale})
    return row


async def ensure_bundled_base_model(pool: asyncpg.Pool, blobs: BlobStore, *, now: datetime, work_dir: str) -> None:
    """Registers the engine's bundled model when no base model exists yet (first start)."""
    async with pool.acquire() as conn, conn.transaction():
        # Replicas starting together: one registers, the others wait and find it.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('attune.trainer.bundled-base-model'))")
        if await repo.count_base_models(conn):
            return
        with tempfile.TemporaryDirectory(dir=work_dir) as scratch:
            package_dir = Path(scratch) / "package"
            await asyncio.to_thread(packages.bundled_base_package, package_dir, str(uuid.uuid4()), now)
            await import_base_model(
                conn,
                blobs,
                package_dir,
                display_name=BUNDLED_DISPLAY_NAME,
                description="The acoustic model, trigram language model and dictionary the engine ships with.",
                imported_at=now,
                work_dir=work_dir,
            )
