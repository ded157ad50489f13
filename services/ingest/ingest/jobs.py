"""The dataset validation job, run by whichever ingest replica takes `dataset.created`.

It marks the dataset Running, validates and stores what is accepted (see processing.py),
then, in the consumer's transaction, writes the files, utterances and final status with
its `dataset.succeeded` / `dataset.failed` event. A retried job first clears what an
interrupted attempt stored, so nothing half-written survives; the staged upload is deleted
only after the outcome has committed.
"""

from __future__ import annotations

import logging
import tempfile
import uuid
from pathlib import Path

import asyncpg

from attune.events.v1 import events_pb2
from common.blobs import BlobStore
from common.consumer import Delivery
from common.events import make_event, unpack
from common.outbox import enqueue
from ingest import repository as repo
from ingest.datasets import dataset_event
from ingest.processing import DatasetProcessor, Processed, dataset_prefix
from ingest.settings import SERVICE
from ingest.uploads import LocalSpool

log = logging.getLogger(__name__)

QUEUE_PURPOSE = "dataset-validation"
BINDINGS = ("dataset.created",)


class DatasetValidationJob:
    def __init__(self, pool: asyncpg.Pool, blobs: BlobStore, processor: DatasetProcessor, spool: LocalSpool) -> None:
        self._pool = pool
        self._blobs = blobs
        self._processor = processor
        self._spool = spool

    async def handle(self, conn: asyncpg.Connection, delivery: Delivery) -> None:
        payload = unpack(delivery.event, events_pb2.DatasetEvent)
        dataset_id = uuid.UUID(payload.dataset_id)
        row = await repo.get_dataset_for_job(conn, dataset_id)
        if row is None or row["status"] in ("Succeeded", "Failed"):
            return
        async with self._pool.acquire() as progress_conn:
            await repo.mark_running(progress_conn, dataset_id)
        try:
            processed = await self._run(dataset_id, row["kind"], row["upload_key"])
            outcome = self._outcome(processed)
        except Exception as exc:
            if not delivery.final_attempt:
                raise
            log.exception("dataset validation gave up", extra={"dataset_id": str(dataset_id)})
            await self._blobs.delete_prefix(dataset_prefix(dataset_id))
            processed = Processed()
            outcome = repo.Outcome("Failed", 0, 0, 0, "ProcessingError", f"validation could not finish: {exc}")

        await repo.insert_files(conn, dataset_id, processed.files)
        await repo.insert_utterances(conn, dataset_id, processed.utterances)
        finished = await repo.finish_dataset(conn, dataset_id, outcome)
        event_type = "dataset.succeeded" if outcome.status == "Succeeded" else "dataset.failed"
        await enqueue(
            conn,
            make_event(
                event_type, dataset_event(finished), source=SERVICE, subscription_id=str(row["subscription_id"])
            ),
        )
        upload_key = row["upload_key"]

        async def clean_up() -> None:
            self._spool.discard(dataset_id)
            if upload_key:
                await self._blobs.delete(upload_key)

        delivery.after_commit.append(clean_up)
        log.info(
            "dataset validated",
            extra={
                "dataset_id": str(dataset_id),
                "status": outcome.status,
                "accepted": outcome.accepted,
                "rejected": outcome.rejected,
            },
        )

    async def _run(self, dataset_id: uuid.UUID, kind: str, upload_key: str | None) -> Processed:
        # Leftovers of an attempt that died half-way are removed before starting again.
        await self._blobs.delete_prefix(dataset_prefix(dataset_id))
        last_percent = -1

        async def progress(percent: int) -> None:
            nonlocal last_percent
            if percent != last_percent:
                last_percent = percent
                async with self._pool.acquire() as conn:
                    await repo.set_progress(conn, dataset_id, percent)

        local = self._spool.kept(dataset_id)
        if local is not None:
            processed = await self._processor.process(dataset_id, kind, str(local), progress)
        else:
            if not upload_key:
                raise RuntimeError("the staged upload is gone")
            with tempfile.TemporaryDirectory(dir=self._spool.directory) as scratch:
                source = Path(scratch) / "upload"
                await self._blobs.download(upload_key, str(source))
                processed = await self._processor.process(dataset_id, kind, str(source), progress)
        processed.files.append(await self._processor.store_report(dataset_id, kind, processed.report))
        return processed

    @staticmethod
    def _outcome(processed: Processed) -> repo.Outcome:
        report = processed.report
        if report.accepted == 0:
            return repo.Outcome(
                "Failed",
                0,
                report.rejected,
                0,
                "NoAcceptedItems",
                f"none of the {report.rejected} items was accepted; the dataset report says why",
            )
        return repo.Outcome("Succeeded", report.accepted, report.rejected, processed.duration_ms)
