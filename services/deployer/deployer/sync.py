"""Keeping this replica's routes equal to the endpoints table.

At start every serving endpoint's model is loaded before the replica reports SERVING; then
`endpoint.*` events (on this replica's own queue) bring each change here as well.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import asyncpg

from attune.events.v1 import events_pb2
from common.consumer import Delivery
from common.events import unpack
from deployer import repository as repo
from deployer.serving import Route, Router

log = logging.getLogger(__name__)

QUEUE_PURPOSE = "endpoints"
BINDINGS = ("endpoint.*",)
# Models load in parallel at start-up, a few at a time (each occupies every decoder process).
STARTUP_CONCURRENCY = 2


def route_of(row: asyncpg.Record) -> Route:
    return Route(str(row["id"]), str(row["subscription_id"]), repo.served_model(row), row["revision"])


async def load_all(pool: asyncpg.Pool, router: Router) -> None:
    async with pool.acquire() as conn:
        rows = await repo.serving_endpoints(conn)
    slots = asyncio.Semaphore(STARTUP_CONCURRENCY)

    async def install(row: asyncpg.Record) -> None:
        async with slots:
            try:
                await router.install(route_of(row))
            except Exception:
                # One broken package must not keep the replica's other endpoints down.
                log.exception("endpoint could not be loaded at start", extra={"endpoint_id": str(row["id"])})

    await asyncio.gather(*(install(row) for row in rows))
    log.info("endpoints loaded", extra={"count": len(rows)})


class EndpointSync:
    def __init__(self, router: Router) -> None:
        self._router = router

    async def handle(self, conn: asyncpg.Connection, delivery: Delivery) -> None:
        payload = unpack(delivery.event, events_pb2.EndpointEvent)
        row = await repo.get_endpoint_any(conn, uuid.UUID(payload.endpoint_id))
        if row is None or delivery.event.type == "endpoint.deleted":
            await self._router.remove(payload.endpoint_id)
        elif row["status"] == "Succeeded":
            try:
                await self._router.install(route_of(row))
            except Exception:
                # The replica that took the change loaded this model; here the old one keeps
                # serving, and a restart (which loads every endpoint) tries again.
                log.exception("endpoint change could not be applied here", extra={"endpoint_id": payload.endpoint_id})
