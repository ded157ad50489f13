"""`python -m ingest`: settings -> resources -> serve, until SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from attune.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from common import broker
from common.blobs import BlobStore
from common.consumer import Consumer
from common.db import create_pool
from common.grpc_server import build_server, serve
from common.logs import configure_logging
from common.relay import OutboxRelay
from ingest.datasets import DatasetServicer
from ingest.identity import IdentityServicer
from ingest.jobs import BINDINGS, QUEUE_PURPOSE, DatasetValidationJob
from ingest.keys import DatabaseKeyResolver
from ingest.processing import DatasetProcessor
from ingest.projects import ProjectServicer
from ingest.settings import SCHEMA, SERVICE, IngestSettings
from ingest.uploads import LocalSpool

SERVICE_NAMES = (
    ingest_pb2.DESCRIPTOR.services_by_name["ProjectService"].full_name,
    ingest_pb2.DESCRIPTOR.services_by_name["DatasetService"].full_name,
    ingest_pb2.DESCRIPTOR.services_by_name["IdentityService"].full_name,
)
# Uploads stream in chunks; one message must hold a chunk, not a whole dataset.
MAX_MESSAGE_BYTES = 8 * 1024 * 1024


async def run(
    settings: IngestSettings,
    *,
    stop: asyncio.Event | None = None,
    on_started: Callable[[int], None] | None = None,
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        pool = await create_pool(
            settings.database_url.get_secret_value(),
            SCHEMA,
            min_size=settings.db_pool_min,
            max_size=settings.db_pool_max,
        )
        stack.push_async_callback(pool.close)
        connection = await broker.connect(settings.amqp_url.get_secret_value())
        stack.push_async_callback(connection.close)
        blobs = BlobStore.from_settings(settings)
        await blobs.ensure_bucket()
        spool = LocalSpool(settings.spool_dir)

        relay = OutboxRelay(pool, connection, schema=SCHEMA, exchange_name=settings.events_exchange)
        await relay.start()
        stack.push_async_callback(relay.stop)
        job = DatasetValidationJob(
            pool, blobs, DatasetProcessor(blobs, upload_concurrency=settings.upload_concurrency), spool
        )
        queue = settings.queue_name(SERVICE, QUEUE_PURPOSE)
        consumer = Consumer(
            name=queue,
            pool=pool,
            connection=connection,
            exchange_name=settings.events_exchange,
            queue_name=queue,
            binding_keys=BINDINGS,
            handler=job.handle,
            prefetch=2,
        )
        await consumer.start()
        stack.push_async_callback(consumer.stop)

        server, health = build_server(DatabaseKeyResolver(pool), max_message_bytes=MAX_MESSAGE_BYTES)
        ingest_pb2_grpc.add_ProjectServiceServicer_to_server(ProjectServicer(pool), server)
        ingest_pb2_grpc.add_IdentityServiceServicer_to_server(IdentityServicer(), server)
        ingest_pb2_grpc.add_DatasetServiceServicer_to_server(DatasetServicer(pool, blobs, spool, settings), server)
        # Stops first on the way out (exit stack order is reversed): no new calls, then
        # consumers, relay, broker connection and pool close.
        await serve(
            server,
            health,
            address=f"{settings.grpc_host}:{settings.grpc_port}",
            service_names=SERVICE_NAMES,
            grace_seconds=settings.shutdown_grace_seconds,
            drain_seconds=settings.shutdown_drain_seconds,
            stop=stop,
            on_started=on_started,
        )


def main() -> None:
    settings = IngestSettings()
    configure_logging(SERVICE, settings.log_level)
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
