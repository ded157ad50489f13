"""Recognitions as the documents of Speech-to-text v3.2 batch transcription.

A transcription job writes one `Transcription` file per source it recognised and one
`TranscriptionReport` file for the whole job. These functions build those JSON documents
(plain dicts, ready for `json.dumps`) from engine results, so a client written against the
public API reads Attune's files unchanged. They do no I/O.

Times are kept in ticks (1 tick = 100 ns) and every time is derived from whole ticks, so an
offset plus its duration lands exactly on the next boundary and the ISO 8601 forms agree with
the tick counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from common.wire import iso_utc
from speech.engine import Recognition, Word

TICKS_PER_SECOND = 10_000_000
_TICKS_PER_MILLISECOND = 10_000
_TICKS_PER_MINUTE = 60 * TICKS_PER_SECOND
_TICKS_PER_HOUR = 60 * _TICKS_PER_MINUTE
_TICKS_PER_DAY = 24 * _TICKS_PER_HOUR

# Batch transcription recognises mono audio; everything lands on the first channel.
CHANNEL = 0
# The report's `errorKind` for a source that failed. Attune fails a source only when it cannot
# read its audio. The docs name the field but list no values, so this one is ours.
FAILURE_KIND = "InvalidData"


def ticks(seconds: float) -> int:
    """`seconds` in ticks of 100 ns, rounded to the nearest tick."""
    if seconds < 0:
        raise ValueError(f"a time cannot be negative: {seconds!r}")
    return round(seconds * TICKS_PER_SECOND)


def iso_duration(seconds: float) -> str:
    """`seconds` as an ISO 8601 duration in the API's style: `PT2.58S`, `PT4M12S`, `PT0S`."""
    return _iso_from_ticks(ticks(seconds))


def _iso_from_ticks(total: int) -> str:
    # As in the service's examples (PT2.58S, PT0.76S, PT3S, PT4M12S): only the parts that are
    # not zero, and seconds with as many decimals as they need (at most 7, one per tick digit).
    # Days before the `T` follow .NET's XmlConvert, which the examples never reach.
    days, rest = divmod(total, _TICKS_PER_DAY)
    hours, rest = divmod(rest, _TICKS_PER_HOUR)
    minutes, rest = divmod(rest, _TICKS_PER_MINUTE)
    whole, fraction = divmod(rest, TICKS_PER_SECOND)
    text = f"P{days}D" if days else "P"
    if hours or minutes or rest or not days:
        text += "T"
    if hours:
        text += f"{hours}H"
    if minutes:
        text += f"{minutes}M"
    if fraction:
        text += f"{whole}.{fraction:07d}".rstrip("0") + "S"
    elif whole or total == 0:
        text += f"{whole}S"
    return text


def display_text(lexical: str) -> str:
    """The display form Attune can give without a punctuation model: a capital and a full stop."""
    if not lexical:
        return ""
    return lexical[0].upper() + lexical[1:] + "."


def _span(offset_ticks: int, end_ticks: int) -> dict[str, Any]:
    duration_ticks = end_ticks - offset_ticks
    if duration_ticks < 0:
        raise ValueError(f"a span cannot end before it starts: {offset_ticks} > {end_ticks} ticks")
    return {
        "offset": _iso_from_ticks(offset_ticks),
        "duration": _iso_from_ticks(duration_ticks),
        "offsetInTicks": offset_ticks,
        "durationInTicks": duration_ticks,
    }


def _word(word: Word) -> dict[str, Any]:
    return {"word": word.word, **_span(ticks(word.start_s), ticks(word.end_s)), "confidence": word.confidence}


def _texts(lexical: str, display: str) -> dict[str, str]:
    # No inverse text normalisation yet: the ITN form ("doctor smith" -> "Dr Smith", spelled
    # numbers -> digits) and its profanity-masked variant are the lexical words themselves.
    return {"lexical": lexical, "itn": lexical, "maskedITN": lexical, "display": display}


def transcription_result(
    source: str,
    recognition: Recognition,
    *,
    timestamp: datetime,
    word_level_timestamps: bool,
    display: str | None = None,
) -> dict[str, Any]:
    """The `Transcription` file of one source: its combined text and its recognised phrases.

    The engine returns one utterance per source, so there is one phrase, spanning the first
    word's start to the last word's end (the whole audio when the engine gave no word times).
    Nothing recognised (silence) gives no phrase, as the service does, but still a combined
    phrase with empty texts. `words` are present only with `word_level_timestamps`, as with
    the request property `wordLevelTimestampsEnabled`.
    """
    audio_ticks = ticks(recognition.audio_seconds)
    lexical = recognition.text
    texts = _texts(lexical, display_text(lexical) if display is None else display)
    phrases: list[dict[str, Any]] = []
    if lexical:
        words = recognition.words
        if words:
            span = _span(ticks(words[0].start_s), ticks(words[-1].end_s))
        else:
            span = _span(0, audio_ticks)
        best: dict[str, Any] = {"confidence": recognition.confidence, **texts}
        if word_level_timestamps:
            best["words"] = [_word(w) for w in words]
        phrases.append({"recognitionStatus": "Success", "channel": CHANNEL, **span, "nBest": [best]})
    return {
        "source": source,
        "timestamp": iso_utc(timestamp, "timestamp"),
        "durationInTicks": audio_ticks,
        "durationMilliseconds": (audio_ticks + _TICKS_PER_MILLISECOND // 2) // _TICKS_PER_MILLISECOND,
        "duration": _iso_from_ticks(audio_ticks),
        "combinedRecognizedPhrases": [{"channel": CHANNEL, **texts}],
        "recognizedPhrases": phrases,
    }


def transcription_report(successes: Sequence[str], failures: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The `TranscriptionReport` file of a job: counts, then one line per source.

    `failures` are `(source, error message)` pairs, each reported with `FAILURE_KIND`.
    """
    details: list[dict[str, str]] = [{"source": s, "status": "Succeeded"} for s in successes]
    details += [
        {"source": s, "status": "Failed", "errorKind": FAILURE_KIND, "errorMessage": message} for s, message in failures
    ]
    return {
        "successfulTranscriptionsCount": len(successes),
        "failedTranscriptionsCount": len(failures),
        "details": details,
    }
