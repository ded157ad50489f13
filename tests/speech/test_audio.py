"""WAV header checks: what is accepted, and the reason given for each thing refused."""

from __future__ import annotations

import io

import pytest

from speech.audio import InvalidAudio, inspect_wav
from tests.ingest.corpus import BAD_AUDIO, LIBRIVOX, wav


def check(data: bytes) -> object:
    return inspect_wav(io.BytesIO(data), len(data))


def test_librivox_recording_is_accepted_with_its_duration() -> None:
    data = (LIBRIVOX / "sense_and_sensibility_01_austen_64kb-0880.wav").read_bytes()
    info = inspect_wav(io.BytesIO(data), len(data))
    assert (info.sample_rate, info.channels, info.bits_per_sample) == (16000, 1, 16)
    assert info.duration_seconds == pytest.approx(2.99)


def test_eight_kilohertz_is_accepted() -> None:
    info = inspect_wav(io.BytesIO(wav(rate=8000, seconds=2)), len(wav(rate=8000, seconds=2)))
    assert info.sample_rate == 8000
    assert info.duration_seconds == pytest.approx(2.0)


def test_chunks_before_data_are_skipped() -> None:
    plain = wav(seconds=1)
    # Insert a LIST chunk between fmt and data, as many editors write.
    list_chunk = b"LIST" + (6).to_bytes(4, "little") + b"INFOab"
    data_at = plain.index(b"data")
    data = plain[:data_at] + list_chunk + plain[data_at:]
    assert inspect_wav(io.BytesIO(data), len(data)).duration_seconds == pytest.approx(1.0)


@pytest.mark.parametrize("bad", [b for b in BAD_AUDIO if b.name.endswith(".wav")], ids=lambda b: b.name)
def test_each_bad_file_is_refused_with_its_reason(bad: object) -> None:
    with pytest.raises(InvalidAudio, match=bad.reason_contains):  # type: ignore[attr-defined]
        check(bad.content)  # type: ignore[attr-defined]


def test_audio_shorter_than_its_header_claims_is_refused() -> None:
    data = wav(seconds=1)[:-100]
    with pytest.raises(InvalidAudio, match="truncated audio"):
        check(data)
