"""`python -m trainer`: settings -> resources -> serve, until SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import grpc

from attune.trainer.v1 import trainer_pb2, trainer_pb2_grpc
from common import broker
from common.blobs import BlobStore
from common.clock import Clock
from common.db import create_pool
from common.grpc_server import build_server, serve
from common.logs import configure_logging
from common.relay import OutboxRelay
from common.remote_auth import RemoteKeyResolver
from trainer.models import ModelServicer
from trainer.registry import ensure_bundled_base_model
from trainer.settings import SCHEMA, SERVICE, TrainerSettings

SERVICE_NAMES = (trainer_pb2.DESCRIPTOR.services_by_name["ModelService"].full_name,)


async def run(
    settings: TrainerSettings,
    *,
    stop: asyncio.Event | None = None,
    on_started: Callable[[int], None] | None = None,
) -> None:
    clock = Clock(settings.now)
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
        await ensure_bundled_base_model(pool, blobs, now=clock.now(), work_dir=settings.work_dir)

        relay = OutboxRelay(pool, connection, schema=SCHEMA, exchange_name=settings.events_exchange)
        await relay.start()
        stack.push_async_callback(relay.stop)

        ingest = grpc.aio.insecure_channel(settings.ingest_address)
        stack.push_async_callback(ingest.close)
        server, health = build_server(RemoteKeyResolver(ingest))
        trainer_pb2_grpc.add_ModelServiceServicer_to_server(ModelServicer(pool, clock), server)
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
    settings = TrainerSettings()
    configure_logging(SERVICE, settings.log_level)
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
