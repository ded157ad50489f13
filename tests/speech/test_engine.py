"""The bare engine in this process: what it recognises on librivox, and how audio gets to it."""

from __future__ import annotations

import atexit
import io
import shutil
import tempfile
import wave
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import jiwer
import numpy as np
import pytest

from speech.audio import read_pcm
from speech.corpora import LIBRIVOX, read_sphinx_transcription
from speech.engine import ModelLoadError, Recognition, spoken_text, spoken_word
from speech.engines import load_model
from speech.normalize import normalize
from speech.packages import bundled_base_package, write_manifest
from speech.pocketsphinx_engine import PocketSphinxModel
from speech.resample import Upsampler, interpolation_filter, read_engine_pcm, upsample_2x
from tests.ingest.corpus import wav

CREATED = datetime(2025, 1, 1, tzinfo=UTC)
BUNDLED = {
    "acousticModel": "bundled:en-us/en-us",
    "languageModel": "bundled:en-us/en-us.lm.bin",
    "dictionary": "bundled:en-us/cmudict-en-us.dict",
}


@cache
def librivox_transcripts() -> dict[str, str]:
    return read_sphinx_transcription(LIBRIVOX / "transcription")


@cache
def librivox_pcm(name: str) -> bytes:
    return read_pcm((LIBRIVOX / name).read_bytes()).samples


@cache
def base_package() -> Path:
    """The bundled base model's package (a manifest only), shared by the modules of this run."""
    directory = Path(tempfile.mkdtemp(prefix="attune-base-"))
    atexit.register(shutil.rmtree, directory, True)
    bundled_base_package(directory, "base-en-us", CREATED)
    return directory


@cache
def bare_model() -> PocketSphinxModel:
    model = load_model(base_package())
    assert isinstance(model, PocketSphinxModel)
    return model


@cache
def bare_recognitions() -> dict[str, Recognition]:
    """Each librivox file recognised by the engine in this process (the reference for the pool)."""
    return {name: bare_model().recognize(librivox_pcm(name)) for name in sorted(librivox_transcripts())}


def word_error_rate(hypotheses: dict[str, str]) -> float:
    names = sorted(librivox_transcripts())
    return float(
        jiwer.wer(
            [normalize(librivox_transcripts()[n]) for n in names],
            [normalize(hypotheses[n]) for n in names],
        )
    )


def downsample_to_8k(pcm16k: bytes) -> bytes:
    """What a telephone line would deliver: low-pass under 4 kHz, then every other sample."""
    samples = np.frombuffer(pcm16k, dtype="<i2").astype(np.float64)
    filtered = np.convolve(samples, interpolation_filter() / 2, mode="same")[::2]
    return np.clip(np.round(filtered), -32768, 32767).astype("<i2").tobytes()


def test_librivox_is_recognised_with_sensible_words() -> None:
    results = bare_recognitions()
    assert word_error_rate({n: r.text for n, r in results.items()}) < 0.5
    for name, result in results.items():
        assert result.audio_seconds == pytest.approx(len(librivox_pcm(name)) / 32000)
        assert result.text == " ".join(w.word for w in result.words)
        assert 0.0 <= result.confidence <= 1.0


def test_word_times_increase_within_the_audio_and_confidences_are_probabilities() -> None:
    for result in bare_recognitions().values():
        assert result.words
        previous_end = 0.0
        for word in result.words:
            assert previous_end <= word.start_s < word.end_s <= result.audio_seconds
            assert 0.0 <= word.confidence <= 1.0
            previous_end = word.end_s
        # A recording starts and ends with some silence; no word claims it all.
        assert result.words[0].start_s > 0.05


def test_no_filler_token_reaches_the_result() -> None:
    for result in bare_recognitions().values():
        for word in result.words:
            assert spoken_word(word.word) == word.word
            assert not any(c in word.word for c in "<>[]()+")


@pytest.mark.parametrize(
    ("hypothesis", "text"),
    [
        ("<s> hello(2) <sil> [NOISE] ++UM++ world </s>", "hello world"),
        ("[SPEECH] +NSN+ <sil>", ""),
        ("don't stop(3)", "don't stop"),
    ],
)
def test_fillers_and_pronunciation_suffixes_are_removed(hypothesis: str, text: str) -> None:
    assert spoken_text(hypothesis) == text


def test_a_result_does_not_depend_on_what_the_decoder_heard_before() -> None:
    model = bare_model()
    name = sorted(librivox_transcripts())[1]
    other = librivox_pcm(sorted(librivox_transcripts())[0])
    stream = model.stream()
    stream.feed(other[: len(other) // 2])
    stream.close()
    model.recognize(other)
    assert model.recognize(librivox_pcm(name)) == bare_recognitions()[name]


def test_empty_audio_gives_an_empty_result() -> None:
    assert bare_model().recognize(b"") == Recognition("", (), 0.0, 0.0)


def test_odd_length_audio_is_refused() -> None:
    with pytest.raises(ValueError, match="16-bit samples"):
        bare_model().recognize(b"\x00\x01\x02")


def test_upsampling_is_aligned_twice_as_long_and_low_passed() -> None:
    rate = 8000
    t = np.arange(rate) / rate
    tone = (12000 * np.sin(2 * np.pi * 1000 * t)).astype("<i2").tobytes()
    up = np.frombuffer(upsample_2x(tone), dtype="<i2").astype(np.float64)
    assert len(up) == 2 * rate
    expected = 12000 * np.sin(2 * np.pi * 1000 * np.arange(2 * rate) / (2 * rate))
    # No delay and no sample-and-hold staircase: within rounding of the ideal 16 kHz tone.
    assert np.abs(up[200:-200] - expected[200:-200]).max() < 2

    high = (12000 * np.sin(2 * np.pi * 3000 * t)).astype("<i2").tobytes()
    spectrum = np.abs(np.fft.rfft(np.frombuffer(upsample_2x(high), dtype="<i2") * np.hanning(2 * rate)))
    frequencies = np.fft.rfftfreq(2 * rate, 1 / 16000)
    tone_level = spectrum[np.argmin(np.abs(frequencies - 3000))]
    image_level = spectrum[np.argmin(np.abs(frequencies - 5000))]
    assert 20 * np.log10(image_level / tone_level) < -60


def test_upsampling_a_stream_gives_the_same_bytes_whatever_the_chunks() -> None:
    noise = np.random.default_rng(7).integers(-20000, 20000, 9001).astype("<i2").tobytes()
    whole = upsample_2x(noise)
    for chunk in (1, 3, 800, 1601):
        upsampler = Upsampler()
        pieces = [upsampler.process(noise[i : i + chunk]) for i in range(0, len(noise), chunk)]
        assert b"".join(pieces) + upsampler.flush() == whole


def test_wav_bytes_at_either_rate_become_engine_pcm() -> None:
    name = sorted(librivox_transcripts())[1]
    data = (LIBRIVOX / name).read_bytes()
    assert read_engine_pcm(data) == librivox_pcm(name)
    assert len(read_engine_pcm(wav(rate=8000, seconds=1.5))) == 2 * 16000 * 3 // 2
    assert len(read_engine_pcm(librivox_wav_8k(name))) == len(librivox_pcm(name))


def test_dictionary_additions_add_words_and_alternate_pronunciations(tmp_path: Path) -> None:
    (tmp_path / "additions.dict").write_text(
        "# pronunciations from a dataset\nxeljanz Z EH L JH AE N Z\nhello HH AH L OW W\nhello HH EH L OW\n",
        encoding="utf-8",
    )
    write_manifest(
        tmp_path,
        model_id="custom",
        base_model_id="base-en-us",
        kind="custom",
        created=CREATED,
        resources={**BUNDLED, "dictionaryAdditions": "additions.dict"},
    )
    model = load_model(tmp_path)
    assert isinstance(model, PocketSphinxModel)
    decoder = model.take_decoder()
    assert decoder.lookup_word("xeljanz") == "Z EH L JH AE N Z"
    # cmudict already has hello and hello(2) (= HH EH L OW, so not added twice).
    assert decoder.lookup_word("hello(3)") == "HH AH L OW W"
    assert decoder.lookup_word("hello(4)") is None


def test_a_pronunciation_with_an_unknown_phone_fails_the_load(tmp_path: Path) -> None:
    (tmp_path / "additions.dict").write_text("xeljanz Z EH QQ\n", encoding="utf-8")
    write_manifest(
        tmp_path,
        model_id="custom",
        base_model_id="base-en-us",
        kind="custom",
        created=CREATED,
        resources={**BUNDLED, "dictionaryAdditions": "additions.dict"},
    )
    with pytest.raises(ModelLoadError, match="xeljanz"):
        load_model(tmp_path)


def test_a_corrupt_language_model_fails_the_load_with_the_engine_s_reason(tmp_path: Path) -> None:
    (tmp_path / "domain.lm.bin").write_bytes(b"not a language model\n" * 10)
    write_manifest(
        tmp_path,
        model_id="custom",
        base_model_id="base-en-us",
        kind="custom",
        created=CREATED,
        resources={**BUNDLED, "languageModel": "domain.lm.bin"},
    )
    with pytest.raises(ModelLoadError, match=r"model custom: .*(LM|dump|header)"):
        load_model(tmp_path)


def librivox_wav_8k(name: str) -> bytes:
    """A librivox recording as an 8 kHz WAV file."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(downsample_to_8k(librivox_pcm(name)))
    return buffer.getvalue()
