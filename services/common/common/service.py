"""What every service's `main` opens the same way, and how it serves with its settings.

`open_resources` opens the Postgres pool (on the service's schema), the broker connection,
the blob store and the outbox relay, each registered on the caller's exit stack so they
close in reverse order (relay, then connection, then pool) after the server has stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
import grpc
from aio_pika.abc import AbstractRobustConnection
from grpc_health.v1 import health

from common import broker
from common.blobs import BlobStore
from common.consumer import Consumer, Handler
from common.db import create_pool
from common.grpc_server import serve
from common.logs import configure_logging
from common.relay import OutboxRelay
from common.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)


@dataclass(frozen=True)
class Resources:
    pool: asyncpg.Pool
    connection: AbstractRobustConnection
    blobs: BlobStore


async def open_resources(stack: contextlib.AsyncExitStack, settings: ServiceSettings, schema: str) -> Resources:
    pool = await create_pool(
        settings.database_url.get_secret_value(), schema, min_size=settings.db_pool_min, max_size=settings.db_pool_max
    )
    stack.push_async_callback(pool.close)
    connection = await broker.connect(settings.amqp_url.get_secret_value())
    stack.push_async_callback(connection.close)
    blobs = BlobStore.from_settings(settings)
    await blobs.ensure_bucket()
    relay = OutboxRelay(pool, connection, schema=schema, exchange_name=settings.events_exchange)
    await relay.start()
    stack.push_async_callback(relay.stop)
    return Resources(pool, connection, blobs)


async def start_consumer(
    stack: contextlib.AsyncExitStack,
    core: Resources,
    settings: ServiceSettings,
    *,
    queue: str,
    bindings: Sequence[str],
    handler: Handler,
    **options: Any,
) -> Consumer:
    """A consumer of the events exchange on `queue` (its name also keys deduplication),
    stopped by `stack` before the connection closes."""
    consumer = Consumer(
        name=queue,
        pool=core.pool,
        connection=core.connection,
        exchange_name=settings.events_exchange,
        queue_name=queue,
        binding_keys=bindings,
        handler=handler,
        **options,
    )
    await consumer.start()
    stack.push_async_callback(consumer.stop)
    return consumer


def channel_to(stack: contextlib.AsyncExitStack, address: str) -> grpc.aio.Channel:
    """A channel to another service, closed by `stack`."""
    channel = grpc.aio.insecure_channel(address)
    stack.push_async_callback(channel.close)
    return channel


async def serve_with(
    settings: ServiceSettings,
    server: grpc.aio.Server,
    health_servicer: health.aio.HealthServicer,
    service_names: Sequence[str],
    *,
    stop: asyncio.Event | None,
    on_started: Callable[[int], None] | None,
) -> None:
    """`common.grpc_server.serve` with the address and shutdown timings from `settings`."""
    await serve(
        server,
        health_servicer,
        address=f"{settings.grpc_host}:{settings.grpc_port}",
        service_names=service_names,
        grace_seconds=settings.shutdown_grace_seconds,
        drain_seconds=settings.shutdown_drain_seconds,
        stop=stop,
        on_started=on_started,
    )


def run_service(service: str, settings: S, run: Callable[[S], Coroutine[Any, Any, None]]) -> None:
    """The body of every `python -m <service>`: JSON logs, then the event loop until SIGTERM."""
    configure_logging(service, settings.log_level)
    asyncio.run(run(settings))
