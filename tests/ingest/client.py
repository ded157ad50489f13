"""Calling the ingest API as a user would: streaming an upload and waiting for validation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from attune.ingest.v1 import ingest_pb2 as pb
from tests.ingest.fixtures import Client

CHUNK = 1024 * 1024


async def upload_stream(
    metadata: pb.DatasetMetadata, content: bytes, chunk: int = CHUNK
) -> AsyncIterator[pb.UploadDatasetRequest]:
    yield pb.UploadDatasetRequest(metadata=metadata)
    for start in range(0, len(content), chunk):
        yield pb.UploadDatasetRequest(chunk=content[start : start + chunk])


async def upload(
    client: Client, project_id: str, kind: pb.DatasetKind.ValueType, content: bytes, name: str = "test data"
) -> pb.Dataset:
    metadata = pb.DatasetMetadata(project_id=project_id, display_name=name, kind=kind)
    return await client.datasets.UploadDataset(upload_stream(metadata, content), metadata=client.metadata)


async def wait_until_done(client: Client, dataset_id: str, timeout: float = 60) -> pb.Dataset:
    """Polls the dataset until it Succeeded or Failed (no fixed sleeps in tests)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        dataset = await client.datasets.GetDataset(
            pb.GetDatasetRequest(dataset_id=dataset_id), metadata=client.metadata
        )
        if dataset.status in (pb.SUCCEEDED, pb.FAILED):
            return dataset
        if loop.time() > deadline:
            raise AssertionError(f"dataset {dataset_id} still {pb.Status.Name(dataset.status)} after {timeout}s")
        await asyncio.sleep(0.05)


async def new_project(client: Client, name: str = "pharmacy calls") -> pb.Project:
    request = pb.CreateProjectRequest(display_name=name, description="phone orders", locale="en-US")
    return await client.projects.CreateProject(request, metadata=client.metadata)


async def dataset_files(client: Client, dataset_id: str) -> list[pb.DatasetFile]:
    reply = await client.datasets.ListDatasetFiles(
        pb.ListDatasetFilesRequest(dataset_id=dataset_id, page_size=100), metadata=client.metadata
    )
    return list(reply.files)


async def utterances(client: Client, dataset_id: str) -> list[pb.Utterance]:
    reply = await client.datasets.ListUtterances(
        pb.ListUtterancesRequest(dataset_id=dataset_id, page_size=100), metadata=client.metadata
    )
    return list(reply.utterances)


async def dataset_report(client: Client, dataset_id: str) -> pb.DatasetReport:
    return await client.datasets.GetDatasetReport(
        pb.GetDatasetReportRequest(dataset_id=dataset_id), metadata=client.metadata
    )


async def read_file(client: Client, file_id: str) -> bytes:
    """The stored file's bytes, as the ReadFile stream delivers them."""
    call = client.datasets.ReadFile(pb.ReadFileRequest(file_id=file_id), metadata=client.metadata)
    return b"".join([chunk.data async for chunk in call])
