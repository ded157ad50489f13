"""`python -m trainer`: settings -> resources -> serve, until SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from attune.trainer.v1 import trainer_pb2, trainer_pb2_grpc
from common.clock import Clock
from common.grpc_server import build_server
from common.remote_auth import RemoteKeyResolver
from common.service import channel_to, open_resources, run_service, serve_with
from trainer.models import ModelServicer
from trainer.registry import ensure_bundled_base_model
from trainer.settings import SCHEMA, SERVICE, TrainerSettings

SERVICE_NAMES = (trainer_pb2.DESCRIPTOR.services_by_name["ModelService"].full_name,)


async def run(
    settings: TrainerSettings,
    *,
    stop: asyncio.Event | None = None,
    on_started: Callable[[int], None] | None = None,
) -> None:
    clock = Clock(settings.now)
    async with contextlib.AsyncExitStack() as stack:
        core = await open_resources(stack, settings, SCHEMA)
        await ensure_bundled_base_model(core.pool, core.blobs, now=clock.now(), work_dir=settings.work_dir)
        ingest = channel_to(stack, settings.ingest_address)
        server, health = build_server(RemoteKeyResolver(ingest), internal_token=settings.internal_token_text())
        trainer_pb2_grpc.add_ModelServiceServicer_to_server(ModelServicer(core.pool, clock), server)
        await serve_with(settings, server, health, SERVICE_NAMES, stop=stop, on_started=on_started)


def main() -> None:
    run_service(SERVICE, TrainerSettings(), run)


if __name__ == "__main__":
    main()
