"""Bringing 8 kHz telephone audio to the 16 kHz the recognition engine expects.

Upsampling by two is zero-stuffing followed by a windowed-sinc low-pass FIR (a Kaiser
window, cut-off just under the 4 kHz input Nyquist frequency), evaluated as two polyphase
branches. The taps are fixed-point and the arithmetic is exact integer arithmetic, so the
output does not depend on how the input was split into chunks: a stream resampled 0.1 s
at a time gives byte for byte what the whole recording resampled at once gives, and the
filter's delay is removed so word times stay where they were.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt

from speech.audio import ACCEPTED_SAMPLE_RATES, read_pcm

ENGINE_SAMPLE_RATE = 16000
TAPS = 127
# Pass band to ~3.5 kHz, stop band from ~4.1 kHz: the images of 0-4 kHz land above 4 kHz.
CUTOFF_HZ = 3800.0
KAISER_BETA = 8.0
_SCALE_BITS = 16


@cache
def interpolation_filter() -> npt.NDArray[np.float64]:
    """The low-pass taps at 16 kHz, with the gain of 2 that zero-stuffing takes away."""
    centre = (TAPS - 1) / 2
    n = np.arange(TAPS) - centre
    normalised_cutoff = 2 * CUTOFF_HZ / ENGINE_SAMPLE_RATE
    taps = normalised_cutoff * np.sinc(normalised_cutoff * n) * np.kaiser(TAPS, KAISER_BETA)
    taps *= 2 / taps.sum()
    return taps


@cache
def _polyphase() -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    fixed = np.round(np.append(interpolation_filter(), 0.0) * (1 << _SCALE_BITS)).astype(np.int64)
    return fixed[0::2], fixed[1::2]


class Upsampler:
    """Stateful 8 -> 16 kHz conversion of 16-bit PCM chunks.

    `process` returns what can be output so far (the filter holds back a few milliseconds);
    `flush` returns the rest, so that in total the output is exactly twice as long as the
    input and aligned with it.
    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        even, _ = _polyphase()
        self._history = np.zeros(len(even) - 1, dtype=np.int64)
        self._to_skip = (TAPS - 1) // 2
        self._samples_in = 0
        self._samples_out = 0
        self._odd_byte = b""

    def process(self, pcm8k: bytes) -> bytes:
        data = self._odd_byte + pcm8k
        whole = len(data) - len(data) % 2
        self._odd_byte = data[whole:]
        samples = np.frombuffer(data[:whole], dtype="<i2").astype(np.int64)
        self._samples_in += len(samples)
        out = self._filter(samples)
        self._samples_out += len(out)
        return _to_pcm(out)

    def flush(self) -> bytes:
        """The held-back tail; afterwards the upsampler is back at its initial state."""
        missing = 2 * self._samples_in - self._samples_out
        zeros = -(-(missing + self._to_skip) // 2)
        tail = self._filter(np.zeros(zeros, dtype=np.int64))[:missing]
        self._reset()
        return _to_pcm(tail)

    def _filter(self, samples: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Filter outputs for `samples`, the first `_to_skip` (the filter's delay) dropped."""
        if not len(samples):
            return samples
        even, odd = _polyphase()
        padded = np.concatenate([self._history, samples])
        self._history = padded[len(padded) - len(self._history) :]
        out = np.empty(2 * len(samples), dtype=np.int64)
        out[0::2] = np.convolve(padded, even, mode="valid")
        out[1::2] = np.convolve(padded, odd, mode="valid")
        skip = min(self._to_skip, len(out))
        self._to_skip -= skip
        return out[skip:]


def _to_pcm(fixed: npt.NDArray[np.int64]) -> bytes:
    rounded = (fixed + (1 << (_SCALE_BITS - 1))) >> _SCALE_BITS
    return np.clip(rounded, -32768, 32767).astype("<i2").tobytes()


def upsample_2x(pcm8k: bytes) -> bytes:
    """A whole 8 kHz recording at 16 kHz (the same bytes as streaming it through `Upsampler`)."""
    upsampler = Upsampler()
    return upsampler.process(pcm8k) + upsampler.flush()


def to_engine_rate(pcm: bytes, sample_rate: int) -> bytes:
    """16-bit PCM at one of the accepted rates, as 16 kHz PCM."""
    if sample_rate == ENGINE_SAMPLE_RATE:
        return pcm
    if sample_rate == 8000:
        return upsample_2x(pcm)
    raise ValueError(f"sample rate {sample_rate} Hz: one of {ACCEPTED_SAMPLE_RATES} Hz is required")


def read_engine_pcm(wav: bytes) -> bytes:
    """The samples of a WAV file (8 or 16 kHz) as the engine's 16 kHz PCM."""
    pcm = read_pcm(wav)
    return to_engine_rate(pcm.samples, pcm.sample_rate)


class StreamConverter:
    """Chunks of a stream at an accepted rate in, 16 kHz chunks out."""

    def __init__(self, sample_rate: int) -> None:
        if sample_rate not in ACCEPTED_SAMPLE_RATES:
            raise ValueError(f"sample rate {sample_rate} Hz: one of {ACCEPTED_SAMPLE_RATES} Hz is required")
        self._upsampler = Upsampler() if sample_rate != ENGINE_SAMPLE_RATE else None

    def process(self, pcm: bytes) -> bytes:
        return self._upsampler.process(pcm) if self._upsampler else pcm

    def flush(self) -> bytes:
        return self._upsampler.flush() if self._upsampler else b""
