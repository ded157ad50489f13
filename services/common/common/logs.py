"""JSON logging with the service name and a correlation id on every line.

The correlation id lives in a context variable: the gRPC interceptor sets it from the
`x-correlation-id` metadata entry (or makes one), the consumer sets it from the message
headers, and the outbox copies it into every event it writes, so one id follows a request
through every service it touches.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

CORRELATION_HEADER = "x-correlation-id"

_correlation_id: contextvars.ContextVar[str] = contextvars.ContextVar("correlation_id", default="")

# Attributes every LogRecord has; anything else passed in `extra=` is emitted as a field.
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def correlation_id() -> str:
    return _correlation_id.get()


@contextlib.contextmanager
def correlation_scope(value: str | None) -> Iterator[str]:
    """Runs the block with `value` (or a fresh id) as the current correlation id."""
    token = _correlation_id.set(value or new_correlation_id())
    try:
        yield _correlation_id.get()
    finally:
        _correlation_id.reset(token)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self._service,
            "logger": record.name,
            "correlation_id": _correlation_id.get(),
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # The AMQP client logs every reconnect attempt at INFO with tracebacks; keep warnings.
    logging.getLogger("aiormq").setLevel(logging.WARNING)
    logging.getLogger("aio_pika").setLevel(logging.WARNING)
