"""Time as services see it. Lifecycle rules (deprecation dates) read the clock through this,
so an operator or a test can move "now" (setting `NOW`) without touching the system time."""

from __future__ import annotations

from datetime import UTC, datetime


class Clock:
    def __init__(self, fixed: datetime | None = None) -> None:
        if fixed is not None and fixed.tzinfo is None:
            raise ValueError("a fixed time must carry a time zone")
        self._fixed = fixed

    def now(self) -> datetime:
        return self._fixed if self._fixed is not None else datetime.now(UTC)
