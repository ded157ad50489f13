"""Publishes outbox rows to RabbitMQ with publisher confirms, then deletes them.

Rows are claimed with `FOR UPDATE SKIP LOCKED`, so several replicas relay side by side
without publishing the same row at once. A row is deleted only after the broker confirmed
it; when the broker is down the transaction rolls back and the relay retries with backoff,
so an event committed while RabbitMQ restarts is published once it is back. A crash between
confirm and delete can publish a row twice: consumers deduplicate on the event id.
"""

from __future__ import annotations

import asyncio
import json
import logging

import aio_pika
import asyncpg
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection

from common.broker import declare_events_exchange
from common.logs import CORRELATION_HEADER, correlation_scope
from common.outbox import notify_channel

log = logging.getLogger(__name__)

CLAIM_BATCH = """
SELECT id, event_id, routing_key, body, headers FROM outbox
ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
"""
DELETE_PUBLISHED = "DELETE FROM outbox WHERE id = ANY($1::bigint[])"
RECORD_FAILURE = "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1::bigint[])"


class OutboxRelay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        connection: AbstractRobustConnection,
        *,
        schema: str,
        exchange_name: str,
        batch_size: int = 100,
        poll_interval: float = 1.0,
        max_backoff: float = 5.0,
    ) -> None:
        self._pool = pool
        self._connection = connection
        self._schema = schema
        self._exchange_name = exchange_name
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._max_backoff = max_backoff
        self._wake = asyncio.Event()
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._task: asyncio.Task[None] | None = None
        # Publish rounds that failed in a row (0 when the broker is reachable); for health and tests.
        self.consecutive_failures = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=f"outbox-relay-{self._schema}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()

    async def run(self) -> None:
        listener = await self._pool.acquire()
        channel = notify_channel(self._schema)
        await listener.add_listener(channel, self._on_notify)
        backoff = 0.2
        try:
            while True:
                self._wake.clear()
                try:
                    published = await self.publish_pending()
                    backoff = 0.2
                    self.consecutive_failures = 0
                except (asyncio.CancelledError, KeyboardInterrupt):
                    raise
                except Exception as exc:
                    self.consecutive_failures += 1
                    log.warning(
                        "outbox relay could not publish; retrying", extra={"error": repr(exc), "retry_in_s": backoff}
                    )
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self._max_backoff)
                    continue
                if published < self._batch_size:
                    try:
                        await asyncio.wait_for(self._wake.wait(), self._poll_interval)
                    except TimeoutError:
                        pass
        finally:
            await listener.remove_listener(channel, self._on_notify)
            await self._pool.release(listener)

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _exchange_ready(self) -> AbstractExchange:
        if self._channel is None or self._channel.is_closed or self._exchange is None:
            self._channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
            self._exchange = await declare_events_exchange(self._channel, self._exchange_name)
        return self._exchange

    async def publish_pending(self) -> int:
        """Publishes one batch; returns how many rows were published and deleted."""
        exchange = await self._exchange_ready()
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(CLAIM_BATCH, self._batch_size)
            if not rows:
                return 0
            results = await asyncio.gather(*(self._publish(exchange, row) for row in rows), return_exceptions=True)
            done = [row["id"] for row, result in zip(rows, results, strict=True) if result is None]
            failed = [row["id"] for row, result in zip(rows, results, strict=True) if result is not None]
            await conn.execute(DELETE_PUBLISHED, done)
            if failed:
                first_error = next(r for r in results if r is not None)
                await conn.execute(RECORD_FAILURE, failed, repr(first_error))
        if failed:
            raise RuntimeError(f"{len(failed)} of {len(rows)} events not confirmed: {first_error!r}")
        return len(done)

    async def _publish(self, exchange: AbstractExchange, row: asyncpg.Record) -> None:
        headers = json.loads(row["headers"])
        with correlation_scope(headers.get(CORRELATION_HEADER)):
            await exchange.publish(
                aio_pika.Message(
                    body=row["body"],
                    message_id=str(row["event_id"]),
                    type=row["routing_key"],
                    headers=headers,
                    content_type="application/x-protobuf",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=row["routing_key"],
                mandatory=True,
                timeout=10,
            )
            log.debug("event published", extra={"event_id": str(row["event_id"]), "type": row["routing_key"]})
