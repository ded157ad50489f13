"""Outbox, relay and consumer against the real RabbitMQ: nothing committed is lost, nothing
is handled twice, and a message that keeps failing is parked, not looped on."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator

import aio_pika
import asyncpg
import pytest
from aio_pika.abc import AbstractRobustConnection

from attune.events.v1 import events_pb2
from common import broker
from common.consumer import Consumer, Delivery
from common.events import make_event, unpack
from common.logs import correlation_id, correlation_scope
from common.outbox import enqueue
from common.relay import OutboxRelay
from tests.conftest import AMQP_URL
from tests.polling import eventually

pytestmark = pytest.mark.integration
SCHEMA = "ingest"  # any service schema has the shared outbox tables


@pytest.fixture
async def connection() -> AsyncIterator[AbstractRobustConnection]:
    conn = await broker.connect(AMQP_URL)
    yield conn
    await conn.close()


def dataset_event(dataset_id: str) -> events_pb2.Event:
    return make_event("dataset.succeeded", events_pb2.DatasetEvent(dataset_id=dataset_id), source="test")


class Recorder:
    def __init__(self, fail_times: int = 0) -> None:
        self.seen: list[str] = []
        # The correlation id in effect while each event was handled.
        self.correlations: list[str] = []
        self.fail_times = fail_times
        self.attempts = 0

    async def __call__(self, conn: asyncpg.Connection, delivery: Delivery) -> None:
        self.attempts += 1
        if self.attempts <= self.fail_times:
            raise RuntimeError("dependency down")
        self.seen.append(unpack(delivery.event, events_pb2.DatasetEvent).dataset_id)
        self.correlations.append(correlation_id())


def consumer(
    pool: asyncpg.Pool, connection: AbstractRobustConnection, namespace: str, handler: Recorder, **kw: int
) -> Consumer:
    return Consumer(
        name=f"{namespace}.test",
        pool=pool,
        connection=connection,
        exchange_name=f"{namespace}.events",
        queue_name=f"{namespace}.test",
        binding_keys=["dataset.*"],
        handler=handler,
        **kw,
    )


async def outbox_rows(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await conn.fetch("SELECT event_id, attempts FROM outbox")


async def test_committed_event_is_published_once_and_outbox_emptied(
    ingest_pool: asyncpg.Pool, connection: AbstractRobustConnection, amqp_namespace: str, broker_cleanup: None
) -> None:
    handler = Recorder()
    events = consumer(ingest_pool, connection, amqp_namespace, handler)
    await events.start()
    relay = OutboxRelay(ingest_pool, connection, schema=SCHEMA, exchange_name=f"{amqp_namespace}.events")
    await relay.start()
    try:
        with correlation_scope("request-7"):  # as if inside the gRPC call that caused the event
            async with ingest_pool.acquire() as conn, conn.transaction():
                await enqueue(conn, dataset_event("d-1"))
        # A rolled-back transaction publishes nothing.
        with pytest.raises(RuntimeError):
            async with ingest_pool.acquire() as conn, conn.transaction():
                await enqueue(conn, dataset_event("rolled-back"))
                raise RuntimeError("use case failed")
        await eventually(lambda: handler.seen == ["d-1"], what="delivery")
        await eventually(lambda: _async_rows_empty(ingest_pool), what="outbox to drain")
        assert handler.seen == ["d-1"]
        # The request's correlation id travelled in the message headers to the consumer.
        assert handler.correlations == ["request-7"]
    finally:
        await relay.stop()
        await events.stop()


async def test_redelivered_event_is_handled_once(
    ingest_pool: asyncpg.Pool, connection: AbstractRobustConnection, amqp_namespace: str, broker_cleanup: None
) -> None:
    handler = Recorder()
    events = consumer(ingest_pool, connection, amqp_namespace, handler)
    await events.start()
    try:
        channel = await connection.channel()
        exchange = await broker.declare_events_exchange(channel, f"{amqp_namespace}.events")
        event = dataset_event("twice")
        for _ in range(2):  # e.g. the relay crashed between the broker's confirm and its delete
            await exchange.publish(
                aio_pika.Message(event.SerializeToString(), message_id=event.event_id), "dataset.succeeded"
            )
        async with ingest_pool.acquire() as conn:
            await eventually(lambda: _async_count(conn, event.event_id), what="the event to be recorded as processed")
        queue = await channel.declare_queue(f"{amqp_namespace}.test", passive=True)
        await eventually(lambda: _queue_empty(channel, queue.name), what="both copies to be acked")
        assert handler.seen == ["twice"]
        await channel.close()
    finally:
        await events.stop()


async def test_failing_handler_retries_then_dead_letters(
    ingest_pool: asyncpg.Pool, connection: AbstractRobustConnection, amqp_namespace: str, broker_cleanup: None
) -> None:
    transient = Recorder(fail_times=1)
    events = consumer(ingest_pool, connection, amqp_namespace, transient, delivery_limit=2)
    await events.start()
    channel = await connection.channel()
    exchange = await broker.declare_events_exchange(channel, f"{amqp_namespace}.events")
    try:
        ok = dataset_event("recovers")
        await exchange.publish(aio_pika.Message(ok.SerializeToString(), message_id=ok.event_id), "dataset.succeeded")
        await eventually(lambda: transient.seen == ["recovers"], what="retry to succeed")

        transient.fail_times = 10**6  # from now on the dependency stays down
        doomed = dataset_event("doomed")
        await exchange.publish(
            aio_pika.Message(doomed.SerializeToString(), message_id=doomed.event_id), "dataset.succeeded"
        )
        dead = await channel.declare_queue(f"{amqp_namespace}.test.dead", passive=True)

        async def parked() -> bool:
            message = await dead.get(fail=False)
            if message is None:
                return False
            await message.ack()
            return events_pb2.Event.FromString(message.body).event_id == doomed.event_id

        await eventually(parked, what="the message to reach the dead-letter queue")
        assert "doomed" not in transient.seen
    finally:
        await channel.close()
        await events.stop()


@pytest.mark.broker_restart
async def test_event_committed_while_broker_restarts_is_delivered_once(
    ingest_pool: asyncpg.Pool, connection: AbstractRobustConnection, amqp_namespace: str, broker_cleanup: None
) -> None:
    handler = Recorder()
    events = consumer(ingest_pool, connection, amqp_namespace, handler)
    await events.start()
    relay = OutboxRelay(ingest_pool, connection, schema=SCHEMA, exchange_name=f"{amqp_namespace}.events", max_backoff=1)
    await relay.start()
    try:
        subprocess.run(["rabbitmqctl", "-q", "stop_app"], check=True, timeout=120)
        try:
            async with ingest_pool.acquire() as conn, conn.transaction():
                event = dataset_event("survivor")
                await enqueue(conn, event)
            # The relay tries, fails, and keeps the row.
            await eventually(lambda: relay.consecutive_failures >= 2, what="failed publish attempts")
            assert [str(r["event_id"]) for r in await outbox_rows(ingest_pool)] == [event.event_id]
            assert handler.seen == []
        finally:
            subprocess.run(["rabbitmqctl", "-q", "start_app"], check=True, timeout=120)
        await eventually(lambda: handler.seen == ["survivor"], timeout=90, what="delivery after restart")
        await eventually(lambda: _async_rows_empty(ingest_pool), what="outbox to drain")
        assert handler.seen == ["survivor"]
    finally:
        await relay.stop()
        await events.stop()


async def _async_rows_empty(pool: asyncpg.Pool) -> bool:
    return not await outbox_rows(pool)


async def _async_count(conn: asyncpg.Connection, event_id: str) -> bool:
    return bool(await conn.fetchval("SELECT count(*) FROM processed_events WHERE event_id = $1::uuid", event_id))


async def _queue_empty(channel: aio_pika.abc.AbstractChannel, name: str) -> bool:
    queue = await channel.declare_queue(name, passive=True)
    return queue.declaration_result.message_count == 0
