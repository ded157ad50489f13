"""RabbitMQ topology shared by every service: the events exchange and its safety nets.

The domain events exchange is a durable topic exchange with an alternate exchange: an
event no queue is bound for yet is parked in `<exchange>.unrouted` instead of vanishing,
and the relay publishes with `mandatory=True`, so a message the broker could not route at
all comes back as an error instead of being dropped silently.
"""

from __future__ import annotations

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractRobustConnection


async def connect(amqp_url: str) -> AbstractRobustConnection:
    return await aio_pika.connect_robust(amqp_url)


async def declare_events_exchange(channel: AbstractChannel, name: str) -> AbstractExchange:
    unrouted = await channel.declare_exchange(f"{name}.unrouted", aio_pika.ExchangeType.FANOUT, durable=True)
    parking = await channel.declare_queue(
        f"{name}.unrouted",
        durable=True,
        arguments={"x-queue-type": "quorum", "x-max-length": 100_000, "x-overflow": "drop-head"},
    )
    await parking.bind(unrouted)
    return await channel.declare_exchange(
        name,
        aio_pika.ExchangeType.TOPIC,
        durable=True,
        arguments={"alternate-exchange": f"{name}.unrouted"},
    )
