"""Model lifecycle: how long a model may be adapted and may decode.

A base model can be adapted for one year after it was imported and decodes for two; a custom
model decodes for two years after it was created. When a model may no longer decode, the
newest base model of its locale that still may decodes in its place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

ADAPTATION_YEARS = 1
TRANSCRIPTION_YEARS = 2


@dataclass(frozen=True)
class DeprecationDates:
    adaptation_until: datetime | None
    transcription_until: datetime


def years_after(moment: datetime, years: int) -> datetime:
    """The same calendar date `years` later (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


def base_model_dates(imported_at: datetime) -> DeprecationDates:
    return DeprecationDates(years_after(imported_at, ADAPTATION_YEARS), years_after(imported_at, TRANSCRIPTION_YEARS))


def custom_model_dates(created_at: datetime) -> DeprecationDates:
    return DeprecationDates(None, years_after(created_at, TRANSCRIPTION_YEARS))


def may_transcribe(transcription_until: datetime, now: datetime) -> bool:
    return now < transcription_until


def may_adapt(adaptation_until: datetime | None, now: datetime) -> bool:
    return adaptation_until is not None and now < adaptation_until
