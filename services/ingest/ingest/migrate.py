"""`python -m ingest.migrate`: brings the ingest schema up to date (run before the service)."""

from __future__ import annotations

import asyncio

from common.migrations import run_migrations
from ingest.settings import SCHEMA, SERVICE, IngestSettings

if __name__ == "__main__":
    asyncio.run(run_migrations(IngestSettings(), service=SERVICE, schema=SCHEMA, package="ingest"))
