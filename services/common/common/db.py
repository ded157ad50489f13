"""One asyncpg pool per process, with the service's schema first on the search path."""

from __future__ import annotations

import asyncpg


async def create_pool(dsn: str, schema: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings={"search_path": schema, "application_name": f"attune-{schema}"},
    )
    assert pool is not None
    return pool
