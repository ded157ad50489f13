"""DatasetService: upload, status, reports, files and utterances of datasets."""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
from google.protobuf.empty_pb2 import Empty

from attune.events.v1 import events_pb2
from attune.ingest.v1 import ingest_pb2 as pb
from attune.ingest.v1 import ingest_pb2_grpc
from common.blobs import BlobStore
from common.errors import FailedPrecondition, InvalidArgument, NotFound
from common.events import make_event
from common.outbox import enqueue
from common.paging import page_fields, page_window
from common.wire import parse_id
from ingest import convert, uploads
from ingest import repository as repo
from ingest.processing import dataset_prefix
from ingest.projects import Context, check_custom_properties, current_subscription
from ingest.settings import SERVICE, IngestSettings

log = logging.getLogger(__name__)

DEFAULT_URL_LIFETIME = timedelta(minutes=15)
MAX_URL_LIFETIME = timedelta(days=7)


def staged_upload_key(dataset_id: uuid.UUID) -> str:
    return f"uploads/{dataset_id}/original"


def dataset_event(row: asyncpg.Record) -> events_pb2.DatasetEvent:
    return events_pb2.DatasetEvent(
        dataset_id=str(row["id"]),
        project_id=str(row["project_id"]),
        kind=row["kind"],
        status=row["status"],
        error_code=row["error_code"] or "",
        error_message=row["error_message"] or "",
    )


class DatasetServicer(ingest_pb2_grpc.DatasetServiceServicer):
    def __init__(
        self, pool: asyncpg.Pool, blobs: BlobStore, spool: uploads.LocalSpool, settings: IngestSettings
    ) -> None:
        self._pool = pool
        self._blobs = blobs
        self._spool = spool
        self._settings = settings

    async def UploadDataset(
        self, request_iterator: AsyncIterator[pb.UploadDatasetRequest], context: Context
    ) -> pb.Dataset:
        subscription = current_subscription()
        first = await anext(aiter(request_iterator), None)
        if first is None or not first.HasField("metadata"):
            raise InvalidArgument("the first message of an upload must carry the dataset metadata")
        meta = first.metadata
        kind = convert.KIND_NAMES.get(meta.kind)
        if kind is None:
            raise InvalidArgument("kind is required: one of AudioFiles, Acoustic, Language, Pronunciation")
        if not meta.display_name.strip():
            raise InvalidArgument("display_name is required")
        properties = check_custom_properties(dict(meta.custom_properties))
        project_id = parse_id(meta.project_id, "project_id")
        async with self._pool.acquire() as conn:
            project = await repo.get_project(conn, project_id, subscription)
        if project is None:
            raise NotFound(f"project {project_id} not found")
        if meta.locale and meta.locale != project["locale"]:
            raise InvalidArgument(f"locale {meta.locale} differs from the project's locale {project['locale']}")

        dataset_id = uuid.uuid4()
        path = self._spool.path_for(dataset_id)
        staged = False
        try:
            size = await uploads.receive(request_iterator, path, uploads.size_limit(kind, self._settings), kind)
            await uploads.preflight(kind, path, size)
            # The staged copy makes the accepted upload durable: any replica can validate it
            # even if this one dies before it does.
            await self._blobs.put_file(staged_upload_key(dataset_id), str(path))
            staged = True
            async with self._pool.acquire() as conn, conn.transaction():
                row = await repo.insert_dataset(
                    conn,
                    dataset_id=dataset_id,
                    subscription_id=subscription,
                    project_id=project_id,
                    display_name=meta.display_name.strip(),
                    description=meta.description,
                    locale=project["locale"],
                    kind=kind,
                    upload_key=staged_upload_key(dataset_id),
                    upload_size_bytes=size,
                    custom_properties=properties,
                )
                await enqueue(
                    conn,
                    make_event(
                        "dataset.created", dataset_event(row), source=SERVICE, subscription_id=str(subscription)
                    ),
                )
        except BaseException:
            self._spool.discard(dataset_id)
            if staged:
                with contextlib.suppress(Exception):
                    await self._blobs.delete(staged_upload_key(dataset_id))
            raise
        self._spool.keep(dataset_id)
        log.info("dataset upload accepted", extra={"dataset_id": str(dataset_id), "kind": kind, "bytes": size})
        return convert.dataset(row)

    async def _dataset(self, dataset_id_text: str) -> asyncpg.Record:
        dataset_id = parse_id(dataset_id_text, "dataset_id")
        async with self._pool.acquire() as conn:
            row = await repo.get_dataset(conn, dataset_id, current_subscription())
        if row is None:
            raise NotFound(f"dataset {dataset_id} not found")
        return row

    async def GetDataset(self, request: pb.GetDatasetRequest, context: Context) -> pb.Dataset:
        return convert.dataset(await self._dataset(request.dataset_id))

    async def ListDatasets(self, request: pb.ListDatasetsRequest, context: Context) -> pb.ListDatasetsResponse:
        project_id = parse_id(request.project_id, "project_id")
        limit, offset = page_window(request.page_size, request.page_token)
        subscription = current_subscription()
        async with self._pool.acquire() as conn:
            if await repo.get_project(conn, project_id, subscription) is None:
                raise NotFound(f"project {project_id} not found")
            rows = await repo.list_datasets(conn, project_id, subscription, limit, offset)
        return pb.ListDatasetsResponse(datasets=[convert.dataset(r) for r in rows], **page_fields(rows, limit, offset))

    async def DeleteDataset(self, request: pb.DeleteDatasetRequest, context: Context) -> Empty:
        row = await self._dataset(request.dataset_id)
        subscription = current_subscription()
        async with self._pool.acquire() as conn, conn.transaction():
            if not await repo.delete_finished_dataset(conn, row["id"], subscription):
                raise FailedPrecondition(
                    f"dataset {row['id']} is still being validated (status {row['status']}); delete it once it finished"
                )
            await enqueue(
                conn,
                make_event("dataset.deleted", dataset_event(row), source=SERVICE, subscription_id=str(subscription)),
            )
        await self._blobs.delete_prefix(dataset_prefix(row["id"]))
        await self._blobs.delete_prefix(f"uploads/{row['id']}/")
        return Empty()

    async def GetDatasetReport(self, request: pb.GetDatasetReportRequest, context: Context) -> pb.DatasetReport:
        row = await self._dataset(request.dataset_id)
        async with self._pool.acquire() as conn:
            report_file = await repo.get_report_file(conn, row["id"])
        if report_file is None:
            raise NotFound(f"dataset {row['id']} has no report yet (status {row['status']})")
        body = b"".join([chunk async for chunk in self._blobs.read_chunks(report_file["object_key"])])
        report = json.loads(body)
        return pb.DatasetReport(
            dataset_id=str(row["id"]),
            accepted_count=report["acceptedCount"],
            rejected_count=report["rejectedCount"],
            truncated=report["truncated"],
            entries=[
                pb.ReportEntry(item=e["item"], line=e["line"], accepted=e["accepted"], reason=e["reason"])
                for e in report["entries"]
            ],
        )

    async def ListDatasetFiles(
        self, request: pb.ListDatasetFilesRequest, context: Context
    ) -> pb.ListDatasetFilesResponse:
        row = await self._dataset(request.dataset_id)
        limit, offset = page_window(request.page_size, request.page_token)
        async with self._pool.acquire() as conn:
            rows = await repo.list_files(conn, row["id"], limit, offset)
        return pb.ListDatasetFilesResponse(
            files=[convert.dataset_file(r) for r in rows], **page_fields(rows, limit, offset)
        )

    async def ListUtterances(self, request: pb.ListUtterancesRequest, context: Context) -> pb.ListUtterancesResponse:
        row = await self._dataset(request.dataset_id)
        limit, offset = page_window(request.page_size, request.page_token)
        async with self._pool.acquire() as conn:
            rows = await repo.list_utterances(conn, row["id"], limit, offset)
        return pb.ListUtterancesResponse(
            utterances=[convert.utterance(r) for r in rows], **page_fields(rows, limit, offset)
        )

    async def _file(self, file_id_text: str) -> asyncpg.Record:
        file_id = parse_id(file_id_text, "file_id")
        async with self._pool.acquire() as conn:
            row = await repo.get_file(conn, file_id, current_subscription())
        if row is None:
            raise NotFound(f"file {file_id} not found")
        return row

    async def GetFileUrl(self, request: pb.GetFileUrlRequest, context: Context) -> pb.FileUrl:
        row = await self._file(request.file_id)
        lifetime = request.expires_in.ToTimedelta() if request.HasField("expires_in") else DEFAULT_URL_LIFETIME
        if not timedelta(seconds=1) <= lifetime <= MAX_URL_LIFETIME:
            raise InvalidArgument("expires_in must be between 1 second and 7 days")
        url = await self._blobs.presigned_url(row["object_key"], lifetime)
        reply = pb.FileUrl(url=url)
        reply.expire_time.FromDatetime(datetime.now(UTC) + lifetime)
        return reply

    async def ReadFile(self, request: pb.ReadFileRequest, context: Context) -> AsyncIterator[pb.FileChunk]:
        row = await self._file(request.file_id)
        async for chunk in self._blobs.read_chunks(row["object_key"]):
            yield pb.FileChunk(data=chunk)
