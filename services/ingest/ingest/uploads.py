"""Receiving an upload: spool the client stream to disk within the kind's size limit, then
check it is worth keeping (a refused upload leaves nothing behind).

`LocalSpool` remembers which uploads this process still has on disk, so the validation job
on the same replica reads them there instead of fetching the staged copy from storage.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath

from attune.ingest.v1 import ingest_pb2 as pb
from common.errors import InvalidArgument, ResourceExhausted
from ingest.archive import check_archive
from ingest.processing import TRANSCRIPT_NAME
from ingest.settings import IngestSettings


def size_limit(kind: str, settings: IngestSettings) -> int:
    return {
        "AudioFiles": settings.max_archive_bytes,
        "Acoustic": settings.max_archive_bytes,
        "Language": settings.max_text_bytes,
        "Pronunciation": settings.max_pronunciation_bytes,
    }[kind]


class LocalSpool:
    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._kept: dict[uuid.UUID, Path] = {}

    def path_for(self, dataset_id: uuid.UUID) -> Path:
        return self.directory / f"attune-upload-{dataset_id}"

    def keep(self, dataset_id: uuid.UUID) -> None:
        self._kept[dataset_id] = self.path_for(dataset_id)

    def kept(self, dataset_id: uuid.UUID) -> Path | None:
        path = self._kept.get(dataset_id)
        return path if path is not None and path.exists() else None

    def discard(self, dataset_id: uuid.UUID) -> None:
        self._kept.pop(dataset_id, None)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path_for(dataset_id))


async def receive(chunks: AsyncIterator[pb.UploadDatasetRequest], path: Path, limit: int, kind: str) -> int:
    """Writes the stream's chunks to `path`; returns the byte count. Raises past `limit`."""
    size = 0
    # Disk writes go through a thread: a slow disk must not stall every other call.
    spool = await asyncio.to_thread(open, path, "wb")
    try:
        async for message in chunks:
            if message.HasField("metadata"):
                raise InvalidArgument("metadata may only come in the first message of an upload")
            size += len(message.chunk)
            if size > limit:
                raise ResourceExhausted(f"a {kind} upload may be at most {limit} bytes; this one is larger")
            await asyncio.to_thread(spool.write, message.chunk)
    finally:
        await asyncio.to_thread(spool.close)
    return size


async def preflight(kind: str, path: Path, size: int) -> None:
    """Refuses uploads that cannot yield a dataset, before anything is stored."""
    if size == 0:
        raise InvalidArgument("the upload is empty")
    if kind in ("AudioFiles", "Acoustic"):
        entries = await asyncio.to_thread(check_archive, str(path))
        if kind == "Acoustic" and not any(PurePosixPath(e.name).name == TRANSCRIPT_NAME for e in entries):
            raise InvalidArgument(f"an Acoustic dataset needs a {TRANSCRIPT_NAME} with 'file.wav<TAB>transcript' lines")
