"""Validates an uploaded dataset and stores what is accepted; rejected items are never stored.

Archives (AudioFiles, Acoustic) are read entry by entry: each WAV header is checked inside
the zip, then the accepted file streams to `datasets/<id>/audio/<name>` with its sha256
computed on the way. Text (Language, Pronunciation) is filtered line by line into a file
of accepted lines. Blocking zip and file reads run in threads; storage calls overlap.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import tempfile
import uuid
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import IO, NamedTuple

from common.blobs import BlobStore
from ingest import texts
from ingest.archive import check_archive
from ingest.report import Report
from ingest.repository import StoredFile, StoredUtterance
from speech.audio import InvalidAudio, WavInfo, inspect_wav
from speech.normalize import VERSION as NORMALIZATION_VERSION
from speech.normalize import normalize

log = logging.getLogger(__name__)

TRANSCRIPT_NAME = "trans.txt"
Progress = Callable[[int], Awaitable[None]]


class Transcript(NamedTuple):
    """A `trans.txt` line's transcript, and its line number for the report."""

    line: int
    text: str


@dataclass
class Processed:
    report: Report = field(default_factory=Report)
    files: list[StoredFile] = field(default_factory=list)
    utterances: list[StoredUtterance] = field(default_factory=list)
    duration_ms: int = 0


class HashingReader:
    """Passes reads through, hashing and counting the bytes (for streaming uploads)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.sha256 = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.sha256.update(data)
        self.size += len(data)
        return data


def dataset_prefix(dataset_id: uuid.UUID) -> str:
    return f"datasets/{dataset_id}/"


class DatasetProcessor:
    def __init__(self, blobs: BlobStore, *, upload_concurrency: int = 4) -> None:
        self._blobs = blobs
        self._concurrency = upload_concurrency

    async def process(self, dataset_id: uuid.UUID, kind: str, source: str, progress: Progress) -> Processed:
        if kind in ("AudioFiles", "Acoustic"):
            return await self._process_archive(dataset_id, kind == "Acoustic", source, progress)
        problem = texts.language_line_problem if kind == "Language" else texts.pronunciation_line_problem
        file_kind, name = ("Text", "corpus.txt") if kind == "Language" else ("PronunciationLexicon", "lexicon.txt")
        return await self._process_text(dataset_id, source, problem, file_kind, name)

    async def _process_archive(
        self, dataset_id: uuid.UUID, acoustic: bool, source: str, progress: Progress
    ) -> Processed:
        entries = await asyncio.to_thread(check_archive, source)
        result = Processed()
        with zipfile.ZipFile(source) as archive:
            transcripts: dict[str, Transcript] = {}
            if acoustic:
                transcripts = await asyncio.to_thread(_read_transcripts, archive, result.report)
            candidates: list[tuple[str, WavInfo]] = []
            for entry in entries:
                if PurePosixPath(entry.name).name == TRANSCRIPT_NAME:
                    continue
                reason = await asyncio.to_thread(_audio_problem, archive, entry.name, entry.size)
                if isinstance(reason, WavInfo):
                    if acoustic and entry.name not in transcripts:
                        result.report.reject(entry.name, f"no transcript for this file in {TRANSCRIPT_NAME}")
                    else:
                        candidates.append((entry.name, reason))
                else:
                    result.report.reject(entry.name, reason)
            for name in sorted(set(transcripts) - {e.name for e in entries}):
                result.report.reject(
                    TRANSCRIPT_NAME, f"names {name}, which is not in the archive", transcripts[name].line
                )
            await self._store_audio(dataset_id, archive, candidates, transcripts, result, progress)
        return result

    async def _store_audio(
        self,
        dataset_id: uuid.UUID,
        archive: zipfile.ZipFile,
        candidates: list[tuple[str, WavInfo]],
        transcripts: dict[str, Transcript],
        result: Processed,
        progress: Progress,
    ) -> None:
        slots = asyncio.Semaphore(self._concurrency)
        done = 0

        async def store(name: str, info: WavInfo) -> None:
            nonlocal done
            async with slots:
                key = f"{dataset_prefix(dataset_id)}audio/{name}"
                with archive.open(name) as raw:
                    reader = HashingReader(raw)
                    await self._blobs.put_stream(key, reader, content_type="audio/wav")  # type: ignore[arg-type]
                file = StoredFile(
                    id=uuid.uuid4(),
                    name=name,
                    kind="Audio",
                    object_key=key,
                    size_bytes=reader.size,
                    sha256=reader.sha256.hexdigest(),
                    duration_ms=round(info.duration_seconds * 1000),
                    sample_rate_hz=info.sample_rate,
                )
                result.files.append(file)
                result.report.accept(name)
                result.duration_ms += file.duration_ms or 0
                if name in transcripts:
                    text = transcripts[name].text
                    result.utterances.append(StoredUtterance(file.id, text, normalize(text), NORMALIZATION_VERSION))
                done += 1
                await progress(5 + 90 * done // len(candidates))

        await asyncio.gather(*(store(name, info) for name, info in candidates))
        result.files.sort(key=lambda f: f.name)
        order = {f.id: i for i, f in enumerate(result.files)}
        result.utterances.sort(key=lambda u: order[u.file_id])

    async def _process_text(
        self,
        dataset_id: uuid.UUID,
        source: str,
        problem: Callable[[str], str | None],
        file_kind: str,
        name: str,
    ) -> Processed:
        result = Processed()
        with tempfile.NamedTemporaryFile(prefix="accepted-", suffix=".txt") as accepted:
            sha256 = await asyncio.to_thread(_filter_text, source, name, accepted, result.report, problem)
            size = accepted.tell()
            accepted.flush()
            if result.report.accepted:
                key = f"{dataset_prefix(dataset_id)}text/{name}"
                await self._blobs.put_file(key, accepted.name, content_type="text/plain; charset=utf-8")
                result.files.append(StoredFile(uuid.uuid4(), name, file_kind, key, size, sha256))
        return result

    async def store_report(self, dataset_id: uuid.UUID, kind: str, report: Report) -> StoredFile:
        body = report.to_json(str(dataset_id), kind)
        key = f"{dataset_prefix(dataset_id)}report.json"
        await self._blobs.put_stream(key, io.BytesIO(body), len(body), content_type="application/json")
        return StoredFile(
            uuid.uuid4(), "report.json", "DatasetReport", key, len(body), hashlib.sha256(body).hexdigest()
        )


def _audio_problem(archive: zipfile.ZipFile, name: str, size: int) -> WavInfo | str:
    if not name.lower().endswith(".wav"):
        return "not a .wav file"
    with archive.open(name) as stream:
        try:
            return inspect_wav(stream, size)  # type: ignore[arg-type]
        except InvalidAudio as exc:
            return str(exc)


def _read_transcripts(archive: zipfile.ZipFile, report: Report) -> dict[str, Transcript]:
    """file name -> transcript from the archive's trans.txt, relative to the archive root."""
    candidates = [n for n in archive.namelist() if PurePosixPath(n).name == TRANSCRIPT_NAME]
    if not candidates:
        return {}
    folder = PurePosixPath(candidates[0]).parent
    transcripts: dict[str, Transcript] = {}
    with archive.open(candidates[0]) as stream:
        for number, text in texts.decoded_lines(stream, TRANSCRIPT_NAME, report):  # type: ignore[arg-type]
            name, tab, transcript = text.partition("\t")
            name = name.strip()
            if not tab or not name:
                report.reject(TRANSCRIPT_NAME, "expected 'file.wav<TAB>transcript'", number)
                continue
            if not transcript.strip():
                report.reject(TRANSCRIPT_NAME, f"empty transcript for {name}", number)
                continue
            path = str(folder / name) if str(folder) != "." else name
            if path in transcripts:
                report.reject(TRANSCRIPT_NAME, f"a second transcript for {name}", number)
                continue
            transcripts[path] = Transcript(number, transcript.strip())
    return transcripts


def _filter_text(source: str, item: str, out: IO[bytes], report: Report, problem: Callable[[str], str | None]) -> str:
    sha256 = hashlib.sha256()
    with open(source, "rb") as stream:
        for text in texts.checked_lines(stream, item, report, problem):
            data = (text + "\n").encode()
            sha256.update(data)
            out.write(data)
    return sha256.hexdigest()
