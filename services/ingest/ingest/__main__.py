"""`python -m ingest`: settings -> resources -> serve, until SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from attune.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from common.grpc_server import build_server
from common.service import open_resources, run_service, serve_with, start_consumer
from ingest.datasets import DatasetServicer
from ingest.identity import IdentityServicer
from ingest.jobs import BINDINGS, QUEUE_PURPOSE, DatasetValidationJob
from ingest.keys import DatabaseKeyResolver
from ingest.processing import DatasetProcessor
from ingest.projects import ProjectServicer
from ingest.settings import SCHEMA, SERVICE, IngestSettings
from ingest.uploads import LocalSpool

SERVICE_NAMES = (
    ingest_pb2.DESCRIPTOR.services_by_name["ProjectService"].full_name,
    ingest_pb2.DESCRIPTOR.services_by_name["DatasetService"].full_name,
    ingest_pb2.DESCRIPTOR.services_by_name["IdentityService"].full_name,
)
# Uploads stream in chunks; one message must hold a chunk, not a whole dataset.
MAX_MESSAGE_BYTES = 8 * 1024 * 1024


async def run(
    settings: IngestSettings,
    *,
    stop: asyncio.Event | None = None,
    on_started: Callable[[int], None] | None = None,
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        core = await open_resources(stack, settings, SCHEMA)
        spool = LocalSpool(settings.spool_dir)
        processor = DatasetProcessor(core.blobs, upload_concurrency=settings.upload_concurrency)
        job = DatasetValidationJob(core.pool, core.blobs, processor, spool)
        queue = settings.queue_name(SERVICE, QUEUE_PURPOSE)
        await start_consumer(
            stack,
            core,
            settings,
            queue=queue,
            bindings=BINDINGS,
            handler=job.handle,
            prefetch=2,
        )

        server, health = build_server(
            DatabaseKeyResolver(core.pool),
            internal_token=settings.internal_token_text(),
            max_message_bytes=MAX_MESSAGE_BYTES,
        )
        ingest_pb2_grpc.add_ProjectServiceServicer_to_server(ProjectServicer(core.pool), server)
        ingest_pb2_grpc.add_IdentityServiceServicer_to_server(IdentityServicer(), server)
        ingest_pb2_grpc.add_DatasetServiceServicer_to_server(
            DatasetServicer(core.pool, core.blobs, spool, settings), server
        )
        # Stops first on the way out (exit stack order is reversed): no new calls, then
        # consumers, relay, broker connection and pool close.
        await serve_with(settings, server, health, SERVICE_NAMES, stop=stop, on_started=on_started)


def main() -> None:
    run_service(SERVICE, IngestSettings(), run)


if __name__ == "__main__":
    main()
