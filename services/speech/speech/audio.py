"""Reading and checking RIFF WAV headers: the audio Attune accepts is 16-bit PCM mono, 8 or 16 kHz.

`inspect_wav` reads only the header chunks from a stream, so a file inside a zip can be
checked before a byte of it is stored, and it names exactly what is wrong with a file.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import BinaryIO

ACCEPTED_SAMPLE_RATES = (8000, 16000)
_PCM = 1
_EXTENSIBLE = 0xFFFE
# A header with more chunks than this before `data` is not a recording.
_MAX_CHUNKS = 64


class InvalidAudio(ValueError):
    """The file is not audio Attune accepts; the message says why, for the dataset report."""


@dataclass(frozen=True)
class WavInfo:
    sample_rate: int
    channels: int
    bits_per_sample: int
    data_offset: int
    data_bytes: int

    @property
    def duration_seconds(self) -> float:
        return self.data_bytes / (self.sample_rate * self.channels * self.bits_per_sample // 8)


def _read_exact(stream: BinaryIO, size: int, what: str) -> bytes:
    data = stream.read(size)
    if len(data) < size:
        raise InvalidAudio(f"truncated header: file ends inside the {what}")
    return data


def _skip(stream: BinaryIO, size: int, what: str) -> None:
    remaining = size
    while remaining:
        got = len(stream.read(min(remaining, 65536)))
        if not got:
            raise InvalidAudio(f"truncated header: file ends inside the {what}")
        remaining -= got


def inspect_wav(stream: BinaryIO, total_size: int) -> WavInfo:
    """Checks the header of a WAV file of `total_size` bytes, reading from `stream`'s start."""
    if total_size == 0:
        raise InvalidAudio("zero length: the file is empty")
    head = stream.read(12)
    if len(head) < 12:
        if head[:4] == b"RIFF"[: len(head)]:
            raise InvalidAudio("truncated header: shorter than a RIFF header")
        raise InvalidAudio("not a WAV file: no RIFF/WAVE header")
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise InvalidAudio("not a WAV file: no RIFF/WAVE header")

    fmt: tuple[int, int, int, int] | None = None
    offset = 12
    for _ in range(_MAX_CHUNKS):
        chunk_id, chunk_size = struct.unpack("<4sI", _read_exact(stream, 8, "chunk list"))
        offset += 8
        if chunk_id == b"fmt ":
            if chunk_size < 16:
                raise InvalidAudio("truncated header: fmt chunk shorter than 16 bytes")
            body = _read_exact(stream, chunk_size + (chunk_size & 1), "fmt chunk")
            tag, channels, rate, _byte_rate, _align, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == _EXTENSIBLE and chunk_size >= 40:
                tag = struct.unpack("<H", body[24:26])[0]
            fmt = (tag, channels, rate, bits)
        elif chunk_id == b"data":
            if fmt is None:
                raise InvalidAudio("not a valid WAV file: data chunk before the fmt chunk")
            return _checked(fmt, offset, chunk_size, total_size)
        else:
            _skip(stream, chunk_size + (chunk_size & 1), f"{chunk_id.decode('latin-1')!r} chunk")
        offset += chunk_size + (chunk_size & 1)
    raise InvalidAudio("not a valid WAV file: no data chunk")


def _checked(fmt: tuple[int, int, int, int], data_offset: int, data_bytes: int, total_size: int) -> WavInfo:
    tag, channels, rate, bits = fmt
    if tag != _PCM:
        raise InvalidAudio(f"not PCM: format tag {tag}; 16-bit PCM is required")
    if channels != 1:
        label = "stereo" if channels == 2 else f"{channels} channels"
        raise InvalidAudio(f"{label}: mono (1 channel) is required")
    if rate not in ACCEPTED_SAMPLE_RATES:
        raise InvalidAudio(f"sample rate {rate} Hz: 8000 or 16000 Hz is required")
    if bits != 16:
        raise InvalidAudio(f"{bits}-bit samples: 16-bit is required")
    if data_bytes == 0:
        raise InvalidAudio("zero length: the file holds no audio samples")
    available = total_size - data_offset
    if data_bytes > available:
        raise InvalidAudio(
            f"truncated audio: the header declares {data_bytes} bytes of samples, the file holds {available}"
        )
    return WavInfo(rate, channels, bits, data_offset, data_bytes)


@dataclass(frozen=True)
class Pcm:
    """The samples of a recording: 16-bit little-endian mono PCM at `sample_rate`."""

    samples: bytes
    sample_rate: int

    @property
    def duration_seconds(self) -> float:
        return len(self.samples) / (2 * self.sample_rate)


def read_pcm(data: bytes) -> Pcm:
    """The samples of a whole WAV file held in memory; refuses what `inspect_wav` refuses."""
    info = inspect_wav(io.BytesIO(data), len(data))
    whole_samples = info.data_bytes - info.data_bytes % 2
    return Pcm(data[info.data_offset : info.data_offset + whole_samples], info.sample_rate)
