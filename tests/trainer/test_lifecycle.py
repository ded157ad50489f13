"""Deprecation dates count calendar years from import (base) or creation (custom)."""

from __future__ import annotations

from datetime import UTC, datetime

from trainer.lifecycle import base_model_dates, custom_model_dates, may_adapt, may_transcribe


def test_base_model_adapts_for_a_year_and_decodes_for_two() -> None:
    dates = base_model_dates(datetime(2027, 6, 1, 12, tzinfo=UTC))
    assert dates.adaptation_until == datetime(2028, 6, 1, 12, tzinfo=UTC)
    assert dates.transcription_until == datetime(2029, 6, 1, 12, tzinfo=UTC)
    assert may_adapt(dates.adaptation_until, datetime(2028, 5, 31, tzinfo=UTC))
    assert not may_adapt(dates.adaptation_until, datetime(2028, 6, 2, tzinfo=UTC))
    assert may_transcribe(dates.transcription_until, datetime(2029, 6, 1, 11, tzinfo=UTC))
    assert not may_transcribe(dates.transcription_until, datetime(2029, 6, 1, 12, tzinfo=UTC))


def test_leap_day_and_custom_models() -> None:
    assert base_model_dates(datetime(2028, 2, 29, tzinfo=UTC)).adaptation_until == datetime(2029, 2, 28, tzinfo=UTC)
    custom = custom_model_dates(datetime(2027, 1, 10, tzinfo=UTC))
    assert custom.adaptation_until is None and not may_adapt(custom.adaptation_until, datetime(2027, 1, 11, tzinfo=UTC))
    assert custom.transcription_until == datetime(2029, 1, 10, tzinfo=UTC)
