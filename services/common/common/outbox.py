"""The transactional outbox: write an event in the same transaction as the change it reports.

`enqueue` is called inside the use case's transaction; the relay (`relay.py`) publishes the
row after commit. A `NOTIFY` on `outbox_<schema>` wakes the relay at once; it polls too.
"""

from __future__ import annotations

import json
import uuid

import asyncpg

from attune.events.v1 import events_pb2
from common.logs import CORRELATION_HEADER

INSERT_EVENT = """
INSERT INTO outbox (event_id, routing_key, body, headers) VALUES ($1, $2, $3, $4::jsonb)
"""
NOTIFY_RELAY = "SELECT pg_notify('outbox_' || current_schema(), '')"


def notify_channel(schema: str) -> str:
    return f"outbox_{schema}"


async def enqueue(conn: asyncpg.Connection, event: events_pb2.Event) -> None:
    """Adds `event` to the outbox; must run inside the caller's transaction."""
    if not conn.is_in_transaction():
        raise RuntimeError("outbox.enqueue must run inside the business transaction")
    headers = {CORRELATION_HEADER: event.correlation_id, "x-event-source": event.source}
    await conn.execute(
        INSERT_EVENT, uuid.UUID(event.event_id), event.type, event.SerializeToString(), json.dumps(headers)
    )
    await conn.execute(NOTIFY_RELAY)
