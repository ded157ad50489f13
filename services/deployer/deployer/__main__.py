"""`python -m deployer`: settings -> resources -> load every endpoint's model -> serve."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable

from attune.deployer.v1 import deployer_pb2, deployer_pb2_grpc
from common.clock import Clock
from common.grpc_server import build_server
from common.remote_auth import RemoteKeyResolver
from common.service import channel_to, open_resources, run_service, serve_with, start_consumer
from deployer.clients import Models, Projects
from deployer.endpoints import EndpointServicer
from deployer.recognition import RecognitionServicer
from deployer.serving import ModelHost, Router
from deployer.settings import SCHEMA, SERVICE, DeployerSettings
from deployer.sync import BINDINGS, QUEUE_PURPOSE, EndpointSync, load_all
from speech.decoding import DecoderPool
from speech.packages import ModelCache

SERVICE_NAMES = (
    deployer_pb2.DESCRIPTOR.services_by_name["EndpointService"].full_name,
    deployer_pb2.DESCRIPTOR.services_by_name["RecognitionService"].full_name,
)
# A Recognize call carries a whole WAV (60 s of 16 kHz audio is under 2 MB).
MAX_MESSAGE_BYTES = 8 * 1024 * 1024


async def run(
    settings: DeployerSettings,
    *,
    stop: asyncio.Event | None = None,
    on_started: Callable[[int], None] | None = None,
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        core = await open_resources(stack, settings, SCHEMA)
        decoders = DecoderPool(processes=settings.decoder_processes or os.cpu_count() or 1)
        await decoders.start()
        stack.push_async_callback(decoders.close)
        router = Router(ModelHost(decoders, ModelCache(core.blobs, settings.model_cache_dir)))
        # Readiness means models loaded: nothing is served before every endpoint's model is.
        await load_all(core.pool, router)

        queue = f"{settings.queue_name(SERVICE, QUEUE_PURPOSE)}.{settings.replica_id}"
        await start_consumer(
            stack,
            core,
            settings,
            queue=queue,
            bindings=BINDINGS,
            handler=EndpointSync(router).handle,
            per_replica=True,
        )

        ingest = channel_to(stack, settings.ingest_address)
        trainer = channel_to(stack, settings.trainer_address)
        models = Models(trainer)
        server, health = build_server(
            RemoteKeyResolver(ingest),
            internal_token=settings.internal_token_text(),
            max_message_bytes=MAX_MESSAGE_BYTES,
        )
        deployer_pb2_grpc.add_EndpointServiceServicer_to_server(
            EndpointServicer(core.pool, router, Projects(ingest), models), server
        )
        recognition = RecognitionServicer(
            core.pool,
            router,
            models,
            Clock(settings.now),
            max_recognize_seconds=settings.max_recognize_seconds,
            max_stream_seconds=settings.max_stream_seconds,
        )
        deployer_pb2_grpc.add_RecognitionServiceServicer_to_server(recognition, server)
        await serve_with(settings, server, health, SERVICE_NAMES, stop=stop, on_started=on_started)


def main() -> None:
    run_service(SERVICE, DeployerSettings(), run)


if __name__ == "__main__":
    main()
