"""Uploading real read speech (the librivox recordings with their transcription)."""

from __future__ import annotations

import asyncio
import hashlib
import urllib.request

import pytest

from attune.ingest.v1 import ingest_pb2 as pb
from common.blobs import BlobStore
from tests.ingest.client import new_project, upload, wait_until_done
from tests.ingest.corpus import LIBRIVOX, librivox_acoustic_zip, librivox_transcripts
from tests.ingest.fixtures import Client

pytestmark = pytest.mark.integration


async def test_librivox_acoustic_upload_succeeds_with_counts_durations_and_files(
    alice: Client, blobs: BlobStore
) -> None:
    project = await new_project(alice)
    created = await upload(alice, project.id, pb.ACOUSTIC, librivox_acoustic_zip(), "librivox")
    assert created.status in (pb.NOT_STARTED, pb.RUNNING)

    dataset = await wait_until_done(alice, created.id)

    assert pb.Status.Name(dataset.status) == "SUCCEEDED", dataset.error
    assert dataset.accepted_count == 5
    assert dataset.rejected_count == 0
    assert dataset.progress_percent == 100
    # 7.10 + 2.99 + 5.30 + 6.05 + 3.29 seconds of 16 kHz audio.
    assert dataset.total_duration.ToMilliseconds() == pytest.approx(24730, abs=5)

    files = await alice.datasets.ListDatasetFiles(
        pb.ListDatasetFilesRequest(dataset_id=dataset.id), metadata=alice.metadata
    )
    audio = {f.name: f for f in files.files if f.kind == pb.AUDIO}
    assert sorted(audio) == sorted(librivox_transcripts())
    for name, file in audio.items():
        original = (LIBRIVOX / name).read_bytes()
        assert file.size_bytes == len(original)
        assert file.sha256 == hashlib.sha256(original).hexdigest()
        assert file.sample_rate_hz == 16000
    assert audio["sense_and_sensibility_01_austen_64kb-0880.wav"].duration.ToMilliseconds() == 2990
    assert [f.name for f in files.files if f.kind == pb.DATASET_REPORT] == ["report.json"]

    # Stored objects are exactly the accepted audio and the report, under the dataset's prefix.
    keys = await blobs.list_keys(f"datasets/{dataset.id}/")
    assert sorted(keys) == sorted(
        [f"datasets/{dataset.id}/audio/{n}" for n in audio] + [f"datasets/{dataset.id}/report.json"]
    )
    # The staged upload is gone once validation has finished with it.
    assert await blobs.list_keys(f"uploads/{dataset.id}/") == []

    utterances = await alice.datasets.ListUtterances(
        pb.ListUtterancesRequest(dataset_id=dataset.id), metadata=alice.metadata
    )
    by_name = {u.file_name: u for u in utterances.utterances}
    assert {n: u.transcript for n, u in by_name.items()} == librivox_transcripts()
    assert by_name["sense_and_sensibility_01_austen_64kb-0880.wav"].normalized_transcript == (
        "he was not an ill disposed young man"
    )
    assert all(u.normalization_version for u in utterances.utterances)


async def test_audio_can_be_played_back_by_url_and_by_stream(alice: Client) -> None:
    project = await new_project(alice)
    dataset = await wait_until_done(alice, (await upload(alice, project.id, pb.ACOUSTIC, librivox_acoustic_zip())).id)
    files = await alice.datasets.ListDatasetFiles(
        pb.ListDatasetFilesRequest(dataset_id=dataset.id), metadata=alice.metadata
    )
    file = next(f for f in files.files if f.name == "sense_and_sensibility_01_austen_64kb-0930.wav")
    original = (LIBRIVOX / file.name).read_bytes()

    streamed = b"".join(
        [c.data async for c in alice.datasets.ReadFile(pb.ReadFileRequest(file_id=file.id), metadata=alice.metadata)]
    )
    assert streamed == original

    url = await alice.datasets.GetFileUrl(pb.GetFileUrlRequest(file_id=file.id), metadata=alice.metadata)
    assert await asyncio.to_thread(fetch, url.url) == original


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:  # the local S3 server, on loopback
        return bytes(response.read())


async def test_report_lists_every_accepted_file(alice: Client) -> None:
    project = await new_project(alice)
    dataset = await wait_until_done(alice, (await upload(alice, project.id, pb.ACOUSTIC, librivox_acoustic_zip())).id)
    report = await alice.datasets.GetDatasetReport(
        pb.GetDatasetReportRequest(dataset_id=dataset.id), metadata=alice.metadata
    )
    assert (report.accepted_count, report.rejected_count) == (5, 0)
    assert sorted(e.item for e in report.entries if e.accepted) == sorted(librivox_transcripts())
