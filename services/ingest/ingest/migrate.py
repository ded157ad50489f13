"""`python -m ingest.migrate`: brings the ingest schema up to date (run before the service)."""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from common.logs import configure_logging
from common.migrations import apply_migrations
from ingest.settings import SCHEMA, SERVICE, IngestSettings

log = logging.getLogger(__name__)


async def main() -> None:
    settings = IngestSettings()
    configure_logging(f"{SERVICE}-migrate", settings.log_level)
    conn = await asyncpg.connect(settings.database_url.get_secret_value())
    try:
        applied = await apply_migrations(conn, SCHEMA, "ingest")
    finally:
        await conn.close()
    log.info("schema up to date", extra={"schema": SCHEMA, "applied": applied})


if __name__ == "__main__":
    asyncio.run(main())
