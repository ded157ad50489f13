"""`python -m trainer.admin`: operator commands for the model registry.

    python -m trainer.admin import-base-model PACKAGE_DIR --name "en-US 2026" --imported-at 2026-01-15T00:00:00Z

The package directory holds a manifest (engine, locale, model id) and the files that differ
from what the engine ships. The import date starts the model's lifecycle: adaptation for a
year, decoding for two.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from common.blobs import BlobStore
from common.db import create_pool
from speech.packages import InvalidPackage
from trainer.convert import model
from trainer.registry import import_base_model
from trainer.settings import SCHEMA, TrainerSettings


def aware(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def run(args: argparse.Namespace) -> int:
    settings = TrainerSettings()
    blobs = BlobStore.from_settings(settings)
    await blobs.ensure_bucket()
    pool = await create_pool(settings.database_url.get_secret_value(), SCHEMA, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn, conn.transaction():
            row = await import_base_model(
                conn,
                blobs,
                Path(args.package_dir),
                display_name=args.name,
                description=args.description,
                imported_at=args.imported_at,
                work_dir=settings.work_dir,
            )
    except InvalidPackage as exc:
        print(f"not a model package: {exc}", file=sys.stderr)
        return 1
    finally:
        await pool.close()
    imported = model(row)
    print(
        json.dumps(
            {
                "modelId": imported.id,
                "locale": imported.locale,
                "adaptationUntil": row["adaptation_until"].isoformat(),
                "transcriptionUntil": row["transcription_until"].isoformat(),
            }
        )
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m trainer.admin", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    importing = commands.add_parser("import-base-model", help="register a base model package")
    importing.add_argument("package_dir")
    importing.add_argument("--name", required=True)
    importing.add_argument("--description", default="")
    importing.add_argument("--imported-at", type=aware, default=datetime.now(UTC), help="ISO 8601; default now")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
