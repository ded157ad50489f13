"""Builds the uploads the tests send: the librivox recordings, and one bad input per rule."""

from __future__ import annotations

import io
import struct
import zipfile
from dataclasses import dataclass

from speech.corpora import LIBRIVOX, read_sphinx_transcription, write_acoustic_zip


def librivox_transcripts() -> dict[str, str]:
    """file name -> transcript, from the set's sphinx-style transcription file."""
    return read_sphinx_transcription(LIBRIVOX / "transcription")


def librivox_files() -> dict[str, bytes]:
    """file name -> WAV bytes of every transcribed librivox recording."""
    return {name: (LIBRIVOX / name).read_bytes() for name in sorted(librivox_transcripts())}


def librivox_acoustic_zip() -> bytes:
    buffer = io.BytesIO()
    write_acoustic_zip(LIBRIVOX, librivox_transcripts(), buffer)
    return buffer.getvalue()


def wav(*, rate: int = 16000, channels: int = 1, bits: int = 16, seconds: float = 0.5, tag: int = 1) -> bytes:
    frames = int(rate * seconds)
    data = bytes(frames * channels * bits // 8)
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


@dataclass(frozen=True)
class BadFile:
    name: str
    content: bytes
    reason_contains: str


BAD_AUDIO = [
    BadFile("stereo.wav", wav(channels=2), "stereo"),
    BadFile("cd-quality.wav", wav(rate=44100), "44100 Hz"),
    BadFile("eight-bit.wav", wav(bits=8), "8-bit"),
    BadFile("truncated-header.wav", wav()[:30], "truncated header"),
    BadFile("zero-length.wav", b"", "zero length"),
    BadFile("no-samples.wav", wav(seconds=0), "zero length"),
    BadFile("not-a-wav.wav", b"ID3\x03\x00 this is an mp3, not a wav" * 10, "not a WAV file"),
    BadFile("float.wav", wav(tag=3, bits=32), "not PCM"),
    BadFile("notes.txt", b"hello", "not a .wav file"),
]


def zip_bytes(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in entries.items():
            archive.writestr(zipfile.ZipInfo(name), content, compress_type=compression)
    return buffer.getvalue()


def zip_declaring_size(declared: int) -> bytes:
    """A small zip whose central directory claims one entry of `declared` bytes."""
    data = bytearray(zip_bytes({"big.wav": wav()}, zipfile.ZIP_STORED))
    central = data.rfind(b"PK\x01\x02")
    # Uncompressed size sits 24 bytes into a central directory header.
    data[central + 24 : central + 28] = struct.pack("<I", declared)
    return bytes(data)


def zip_with_entries(count: int) -> bytes:
    """A zip of `count` one-byte entries, stored (fast to build however many there are)."""
    return zip_bytes({f"clip-{i:05d}.wav": b"x" for i in range(count)}, zipfile.ZIP_STORED)


def zip_bomb(size: int) -> bytes:
    """A zip holding `size` zero bytes, deflated to about a thousandth of that."""
    return zip_bytes({"silence.wav": bytes(size)})
