"""ModelService: the registry as users and the other services read it."""

from __future__ import annotations

import uuid
from typing import Any, TypeAlias

import asyncpg
import grpc

from attune.trainer.v1 import trainer_pb2 as pb
from attune.trainer.v1 import trainer_pb2_grpc
from common.auth import subscription_id
from common.clock import Clock
from common.errors import FailedPrecondition, NotFound
from common.paging import page_fields, page_window
from common.wire import parse_id
from trainer import convert, lifecycle
from trainer import repository as repo

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]


class ModelServicer(trainer_pb2_grpc.ModelServiceServicer):
    def __init__(self, pool: asyncpg.Pool, clock: Clock) -> None:
        self._pool = pool
        self._clock = clock

    async def ListBaseModels(self, request: pb.ListBaseModelsRequest, context: Context) -> pb.ListBaseModelsResponse:
        limit, offset = page_window(request.page_size, request.page_token)
        async with self._pool.acquire() as conn:
            rows = await repo.list_base_models(conn, request.locale or None, limit, offset)
        return pb.ListBaseModelsResponse(models=[convert.model(r) for r in rows], **page_fields(rows, limit, offset))

    async def GetBaseModel(self, request: pb.GetBaseModelRequest, context: Context) -> pb.Model:
        model_id = parse_id(request.model_id, "model_id")
        async with self._pool.acquire() as conn:
            row = await repo.get_base_model(conn, model_id)
        if row is None:
            raise NotFound(f"base model {model_id} not found")
        return convert.model(row)

    async def _visible(self, conn: asyncpg.Connection, model_id_text: str) -> asyncpg.Record:
        model_id = parse_id(model_id_text, "model_id")
        row = await repo.get_visible_model(conn, model_id, uuid.UUID(subscription_id()))
        if row is None:
            raise NotFound(f"model {model_id} not found")
        return row

    async def GetModel(self, request: pb.GetModelRequest, context: Context) -> pb.Model:
        async with self._pool.acquire() as conn:
            return convert.model(await self._visible(conn, request.model_id))

    async def ResolveTranscriptionModel(
        self, request: pb.ResolveTranscriptionModelRequest, context: Context
    ) -> pb.ResolvedModel:
        now = self._clock.now()
        async with self._pool.acquire() as conn:
            row = await self._visible(conn, request.model_id)
            if row["status"] != "Succeeded":
                raise FailedPrecondition(f"model {row['id']} is {row['status']}, not ready to decode")
            if lifecycle.may_transcribe(row["transcription_until"], now):
                return pb.ResolvedModel(model=convert.model(row), requested_model_id=str(row["id"]))
            fallback = await repo.newest_transcribing_base_model(conn, row["locale"], now)
        if fallback is None:
            raise FailedPrecondition(
                f"model {row['id']} could transcribe until {row['transcription_until']:%Y-%m-%d} and no "
                f"{row['locale']} base model may transcribe now"
            )
        return pb.ResolvedModel(
            model=convert.model(fallback),
            requested_model_id=str(row["id"]),
            fell_back=True,
            reason=(
                f"model {row['id']} could transcribe until {row['transcription_until']:%Y-%m-%d}; "
                f"the newest {row['locale']} base model {fallback['id']} decodes in its place"
            ),
        )
