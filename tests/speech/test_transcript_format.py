"""Recognitions as batch transcription files: the fields and values a v3.2 client reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from speech.engine import Recognition, Word, recognition
from speech.transcript_format import iso_duration, ticks, transcription_report, transcription_result

MOMENT = datetime(2025, 5, 24, 13, 37, 5, tzinfo=UTC)
SOURCE = "https://attune.example/audio/hello.wav"
HELLO_WORLD = recognition([Word("hello", 0.76, 1.52, 0.9), Word("world", 1.52, 2.08, 0.5)], audio_seconds=2.58)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0, 0), (1, 10_000_000), (0.76, 7_600_000), (2.58, 25_800_000), (1e-7, 1), (1.23456789, 12_345_679)],
)
def test_ticks_are_hundreds_of_nanoseconds(seconds: float, expected: int) -> None:
    assert ticks(seconds) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "PT0S"),
        (3, "PT3S"),
        (2.58, "PT2.58S"),
        (0.76, "PT0.76S"),
        (0.5, "PT0.5S"),
        (60, "PT1M"),
        (252, "PT4M12S"),
        (252.34, "PT4M12.34S"),
        (3600, "PT1H"),
        (3723.5, "PT1H2M3.5S"),
        (3603, "PT1H3S"),
        (1e-7, "PT0.0000001S"),
        (86_400, "P1D"),
        (90_000.25, "P1DT1H0.25S"),
    ],
)
def test_iso_durations_name_only_the_parts_that_are_not_zero(seconds: float, expected: str) -> None:
    assert iso_duration(seconds) == expected


def test_negative_times_are_refused() -> None:
    with pytest.raises(ValueError):
        ticks(-0.1)


def test_a_recognition_with_word_timestamps() -> None:
    result = transcription_result(SOURCE, HELLO_WORLD, timestamp=MOMENT, word_level_timestamps=True)

    texts = {"lexical": "hello world", "itn": "hello world", "maskedITN": "hello world", "display": "Hello world."}
    assert result == {
        "source": SOURCE,
        "timestamp": "2025-05-24T13:37:05Z",
        "durationInTicks": 25_800_000,
        "durationMilliseconds": 2580,
        "duration": "PT2.58S",
        "combinedRecognizedPhrases": [{"channel": 0, **texts}],
        "recognizedPhrases": [
            {
                "recognitionStatus": "Success",
                "channel": 0,
                "offset": "PT0.76S",
                "duration": "PT1.32S",
                "offsetInTicks": 7_600_000,
                "durationInTicks": 13_200_000,
                "nBest": [
                    {
                        "confidence": pytest.approx(0.7),
                        **texts,
                        "words": [
                            {
                                "word": "hello",
                                "offset": "PT0.76S",
                                "duration": "PT0.76S",
                                "offsetInTicks": 7_600_000,
                                "durationInTicks": 7_600_000,
                                "confidence": 0.9,
                            },
                            {
                                "word": "world",
                                "offset": "PT1.52S",
                                "duration": "PT0.56S",
                                "offsetInTicks": 15_200_000,
                                "durationInTicks": 5_600_000,
                                "confidence": 0.5,
                            },
                        ],
                    }
                ],
            }
        ],
    }
    tick_fields = [result["durationInTicks"]]
    tick_fields += [
        phrase[key] for phrase in result["recognizedPhrases"] for key in ("offsetInTicks", "durationInTicks")
    ]
    assert all(type(value) is int for value in tick_fields)


def test_without_word_timestamps_there_is_no_words_key() -> None:
    result = transcription_result(SOURCE, HELLO_WORLD, timestamp=MOMENT, word_level_timestamps=False)

    (phrase,) = result["recognizedPhrases"]
    (best,) = phrase["nBest"]
    assert "words" not in best
    assert (phrase["offset"], phrase["duration"]) == ("PT0.76S", "PT1.32S")
    assert best["lexical"] == "hello world"


def test_silence_gives_no_phrase_but_an_empty_combined_one() -> None:
    silence = recognition([], audio_seconds=3.0)

    result = transcription_result(SOURCE, silence, timestamp=MOMENT, word_level_timestamps=True)

    assert result["recognizedPhrases"] == []
    assert result["combinedRecognizedPhrases"] == [
        {"channel": 0, "lexical": "", "itn": "", "maskedITN": "", "display": ""}
    ]
    assert (result["durationInTicks"], result["durationMilliseconds"], result["duration"]) == (30_000_000, 3000, "PT3S")


def test_text_without_word_times_spans_the_whole_audio() -> None:
    untimed = Recognition("good morning", (), 0.8, audio_seconds=252.0)

    result = transcription_result(SOURCE, untimed, timestamp=MOMENT, word_level_timestamps=True)

    (phrase,) = result["recognizedPhrases"]
    assert (phrase["offset"], phrase["duration"]) == ("PT0S", "PT4M12S")
    assert (phrase["offsetInTicks"], phrase["durationInTicks"]) == (0, 2_520_000_000)
    assert phrase["nBest"][0]["words"] == []


def test_round_numbers_of_seconds() -> None:
    words = [Word("one", 1.0, 2.0, 1.0), Word("two", 60.0, 61.0, 1.0), Word("three", 3600.0, 3603.0, 1.0)]
    long = recognition(words, audio_seconds=3723.5)

    result = transcription_result(SOURCE, long, timestamp=MOMENT, word_level_timestamps=True)

    assert (result["duration"], result["durationInTicks"], result["durationMilliseconds"]) == (
        "PT1H2M3.5S",
        37_235_000_000,
        3_723_500,
    )
    (phrase,) = result["recognizedPhrases"]
    assert (phrase["offset"], phrase["duration"]) == ("PT1S", "PT1H2S")
    spans = [(w["offset"], w["duration"]) for w in phrase["nBest"][0]["words"]]
    assert spans == [("PT1S", "PT1S"), ("PT1M", "PT1S"), ("PT1H", "PT3S")]


def test_a_given_display_text_replaces_the_derived_one() -> None:
    result = transcription_result(
        SOURCE, HELLO_WORLD, timestamp=MOMENT, word_level_timestamps=False, display="Hello, world!"
    )

    assert result["combinedRecognizedPhrases"][0]["display"] == "Hello, world!"
    assert result["recognizedPhrases"][0]["nBest"][0]["display"] == "Hello, world!"
    assert result["recognizedPhrases"][0]["nBest"][0]["lexical"] == "hello world"


def test_the_timestamp_is_written_in_utc() -> None:
    paris = datetime(2025, 5, 24, 15, 37, 5, 123456, tzinfo=timezone(timedelta(hours=2)))

    result = transcription_result(SOURCE, HELLO_WORLD, timestamp=paris, word_level_timestamps=False)

    assert result["timestamp"] == "2025-05-24T13:37:05Z"
    with pytest.raises(ValueError):
        transcription_result(SOURCE, HELLO_WORLD, timestamp=datetime(2025, 5, 24), word_level_timestamps=False)


def test_results_survive_json() -> None:
    for words in (True, False):
        result = transcription_result(SOURCE, HELLO_WORLD, timestamp=MOMENT, word_level_timestamps=words)
        assert json.loads(json.dumps(result)) == result
    report = transcription_report([SOURCE], [("b.wav", "not a RIFF WAV file")])
    assert json.loads(json.dumps(report)) == report


def test_the_report_counts_and_lists_every_source() -> None:
    report = transcription_report(["a.wav", "b.wav"], [("c.wav", "The audio is not 16-bit PCM.")])

    assert report == {
        "successfulTranscriptionsCount": 2,
        "failedTranscriptionsCount": 1,
        "details": [
            {"source": "a.wav", "status": "Succeeded"},
            {"source": "b.wav", "status": "Succeeded"},
            {
                "source": "c.wav",
                "status": "Failed",
                "errorKind": "InvalidData",
                "errorMessage": "The audio is not 16-bit PCM.",
            },
        ],
    }


def test_an_empty_job_reports_nothing() -> None:
    assert transcription_report([], []) == {
        "successfulTranscriptionsCount": 0,
        "failedTranscriptionsCount": 0,
        "details": [],
    }
