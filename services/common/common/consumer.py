"""Consumes domain events from a quorum queue: at-least-once in, exactly-once effect.

Each consumer owns one quorum queue bound to the events exchange, with a delivery limit and
a dead-letter exchange (`<queue>.dlx` -> `<queue>.dead`), so a message that keeps failing
is parked for inspection instead of looping forever. The handler runs inside a database
transaction that also records the event id in `processed_events`; the message is acked
only after that commit, so a redelivered event is recognised and skipped.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import aio_pika
import asyncpg
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection
from google.protobuf.message import DecodeError

from attune.events.v1 import events_pb2
from common.broker import declare_events_exchange
from common.logs import CORRELATION_HEADER, correlation_scope

log = logging.getLogger(__name__)

MARK_PROCESSED = """
INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2)
ON CONFLICT DO NOTHING RETURNING event_id
"""


@dataclass(frozen=True)
class Delivery:
    event: events_pb2.Event
    # How many times the broker delivered this message before (quorum queues count it).
    previous_deliveries: int
    # True when a failure now sends the message to the dead-letter queue.
    final_attempt: bool
    # Run after the handler's transaction committed and the message was acked: clean-up that
    # must not happen if the commit fails (e.g. deleting an input the job consumed).
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


Handler = Callable[[asyncpg.Connection, Delivery], Awaitable[None]]


class Consumer:
    def __init__(
        self,
        *,
        name: str,
        pool: asyncpg.Pool,
        connection: AbstractRobustConnection,
        exchange_name: str,
        queue_name: str,
        binding_keys: Sequence[str],
        handler: Handler,
        prefetch: int = 4,
        delivery_limit: int = 5,
        per_replica: bool = False,
    ) -> None:
        """`per_replica` makes the queue this process's own (exclusive, gone when it stops),
        for events every replica must hear, where a restarted replica rebuilds its state
        from the database anyway; otherwise replicas share one durable work queue."""
        self._name = name
        self._pool = pool
        self._connection = connection
        self._exchange_name = exchange_name
        self._queue_name = queue_name
        self._binding_keys = list(binding_keys)
        self._handler = handler
        self._prefetch = prefetch
        self._delivery_limit = delivery_limit
        self._per_replica = per_replica
        self._channel: AbstractChannel | None = None
        self._consumer_tag: str | None = None
        self._in_flight: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=self._prefetch)
        exchange = await declare_events_exchange(channel, self._exchange_name)
        queue = await (self._replica_queue(channel) if self._per_replica else self._work_queue(channel))
        for key in self._binding_keys:
            await queue.bind(exchange, key)
        self._channel = channel
        self._consumer_tag = await queue.consume(self._on_message)
        log.info("consuming", extra={"queue": self._queue_name, "bindings": self._binding_keys})

    async def _replica_queue(self, channel: AbstractChannel) -> AbstractQueue:
        return await channel.declare_queue(self._queue_name, durable=False, exclusive=True, auto_delete=True)

    async def _work_queue(self, channel: AbstractChannel) -> AbstractQueue:
        dead_letters = await channel.declare_exchange(
            f"{self._queue_name}.dlx", aio_pika.ExchangeType.FANOUT, durable=True
        )
        parked = await channel.declare_queue(
            f"{self._queue_name}.dead", durable=True, arguments={"x-queue-type": "quorum"}
        )
        await parked.bind(dead_letters)
        return await channel.declare_queue(
            self._queue_name,
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": self._delivery_limit,
                "x-dead-letter-exchange": dead_letters.name,
            },
        )

    async def stop(self) -> None:
        """Stops taking messages, lets the ones in hand finish, closes the channel."""
        if self._channel is None:
            return
        if self._consumer_tag is not None and not self._channel.is_closed:
            queue = await self._channel.get_queue(self._queue_name, ensure=False)
            await queue.cancel(self._consumer_tag)
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        if not self._channel.is_closed:
            await self._channel.close()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            await self._process(message)
        finally:
            if task is not None:
                self._in_flight.discard(task)

    async def _process(self, message: AbstractIncomingMessage) -> None:
        headers = message.headers or {}
        with correlation_scope(_text(headers.get(CORRELATION_HEADER))):
            try:
                event = events_pb2.Event.FromString(message.body)
                event_id = uuid.UUID(event.event_id)
            except (DecodeError, ValueError):
                log.error("undecodable message dead-lettered", extra={"message_id": message.message_id})
                await message.reject(requeue=False)
                return
            count = headers.get("x-delivery-count", 0)
            previous = count if isinstance(count, int) else 0
            delivery = Delivery(event, previous, previous >= self._delivery_limit)
            try:
                async with self._pool.acquire() as conn, conn.transaction():
                    if await conn.fetchval(MARK_PROCESSED, self._name, event_id) is None:
                        log.info("duplicate event skipped", extra={"event_id": event.event_id, "type": event.type})
                    else:
                        await self._handler(conn, delivery)
            except Exception:
                log.exception(
                    "event handler failed",
                    extra={"event_id": event.event_id, "type": event.type, "deliveries": previous + 1},
                )
                # A short pause so a failing dependency is not hammered by instant redeliveries.
                await asyncio.sleep(min(0.1 * 2**previous, 5.0))
                await message.nack(requeue=True)
                return
            await message.ack()
            for action in delivery.after_commit:
                try:
                    await action()
                except Exception:
                    log.exception("after-commit action failed", extra={"event_id": event.event_id})


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode()
    return value if isinstance(value, str) else None
