"""The ingest demo: create a project, upload a real recording set, print the dataset report.

    python scripts/demo_ingest.py --address 127.0.0.1:50051 --key atn_...

It uploads the librivox read-speech recordings (Debian's pocketsphinx-testdata) as an
Acoustic dataset, streams it in chunks, shows validation progress, then prints what was
accepted, with durations and normalised transcripts.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
from collections.abc import AsyncIterator

import grpc

from attune.ingest.v1 import ingest_pb2 as pb
from attune.ingest.v1 import ingest_pb2_grpc
from speech.corpora import LIBRIVOX, read_sphinx_transcription, write_acoustic_zip

CHUNK = 256 * 1024


async def chunks(metadata: pb.DatasetMetadata, content: bytes) -> AsyncIterator[pb.UploadDatasetRequest]:
    yield pb.UploadDatasetRequest(metadata=metadata)
    for start in range(0, len(content), CHUNK):
        yield pb.UploadDatasetRequest(chunk=content[start : start + CHUNK])


async def main(address: str, key: str) -> int:
    metadata = (("x-api-key", key),)
    archive = io.BytesIO()
    write_acoustic_zip(LIBRIVOX, read_sphinx_transcription(LIBRIVOX / "transcription"), archive)
    async with grpc.aio.insecure_channel(address) as channel:
        projects = ingest_pb2_grpc.ProjectServiceStub(channel)
        datasets = ingest_pb2_grpc.DatasetServiceStub(channel)
        project = await projects.CreateProject(
            pb.CreateProjectRequest(
                display_name="Sense and Sensibility readings",
                description="Read English literature (librivox)",
                locale="en-US",
            ),
            metadata=metadata,
        )
        print(f"project  {project.id}  {project.display_name} ({project.locale})")
        request = pb.DatasetMetadata(project_id=project.id, display_name="librivox test set", kind=pb.ACOUSTIC)
        dataset = await datasets.UploadDataset(chunks(request, archive.getvalue()), metadata=metadata)
        print(f"dataset  {dataset.id}  uploaded {dataset.upload_size_bytes} bytes")
        while dataset.status not in (pb.SUCCEEDED, pb.FAILED):
            await asyncio.sleep(0.2)
            dataset = await datasets.GetDataset(pb.GetDatasetRequest(dataset_id=dataset.id), metadata=metadata)
            print(f"  {pb.Status.Name(dataset.status):<11} {dataset.progress_percent:3d}%")
        print(
            f"status   {pb.Status.Name(dataset.status)}: {dataset.accepted_count} accepted, "
            f"{dataset.rejected_count} rejected, {dataset.total_duration.ToMilliseconds() / 1000:.2f} s of audio"
        )
        if dataset.status == pb.FAILED:
            print(f"error    {dataset.error.code}: {dataset.error.message}")
        report = await datasets.GetDatasetReport(pb.GetDatasetReportRequest(dataset_id=dataset.id), metadata=metadata)
        print("report:")
        for entry in report.entries:
            verdict = "accepted" if entry.accepted else f"REJECTED: {entry.reason}"
            where = f" line {entry.line}" if entry.line else ""
            print(f"  {entry.item}{where}: {verdict}")
        utterances = await datasets.ListUtterances(pb.ListUtterancesRequest(dataset_id=dataset.id), metadata=metadata)
        print("utterances:")
        for u in utterances.utterances:
            print(f"  {u.file_name}  {u.duration.ToMilliseconds() / 1000:5.2f} s  {u.normalized_transcript}")
        return 0 if dataset.status == pb.SUCCEEDED else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--address", default="127.0.0.1:50051")
    parser.add_argument("--key", required=True)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.address, args.key)))
