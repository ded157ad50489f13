"""The validation job as another replica runs it, and deleting datasets safely."""

from __future__ import annotations

import io
import uuid

import asyncpg
import grpc
import pytest

from attune.events.v1 import events_pb2
from attune.ingest.v1 import ingest_pb2 as pb
from common.blobs import BlobStore
from common.consumer import Delivery
from common.events import make_event
from ingest import repository as repo
from ingest.datasets import staged_upload_key
from ingest.jobs import DatasetValidationJob
from ingest.processing import DatasetProcessor
from ingest.uploads import LocalSpool
from tests.ingest.client import new_project, upload, wait_until_done
from tests.ingest.corpus import librivox_acoustic_zip, librivox_transcripts
from tests.ingest.fixtures import Client

pytestmark = pytest.mark.integration


async def accepted_upload_without_local_copy(
    pool: asyncpg.Pool, blobs: BlobStore, client: Client, project_id: str, content: bytes
) -> uuid.UUID:
    """A dataset as the upload call leaves it (row NotStarted, upload staged in storage), but
    accepted by another replica: this one has no local copy of the bytes."""
    dataset_id = uuid.uuid4()
    await blobs.put_stream(staged_upload_key(dataset_id), io.BytesIO(content), len(content))
    async with pool.acquire() as conn:
        await repo.insert_dataset(
            conn,
            dataset_id=dataset_id,
            subscription_id=uuid.UUID(client.subscription_id),
            project_id=uuid.UUID(project_id),
            display_name="from another replica",
            description="",
            locale="en-US",
            kind="Acoustic",
            upload_key=staged_upload_key(dataset_id),
            upload_size_bytes=len(content),
            custom_properties={},
        )
    return dataset_id


async def test_a_replica_without_the_local_copy_validates_from_storage_and_clears_leftovers(
    alice: Client, ingest_pool: asyncpg.Pool, blobs: BlobStore, tmp_path: object
) -> None:
    project = await new_project(alice)
    dataset_id = await accepted_upload_without_local_copy(
        ingest_pool, blobs, alice, project.id, librivox_acoustic_zip()
    )
    # What an attempt that died half-way left behind.
    stray = f"datasets/{dataset_id}/audio/half-written.wav"
    await blobs.put_stream(stray, io.BytesIO(b"partial"), 7)

    job = DatasetValidationJob(ingest_pool, blobs, DatasetProcessor(blobs), LocalSpool(str(tmp_path)))
    event = make_event("dataset.created", events_pb2.DatasetEvent(dataset_id=str(dataset_id)), source="test")
    delivery = Delivery(event, previous_deliveries=1, final_attempt=False)
    async with ingest_pool.acquire() as conn, conn.transaction():
        await job.handle(conn, delivery)
    for action in delivery.after_commit:
        await action()

    dataset = await alice.datasets.GetDataset(pb.GetDatasetRequest(dataset_id=str(dataset_id)), metadata=alice.metadata)
    assert (pb.Status.Name(dataset.status), dataset.accepted_count, dataset.rejected_count) == ("SUCCEEDED", 5, 0)
    keys = await blobs.list_keys(f"datasets/{dataset_id}/")
    assert stray not in keys
    assert sorted(keys) == sorted(
        [f"datasets/{dataset_id}/audio/{name}" for name in librivox_transcripts()]
        + [f"datasets/{dataset_id}/report.json"]
    )
    assert await blobs.list_keys(f"uploads/{dataset_id}/") == []


async def test_a_dataset_being_validated_cannot_be_deleted(
    alice: Client, ingest_pool: asyncpg.Pool, blobs: BlobStore
) -> None:
    project = await new_project(alice)
    dataset_id = await accepted_upload_without_local_copy(ingest_pool, blobs, alice, project.id, b"PK")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await alice.datasets.DeleteDataset(pb.DeleteDatasetRequest(dataset_id=str(dataset_id)), metadata=alice.metadata)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "still being validated" in (refused.value.details() or "")
    assert await blobs.list_keys(f"uploads/{dataset_id}/") == [staged_upload_key(dataset_id)]


async def test_deleting_a_finished_dataset_removes_its_rows_and_objects(alice: Client, blobs: BlobStore) -> None:
    project = await new_project(alice)
    dataset = await wait_until_done(alice, (await upload(alice, project.id, pb.ACOUSTIC, librivox_acoustic_zip())).id)
    assert await blobs.list_keys(f"datasets/{dataset.id}/")

    await alice.datasets.DeleteDataset(pb.DeleteDatasetRequest(dataset_id=dataset.id), metadata=alice.metadata)

    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await alice.datasets.GetDataset(pb.GetDatasetRequest(dataset_id=dataset.id), metadata=alice.metadata)
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND
    assert await blobs.list_keys(f"datasets/{dataset.id}/") == []
