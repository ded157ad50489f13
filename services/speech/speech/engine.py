"""The recognition engine interface: what evaluator, trainer and deployer ask of an engine.

An engine loads a model package into a `LoadedModel`, which recognises a whole recording
(`recognize`) or a stream fed chunk by chunk (`stream`). Input is always 16 kHz 16-bit
mono PCM (`speech.resample` brings 8 kHz audio there). Results never contain the engine's
filler tokens (sentence marks, silence, noise, alternate-pronunciation suffixes), so what
a user reads, and what scoring sees, is words only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

SAMPLE_RATE = 16000
BYTES_PER_SECOND = 2 * SAMPLE_RATE

_FILLER = re.compile(r"^(?:<.*>|\[.*\]|\+\+.*\+\+|\+.*\+)$")
_ALTERNATE = re.compile(r"\(\d+\)$")


class ModelLoadError(RuntimeError):
    """A model package could not be loaded; the message says why."""


@dataclass(frozen=True)
class Word:
    word: str
    start_s: float
    end_s: float
    # Posterior probability of the word given the audio, in [0, 1].
    confidence: float


@dataclass(frozen=True)
class Recognition:
    text: str
    words: tuple[Word, ...]
    # Mean word confidence; 0.0 when nothing was recognised.
    confidence: float
    audio_seconds: float


class RecognitionStream(Protocol):
    def feed(self, pcm16k: bytes) -> str:
        """Decodes a chunk; returns the partial text recognised so far."""

    def finish(self) -> Recognition:
        """The final result; the stream cannot be fed afterwards."""

    def close(self) -> None:
        """Releases the stream's decoder (also when it was never finished)."""


class LoadedModel(Protocol):
    model_id: str

    def recognize(self, pcm16k: bytes) -> Recognition: ...

    def stream(self) -> RecognitionStream: ...


def spoken_word(token: str) -> str | None:
    """The word a decoder token stands for, or None for fillers (`<sil>`, `[NOISE]`, ...)."""
    if _FILLER.match(token):
        return None
    return _ALTERNATE.sub("", token) or None


def spoken_text(hypothesis: str) -> str:
    """A decoder's hypothesis string with fillers and pronunciation suffixes removed."""
    return " ".join(w for w in map(spoken_word, hypothesis.split()) if w)


def recognition(words: list[Word], audio_seconds: float) -> Recognition:
    """A result from the spoken words of an utterance."""
    confidence = sum(w.confidence for w in words) / len(words) if words else 0.0
    return Recognition(" ".join(w.word for w in words), tuple(words), confidence, audio_seconds)


def check_pcm(pcm16k: bytes) -> None:
    if len(pcm16k) % 2:
        raise ValueError("PCM audio must be whole 16-bit samples (an even number of bytes)")
