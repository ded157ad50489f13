"""Building and reading the event envelope (`attune.events.v1.Event`)."""

from __future__ import annotations

import uuid
from typing import TypeVar

from google.protobuf.message import Message

from attune.events.v1 import events_pb2
from common.logs import correlation_id

M = TypeVar("M", bound=Message)


def make_event(event_type: str, payload: Message, *, source: str, subscription_id: str = "") -> events_pb2.Event:
    event = events_pb2.Event(
        event_id=str(uuid.uuid4()),
        type=event_type,
        correlation_id=correlation_id(),
        subscription_id=subscription_id,
        source=source,
    )
    event.occurred_at.GetCurrentTime()
    event.payload.Pack(payload)
    return event


def unpack(event: events_pb2.Event, payload_type: type[M]) -> M:
    payload = payload_type()
    if not event.payload.Unpack(payload):
        raise ValueError(
            f"event {event.type} carries {event.payload.TypeName()}, not {payload_type.DESCRIPTOR.full_name}"
        )
    return payload
