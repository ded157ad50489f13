"""The PocketSphinx 5 engine: a model package turned into decoders, and decoders into results.

A `pocketsphinx.Decoder` holds the whole model (~95 MB, ~0.3 s to create), so a loaded
model keeps a few idle decoders and reuses them: a request takes one and gives it back.
Each decode starts from fresh feature state (`reinit_feat`: cepstral mean and noise
estimate), so a result never depends on what the decoder heard before.

A whole recording is decoded as one utterance with batch cepstral mean normalisation
(`full_utt`), the engine's most accurate mode. A stream is decoded live for its partial
results, which can only normalise with a running mean; its final result decodes
everything it was fed the same way as a whole recording, so a streamed result equals the
result for the same audio sent at once.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from pocketsphinx import Decoder

from speech.engine import (
    BYTES_PER_SECOND,
    ModelLoadError,
    Recognition,
    Word,
    check_pcm,
    recognition,
    spoken_text,
    spoken_word,
)
from speech.packages import InvalidPackage, Manifest, resolve_resource

# Decoders kept for reuse per model beyond those held by open streams.
MAX_IDLE_DECODERS = 2


def read_pronunciations(path: Path) -> list[tuple[str, str]]:
    """`word PH1 PH2 ...` lines (the CMU dictionary's format) as (word, phones) pairs."""
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.split()
        if not fields or line.lstrip().startswith(("#", ";;;")):
            continue
        if len(fields) < 2:
            raise ModelLoadError(f"dictionary additions line {number}: a word needs at least one phone")
        word = spoken_word(fields[0])
        if word is None:
            raise ModelLoadError(f"dictionary additions line {number}: {fields[0]!r} is not a word")
        entries.append((word, " ".join(fields[1:])))
    return entries


def add_pronunciations(decoder: Decoder, entries: list[tuple[str, str]]) -> None:
    """Adds pronunciations, as alternates (`word(2)`, ...) of words the dictionary knows."""
    planned: dict[str, str] = {}
    for word, phones in entries:
        known = []
        key = word
        while (existing := planned.get(key) or decoder.lookup_word(key)) is not None:
            known.append(existing)
            key = f"{word}({len(known) + 1})"
        if phones not in known:
            planned[key] = phones
    # Rebuilding the search after each word is slow; it happens once, with the last one.
    for index, (key, phones) in enumerate(planned.items()):
        try:
            decoder.add_word(key, phones, update=index == len(planned) - 1)
        except RuntimeError:
            raise ModelLoadError(f"cannot add pronunciation {key!r}: {phones!r} (unknown phone?)") from None


def _failure_reason(config: dict[str, Any]) -> str:
    """Runs the failing initialisation again with error logging to a file, for its reason."""
    with tempfile.NamedTemporaryFile("r", suffix=".log", encoding="utf-8", errors="replace") as log:
        try:
            Decoder(**{**config, "loglevel": "ERROR", "logfn": log.name})
        except RuntimeError:
            pass
        errors = [line.strip() for line in log.read().splitlines() if "ERROR" in line]
    return errors[-1] if errors else "PocketSphinx could not initialise the decoder"


class PocketSphinxModel:
    """A model package loaded into PocketSphinx, with a small pool of reusable decoders."""

    def __init__(self, model_id: str, config: dict[str, Any], pronunciations: list[tuple[str, str]]) -> None:
        self.model_id = model_id
        self._config = config
        self._pronunciations = pronunciations
        self._idle: list[Decoder] = []

    @classmethod
    def load(cls, package_dir: Path, manifest: Manifest) -> PocketSphinxModel:
        """Loads the package and creates its first decoder; ModelLoadError says what failed."""
        try:
            paths = {key: resolve_resource(package_dir, manifest, key) for key in manifest.resources}
        except InvalidPackage as exc:
            raise ModelLoadError(str(exc)) from None
        config: dict[str, Any] = {
            "hmm": str(paths["acousticModel"]),
            "lm": str(paths["languageModel"]),
            "dict": str(paths["dictionary"]),
            "loglevel": "FATAL",
        }
        if paths.get("mllr"):
            config["mllr"] = str(paths["mllr"])
        additions = paths.get("dictionaryAdditions")
        model = cls(manifest.model_id, config, read_pronunciations(additions) if additions else [])
        model._idle.append(model._new_decoder())
        return model

    def _new_decoder(self) -> Decoder:
        try:
            decoder = Decoder(**self._config)
        except RuntimeError:
            raise ModelLoadError(f"model {self.model_id}: {_failure_reason(self._config)}") from None
        add_pronunciations(decoder, self._pronunciations)
        return decoder

    def take_decoder(self) -> Decoder:
        return self._idle.pop() if self._idle else self._new_decoder()

    def give_back(self, decoder: Decoder) -> None:
        if len(self._idle) < MAX_IDLE_DECODERS:
            self._idle.append(decoder)

    def recognize(self, pcm16k: bytes) -> Recognition:
        check_pcm(pcm16k)
        decoder = self.take_decoder()
        # A decoder that failed mid-utterance is dropped, not reused.
        result = decode_utterance(decoder, pcm16k)
        self.give_back(decoder)
        return result

    def stream(self) -> PocketSphinxStream:
        return PocketSphinxStream(self, self.take_decoder())


def decode_utterance(decoder: Decoder, pcm16k: bytes) -> Recognition:
    """Decodes a whole recording as one utterance (batch normalisation)."""
    decoder.reinit_feat()
    decoder.start_utt()
    if pcm16k:
        decoder.process_raw(pcm16k, full_utt=True)
    decoder.end_utt()
    return _result(decoder, len(pcm16k) / BYTES_PER_SECOND)


def _result(decoder: Decoder, audio_seconds: float) -> Recognition:
    frame_rate = decoder.config["frate"]
    words = []
    for segment in decoder.seg() or ():
        word = spoken_word(segment.word)
        if word is None:
            continue
        # Frame indices are inclusive; `prob` is already a probability (exp of the log posterior).
        start = segment.start_frame / frame_rate
        end = min((segment.end_frame + 1) / frame_rate, audio_seconds)
        words.append(Word(word, start, end, min(max(segment.prob, 0.0), 1.0)))
    return recognition(words, audio_seconds)


class PocketSphinxStream:
    """A live utterance on a decoder of its own, for partial results while audio arrives."""

    def __init__(self, model: PocketSphinxModel, decoder: Decoder) -> None:
        self._model = model
        self._decoder: Decoder | None = decoder
        self._audio = bytearray()
        self._pending = b""
        decoder.reinit_feat()
        decoder.start_utt()

    def feed(self, pcm16k: bytes) -> str:
        decoder = self._live()
        data = self._pending + pcm16k
        whole = len(data) - len(data) % 2
        self._pending = data[whole:]
        if whole:
            decoder.process_raw(data[:whole], full_utt=False)
            self._audio += data[:whole]
        hypothesis = decoder.hyp()
        return spoken_text(hypothesis.hypstr) if hypothesis else ""

    def finish(self) -> Recognition:
        decoder = self._live()
        check_pcm(self._pending)
        self._decoder = None
        decoder.end_utt()
        result = decode_utterance(decoder, bytes(self._audio))
        self._model.give_back(decoder)
        return result

    def close(self) -> None:
        if self._decoder is not None:
            decoder, self._decoder = self._decoder, None
            decoder.end_utt()
            self._model.give_back(decoder)

    def _live(self) -> Decoder:
        if self._decoder is None:
            raise RuntimeError("the stream is already finished")
        return self._decoder
