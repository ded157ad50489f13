"""Calling the ingest API as a user would: streaming an upload and waiting for validation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from attune.ingest.v1 import ingest_pb2 as pb
from tests.ingest.conftest import Client

CHUNK = 1024 * 1024


async def upload_stream(
    metadata: pb.DatasetMetadata, content: bytes, chunk: int = CHUNK
) -> AsyncIterator[pb.UploadDatasetRequest]:
    yield pb.UploadDatasetRequest(metadata=metadata)
    for start in range(0, len(content), chunk):
        yield pb.UploadDatasetRequest(chunk=content[start : start + chunk])


async def upload(client: Client, project_id: str, kind: int, content: bytes, name: str = "test data") -> pb.Dataset:
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
