"""Model packages the tests register: working ones (the bundled model under another id) and
one that passes every check but the engine's own (a corrupt language model)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from common.blobs import BlobStore
from common.db import create_pool
from speech.packages import bundled_base_package, write_manifest
from trainer.registry import import_base_model
from trainer.settings import SCHEMA, TrainerSettings


def working_package(folder: Path, created: datetime | None = None) -> str:
    model_id = str(uuid.uuid4())
    bundled_base_package(folder, model_id, created or datetime.now(UTC))
    return model_id


def broken_package(folder: Path) -> str:
    model_id = str(uuid.uuid4())
    folder.mkdir(parents=True)
    (folder / "domain.lm.bin").write_bytes(b"not a language model\n" * 10)
    write_manifest(
        folder,
        model_id=model_id,
        base_model_id=None,
        kind="base",
        created=datetime.now(UTC),
        resources={
            "acousticModel": "bundled:en-us/en-us",
            "languageModel": "domain.lm.bin",
            "dictionary": "bundled:en-us/cmudict-en-us.dict",
        },
    )
    return model_id


async def register(settings: TrainerSettings, package: Path, imported_at: datetime, name: str = "test model") -> None:
    """Registers `package` as a base model, as the operator's import command does."""
    blobs = BlobStore.from_settings(settings)
    await blobs.ensure_bucket()
    pool = await create_pool(settings.database_url.get_secret_value(), SCHEMA, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn, conn.transaction():
            await import_base_model(
                conn,
                blobs,
                package,
                display_name=name,
                description="",
                imported_at=imported_at,
                work_dir=settings.work_dir,
            )
    finally:
        await pool.close()
