"""Bad input, one rule at a time: each item gets its own clear reason, and nothing is stored
for what was refused (no object, no file row, no utterance; a refused upload leaves no trace).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import grpc
import pytest

from attune.ingest.v1 import ingest_pb2 as pb
from common.blobs import BlobStore
from ingest.settings import IngestSettings
from tests.ingest.client import (
    dataset_files,
    dataset_report,
    new_project,
    read_file,
    upload,
    upload_stream,
    utterances,
    wait_until_done,
)
from tests.ingest.corpus import (
    BAD_AUDIO,
    librivox_files,
    librivox_transcripts,
    wav,
    zip_bomb,
    zip_bytes,
    zip_declaring_size,
    zip_with_entries,
)
from tests.ingest.fixtures import Client

pytestmark = pytest.mark.integration

MiB = 1024 * 1024


def rejected_by_item(report: pb.DatasetReport) -> dict[tuple[str, int], str]:
    """(item, line) -> reason of every rejected entry in the report."""
    rejected = {(e.item, e.line): e.reason for e in report.entries if not e.accepted}
    assert len(rejected) == sum(1 for e in report.entries if not e.accepted), "an item is reported twice"
    return rejected


def assert_reasons(report: pb.DatasetReport, expected: dict[tuple[str, int], str]) -> None:
    """The report rejects exactly the expected items, each with a reason naming its problem."""
    rejected = rejected_by_item(report)
    assert sorted(rejected) == sorted(expected)
    for key, phrase in expected.items():
        assert phrase in rejected[key], f"{key}: {rejected[key]!r} does not say {phrase!r}"


async def test_acoustic_upload_keeps_good_files_and_names_every_bad_file_and_line(
    alice: Client, blobs: BlobStore
) -> None:
    good = librivox_files()
    transcripts = librivox_transcripts()
    # trans.txt lines in order, each with the phrase its rejection must carry (None: a good line).
    lines: list[tuple[bytes, str | None]] = [(f"{n}\t{t}".encode(), None) for n, t in sorted(transcripts.items())]
    lines += [(f"{bad.name}\twords for a bad file".encode(), None) for bad in BAD_AUDIO]
    lines += [
        (b"missing.wav\tthis file was never zipped", "not in the archive"),
        (b"caf\xe9.wav\tlatin-1, not UTF-8", "not valid UTF-8"),
        (b"", "empty line"),
        (b"a line without a tab", "<TAB>"),
    ]
    entries = {
        **good,
        **{bad.name: bad.content for bad in BAD_AUDIO},
        "untranscribed.wav": wav(),
        "trans.txt": b"\n".join(line for line, _ in lines) + b"\n",
    }
    project = await new_project(alice)

    dataset = await wait_until_done(alice, (await upload(alice, project.id, pb.ACOUSTIC, zip_bytes(entries))).id)

    expected = {(bad.name, 0): bad.reason_contains for bad in BAD_AUDIO}
    expected[("untranscribed.wav", 0)] = "no transcript"
    expected |= {("trans.txt", number): phrase for number, (_, phrase) in enumerate(lines, 1) if phrase}
    assert pb.Status.Name(dataset.status) == "SUCCEEDED", dataset.error
    assert (dataset.accepted_count, dataset.rejected_count) == (5, len(expected))
    report = await dataset_report(alice, dataset.id)
    assert (report.accepted_count, report.rejected_count) == (5, len(expected))
    assert_reasons(report, expected)
    assert sorted(e.item for e in report.entries if e.accepted) == sorted(good)

    files = await dataset_files(alice, dataset.id)
    assert sorted(f.name for f in files if f.kind == pb.AUDIO) == sorted(good)
    assert [f.name for f in files if f.kind != pb.AUDIO] == ["report.json"]
    assert {u.file_name: u.transcript for u in await utterances(alice, dataset.id)} == transcripts
    keys = await blobs.list_keys(f"datasets/{dataset.id}/")
    assert sorted(keys) == sorted(
        [f"datasets/{dataset.id}/audio/{name}" for name in good] + [f"datasets/{dataset.id}/report.json"]
    )


async def test_upload_with_nothing_acceptable_fails_and_its_report_says_why(alice: Client, blobs: BlobStore) -> None:
    bad_wavs = [bad for bad in BAD_AUDIO if bad.name.endswith(".wav")]
    project = await new_project(alice)
    content = zip_bytes({bad.name: bad.content for bad in bad_wavs})

    dataset = await wait_until_done(alice, (await upload(alice, project.id, pb.AUDIO_FILES, content)).id)

    assert pb.Status.Name(dataset.status) == "FAILED"
    assert dataset.error.code == "NoAcceptedItems"
    assert dataset.error.message
    assert (dataset.accepted_count, dataset.rejected_count) == (0, len(bad_wavs))
    report = await dataset_report(alice, dataset.id)
    assert_reasons(report, {(bad.name, 0): bad.reason_contains for bad in bad_wavs})
    assert [(f.name, f.kind) for f in await dataset_files(alice, dataset.id)] == [("report.json", pb.DATASET_REPORT)]
    assert await blobs.list_keys(f"datasets/{dataset.id}/") == [f"datasets/{dataset.id}/report.json"]


async def test_language_text_keeps_its_good_lines_and_reports_the_others_by_number(alice: Client) -> None:
    lines = [
        b"take one tablet twice a day",
        b"\xff\xfe broken bytes",
        b"",
        b"?! ... --",
        b"Xeljanz is taken with or without food",
        b"   ",
        "caf\u00e9 au lait, na\u00efve r\u00e9sum\u00e9".encode(),
    ]
    project = await new_project(alice)

    created = await upload(alice, project.id, pb.LANGUAGE, b"\n".join(lines) + b"\n")
    dataset = await wait_until_done(alice, created.id)

    assert pb.Status.Name(dataset.status) == "SUCCEEDED", dataset.error
    assert (dataset.accepted_count, dataset.rejected_count) == (3, 4)
    assert created.upload_size_bytes == len(b"\n".join(lines) + b"\n")
    report = await dataset_report(alice, dataset.id)
    rejected = {e.line: e.reason for e in report.entries if not e.accepted}
    assert sorted(rejected) == [2, 3, 4, 6]
    assert "UTF-8" in rejected[2]
    assert "empty line" in rejected[3]
    assert "no words" in rejected[4]
    assert "empty line" in rejected[6]

    files = await dataset_files(alice, dataset.id)
    text = next(f for f in files if f.kind == pb.TEXT)
    assert text.name == "corpus.txt"
    stored = await read_file(alice, text.id)
    assert stored == b"\n".join([lines[0], lines[4], lines[6]]) + b"\n"
    assert text.size_bytes == len(stored)


async def test_language_text_with_a_byte_order_mark_is_accepted_without_it(alice: Client) -> None:
    project = await new_project(alice)

    created = await upload(alice, project.id, pb.LANGUAGE, b"\xef\xbb\xbfrefill my prescription\nthank you\n")
    dataset = await wait_until_done(alice, created.id)

    assert pb.Status.Name(dataset.status) == "SUCCEEDED", dataset.error
    assert (dataset.accepted_count, dataset.rejected_count) == (2, 0)
    text = next(f for f in await dataset_files(alice, dataset.id) if f.kind == pb.TEXT)
    assert await read_file(alice, text.id) == b"refill my prescription\nthank you\n"


async def test_pronunciation_lines_need_a_display_and_a_spoken_form(alice: Client) -> None:
    lines = [
        "Xeljanz\tzel jans",
        "Humira\thyoo mair uh",
        "Ozempic oh zem pick",
        "Rinvoq\t",
        "Skyrizi\tsky rizzy\tS K AY R IH Z IY",
    ]
    project = await new_project(alice)

    created = await upload(alice, project.id, pb.PRONUNCIATION, "\n".join(lines).encode() + b"\n")
    dataset = await wait_until_done(alice, created.id)

    assert pb.Status.Name(dataset.status) == "SUCCEEDED", dataset.error
    assert (dataset.accepted_count, dataset.rejected_count) == (3, 2)
    rejected = {e.line: e.reason for e in (await dataset_report(alice, dataset.id)).entries if not e.accepted}
    assert sorted(rejected) == [3, 4]
    assert "<TAB>" in rejected[3]
    assert "spoken form" in rejected[4]
    lexicon = next(f for f in await dataset_files(alice, dataset.id) if f.kind == pb.PRONUNCIATION_LEXICON)
    assert await read_file(alice, lexicon.id) == "\n".join([lines[0], lines[1], lines[4]]).encode() + b"\n"


# -- whole uploads refused before anything is kept ----------------------------------------------


@dataclass(frozen=True)
class Refusal:
    kind: pb.DatasetKind.ValueType
    content: Callable[[], bytes]
    code: grpc.StatusCode
    says: str
    chunk: int = MiB


REFUSALS = [
    pytest.param(
        Refusal(pb.AUDIO_FILES, lambda: b"PK but not a zip" * 100, grpc.StatusCode.INVALID_ARGUMENT, "not a zip"),
        id="not-a-zip",
    ),
    pytest.param(
        Refusal(
            pb.AUDIO_FILES,
            lambda: zip_bytes({"ok.wav": wav(), "../escape.wav": wav()}),
            grpc.StatusCode.INVALID_ARGUMENT,
            "'..'",
        ),
        id="dot-dot-entry",
    ),
    pytest.param(
        Refusal(
            pb.AUDIO_FILES,
            lambda: zip_bytes({"/abs/clip.wav": wav()}),
            grpc.StatusCode.INVALID_ARGUMENT,
            "absolute path",
        ),
        id="absolute-entry",
    ),
    pytest.param(
        Refusal(pb.AUDIO_FILES, lambda: zip_with_entries(10_001), grpc.StatusCode.INVALID_ARGUMENT, "10001 entries"),
        id="too-many-entries",
    ),
    pytest.param(
        Refusal(
            pb.AUDIO_FILES,
            lambda: zip_declaring_size(2**31 + 1),
            grpc.StatusCode.INVALID_ARGUMENT,
            "expands to more than",
        ),
        id="declares-over-2gb",
    ),
    pytest.param(
        Refusal(pb.AUDIO_FILES, lambda: zip_bomb(40 * MiB), grpc.StatusCode.INVALID_ARGUMENT, "compression ratio"),
        id="zip-bomb",
    ),
    pytest.param(
        Refusal(pb.ACOUSTIC, lambda: zip_bytes({"clip.wav": wav()}), grpc.StatusCode.INVALID_ARGUMENT, "trans.txt"),
        id="acoustic-without-trans-txt",
    ),
    pytest.param(Refusal(pb.LANGUAGE, lambda: b"", grpc.StatusCode.INVALID_ARGUMENT, "empty"), id="empty-upload"),
    # Streamed for real, in 4 MiB messages, until one byte past the 200 MiB limit.
    pytest.param(
        Refusal(
            pb.LANGUAGE,
            lambda: b"a" * (200 * MiB + 1),
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "at most",
            chunk=4 * MiB,
        ),
        id="language-over-200mb",
    ),
]


async def assert_nothing_left(client: Client, project_id: str, blobs: BlobStore, spool_dir: str) -> None:
    """No dataset row, no object in storage, no spooled bytes on disk."""
    listed = await client.datasets.ListDatasets(pb.ListDatasetsRequest(project_id=project_id), metadata=client.metadata)
    assert (list(listed.datasets), listed.total_size) == ([], 0)
    assert await blobs.list_keys("") == []
    assert await asyncio.to_thread(os.listdir, spool_dir) == []


@pytest.mark.parametrize("case", REFUSALS)
async def test_refused_upload_says_why_and_leaves_nothing(
    alice: Client, blobs: BlobStore, ingest_settings: IngestSettings, case: Refusal
) -> None:
    project = await new_project(alice)
    metadata = pb.DatasetMetadata(project_id=project.id, display_name="refused", kind=case.kind)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await alice.datasets.UploadDataset(
            upload_stream(metadata, case.content(), chunk=case.chunk), metadata=alice.metadata
        )

    assert refused.value.code() == case.code, refused.value.details()
    assert case.says in (refused.value.details() or "")
    await assert_nothing_left(alice, project.id, blobs, ingest_settings.spool_dir)


def no_metadata_first(project_id: str) -> AsyncIterator[pb.UploadDatasetRequest]:
    async def stream() -> AsyncIterator[pb.UploadDatasetRequest]:
        yield pb.UploadDatasetRequest(chunk=b"take one tablet\n")
        yield pb.UploadDatasetRequest(
            metadata=pb.DatasetMetadata(project_id=project_id, display_name="late", kind=pb.LANGUAGE)
        )

    return stream()


def unspecified_kind(project_id: str) -> AsyncIterator[pb.UploadDatasetRequest]:
    metadata = pb.DatasetMetadata(project_id=project_id, display_name="no kind")
    return upload_stream(metadata, b"take one tablet\n")


def unknown_project(project_id: str) -> AsyncIterator[pb.UploadDatasetRequest]:
    metadata = pb.DatasetMetadata(
        project_id="00000000-0000-4000-8000-000000000000", display_name="nowhere", kind=pb.LANGUAGE
    )
    return upload_stream(metadata, b"take one tablet\n")


@pytest.mark.parametrize(
    ("requests", "code", "says"),
    [
        (no_metadata_first, grpc.StatusCode.INVALID_ARGUMENT, "metadata"),
        (unspecified_kind, grpc.StatusCode.INVALID_ARGUMENT, "kind"),
        (unknown_project, grpc.StatusCode.NOT_FOUND, "project"),
    ],
    ids=["no-metadata-first", "kind-unspecified", "unknown-project"],
)
async def test_upload_with_bad_metadata_is_refused_and_leaves_nothing(
    alice: Client,
    blobs: BlobStore,
    ingest_settings: IngestSettings,
    requests: Callable[[str], AsyncIterator[pb.UploadDatasetRequest]],
    code: grpc.StatusCode,
    says: str,
) -> None:
    project = await new_project(alice)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await alice.datasets.UploadDataset(requests(project.id), metadata=alice.metadata)

    assert refused.value.code() == code, refused.value.details()
    assert says in (refused.value.details() or "")
    await assert_nothing_left(alice, project.id, blobs, ingest_settings.spool_dir)
