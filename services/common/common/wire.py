"""Python values to protobuf well-known types, the same way in every service."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from common.errors import InvalidArgument


def timestamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def duration_ms(milliseconds: int | None) -> Duration:
    duration = Duration()
    duration.FromMilliseconds(milliseconds or 0)
    return duration


def parse_id(value: str, field: str) -> uuid.UUID:
    """A resource id from a request; INVALID_ARGUMENT naming the field when it is not one."""
    if not value:
        raise InvalidArgument(f"{field} is required")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidArgument(f"{field} {value!r} is not a valid id") from None


def iso_utc(moment: datetime, what: str = "time") -> str:
    """`2026-11-28T20:13:53Z`: a time-zone-aware moment in UTC to the second, as JSON documents
    (manifests, transcription results) carry it."""
    if moment.tzinfo is None:
        raise ValueError(f"{what} must be a timezone-aware datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
