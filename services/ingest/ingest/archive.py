"""Zip safety, checked from the central directory before anything is extracted or stored.

A hostile archive is refused whole: entry names that escape the dataset's prefix (`..`,
absolute paths, drive letters), more entries than a dataset may hold, more uncompressed
bytes than the limit, or a compression ratio no real WAV file reaches (a zip bomb).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from common.errors import InvalidArgument

MAX_ENTRIES = 10_000
MAX_UNCOMPRESSED_BYTES = 2 * 1024**3
# PCM speech deflates to about half; text to about a third. 100:1 is far past either.
MAX_COMPRESSION_RATIO = 100
# Below this size the ratio says little (a tiny text file can compress very well).
RATIO_MIN_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ArchiveEntry:
    name: str
    compressed_size: int
    size: int


def unsafe_name_reason(name: str) -> str | None:
    if "\\" in name:
        return "uses backslashes; zip entry names use '/'"
    path = PurePosixPath(name)
    if path.is_absolute() or (len(name) > 1 and name[1] == ":"):
        return "is an absolute path"
    if ".." in path.parts:
        return "contains '..'"
    if "\x00" in name:
        return "contains a NUL character"
    return None


def check_archive(path: str, *, max_uncompressed_bytes: int = MAX_UNCOMPRESSED_BYTES) -> list[ArchiveEntry]:
    """The archive's file entries; raises InvalidArgument (naming the problem) if it is unsafe."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile:
        raise InvalidArgument("the upload is not a zip archive") from None
    if len(infos) > MAX_ENTRIES:
        raise InvalidArgument(f"the archive has {len(infos)} entries; at most {MAX_ENTRIES} are allowed")
    entries: list[ArchiveEntry] = []
    total = 0
    for info in infos:
        reason = unsafe_name_reason(info.filename)
        if reason:
            raise InvalidArgument(f"unsafe archive entry {info.filename!r}: the name {reason}")
        if info.flag_bits & 0x1:
            raise InvalidArgument(f"archive entry {info.filename!r} is encrypted")
        if info.is_dir():
            continue
        total += info.file_size
        if total > max_uncompressed_bytes:
            raise InvalidArgument(f"the archive expands to more than {max_uncompressed_bytes} bytes; that is the limit")
        if info.file_size >= RATIO_MIN_BYTES and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
            raise InvalidArgument(
                f"archive entry {info.filename!r} has a suspicious compression ratio "
                f"({info.file_size} bytes from {info.compress_size}); refusing a possible zip bomb"
            )
        entries.append(ArchiveEntry(info.filename, info.compress_size, info.file_size))
    return entries
