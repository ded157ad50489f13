"""RecognitionService: Recognize (a whole WAV) and StreamingRecognize (PCM chunks) on an endpoint.

Each request holds the model it started on until it ends (see serving.py), so a swap never
cuts a request short. When the endpoint's model may no longer transcribe, the newest base
model of its locale serves instead and the response says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import datetime

import asyncpg

from attune.deployer.v1 import deployer_pb2 as pb
from attune.deployer.v1 import deployer_pb2_grpc
from common.auth import subscription_id
from common.clock import Clock
from common.errors import FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
from common.wire import parse_id
from deployer import convert
from deployer import repository as repo
from deployer.clients import Models, served_model
from deployer.endpoints import Context
from deployer.serving import Route, Router
from deployer.sync import route_of
from speech import audio

BYTES_PER_SECOND_16K = 32_000
ACCEPTED_RATES = (8000, 16000)


class RecognitionServicer(deployer_pb2_grpc.RecognitionServiceServicer):
    def __init__(
        self,
        pool: asyncpg.Pool,
        router: Router,
        models: Models,
        clock: Clock,
        *,
        max_recognize_seconds: float,
        max_stream_seconds: float,
    ) -> None:
        self._pool = pool
        self._router = router
        self._models = models
        self._clock = clock
        self._max_recognize_seconds = max_recognize_seconds
        self._max_stream_seconds = max_stream_seconds

    async def _route(self, endpoint_id_text: str) -> Route:
        """The caller's endpoint as this replica serves it (syncing it if it is new here)."""
        endpoint_id = parse_id(endpoint_id_text, "endpoint_id")
        route = self._router.route(str(endpoint_id))
        if route is None:
            async with self._pool.acquire() as conn:
                row = await repo.get_endpoint(conn, endpoint_id, uuid.UUID(subscription_id()))
            if row is None:
                raise NotFound(f"endpoint {endpoint_id} not found")
            if row["status"] != "Succeeded":
                reason = f": {row['change_error']}" if row["change_error"] else ""
                raise FailedPrecondition(f"endpoint {endpoint_id} is {row['status']}{reason}")
            route = route_of(row)
            await self._router.install(route)
        if route.subscription_id != subscription_id():
            raise NotFound(f"endpoint {endpoint_id} not found")
        return route

    @contextlib.asynccontextmanager
    async def _serving(self, route: Route) -> AsyncIterator[pb.ServedBy]:
        """Holds the model that serves this request, and says which it is."""
        model = route.model
        served_by = pb.ServedBy(model_id=model.model_id, requested_model_id=model.model_id)
        if not self._may_transcribe(model.transcription_until):
            resolved = await self._models.resolve_for_transcription(model.model_id)
            fallback = served_model(resolved.model)
            await self._router.pin(fallback)
            model = fallback
            served_by = pb.ServedBy(
                model_id=fallback.model_id,
                requested_model_id=route.model.model_id,
                fell_back=resolved.fell_back,
                reason=resolved.reason,
            )
        async with self._router.host.using(model.model_id):
            yield served_by

    def _may_transcribe(self, until: datetime) -> bool:
        return self._clock.now() < until

    async def Recognize(self, request: pb.RecognizeRequest, context: Context) -> pb.RecognizeResponse:
        route = await self._route(request.endpoint_id)
        limit = int(self._max_recognize_seconds * BYTES_PER_SECOND_16K) + 4096
        if len(request.audio) > limit:
            raise ResourceExhausted(
                f"audio of {len(request.audio)} bytes is over the limit of a Recognize call "
                f"({self._max_recognize_seconds:.0f} s of 16 kHz audio); use StreamingRecognize"
            )
        try:
            pcm = audio.read_pcm(request.audio)
        except audio.InvalidAudio as exc:
            raise InvalidArgument(f"unsupported audio: {exc}") from None
        async with self._serving(route) as served_by:
            decoding = self._router.host.pool.recognize(served_by.model_id, pcm.samples, sample_rate=pcm.sample_rate)
            # The caller's deadline bounds the work too: nobody waits for an abandoned answer.
            recognition = await asyncio.wait_for(decoding, context.time_remaining())
        return pb.RecognizeResponse(result=convert.result(recognition), served_by=served_by)

    async def StreamingRecognize(
        self, request_iterator: AsyncIterator[pb.StreamingRecognizeRequest], context: Context
    ) -> AsyncIterator[pb.StreamingRecognizeResponse]:
        first = await anext(aiter(request_iterator), None)
        if first is None or not first.HasField("config"):
            raise InvalidArgument("the first message of a stream must carry the config")
        config = first.config
        if config.sample_rate_hz not in ACCEPTED_RATES:
            raise InvalidArgument(f"sample_rate_hz {config.sample_rate_hz}: 8000 or 16000 is required")
        route = await self._route(config.endpoint_id)
        limit = int(self._max_stream_seconds * config.sample_rate_hz * 2)
        received = 0
        pool = self._router.host.pool
        async with (
            self._serving(route) as served_by,
            pool.stream(served_by.model_id, sample_rate=config.sample_rate_hz) as stream,
        ):
            last_partial = ""
            async for message in request_iterator:
                if message.HasField("config"):
                    raise InvalidArgument("the config may only come in the first message")
                received += len(message.audio)
                if received > limit:
                    raise ResourceExhausted(f"a stream may carry at most {self._max_stream_seconds:.0f} s of audio")
                partial = await stream.feed(message.audio)
                if config.interim_results and partial and partial != last_partial:
                    last_partial = partial
                    yield pb.StreamingRecognizeResponse(
                        result=pb.RecognitionResult(text=partial), is_final=False, served_by=served_by
                    )
            final = await stream.finish()
        yield pb.StreamingRecognizeResponse(result=convert.result(final), is_final=True, served_by=served_by)
