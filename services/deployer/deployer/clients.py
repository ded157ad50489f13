"""Calls to ingest and the trainer, made for the current caller (their key is forwarded)."""

from __future__ import annotations

from datetime import UTC

import grpc

from attune.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from attune.trainer.v1 import trainer_pb2, trainer_pb2_grpc
from common.errors import InvalidArgument, from_rpc_error
from common.remote_auth import on_behalf_of_caller
from deployer.repository import ServedModel

TIMEOUT_S = 10


class Projects:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = ingest_pb2_grpc.ProjectServiceStub(channel)

    async def get(self, project_id: str) -> ingest_pb2.Project:
        try:
            return await self._stub.GetProject(
                ingest_pb2.GetProjectRequest(project_id=project_id), metadata=on_behalf_of_caller(), timeout=TIMEOUT_S
            )
        except grpc.aio.AioRpcError as exc:
            raise from_rpc_error(exc, "ingest") from None


class Models:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = trainer_pb2_grpc.ModelServiceStub(channel)

    async def get(self, model_id: str) -> trainer_pb2.Model:
        try:
            return await self._stub.GetModel(
                trainer_pb2.GetModelRequest(model_id=model_id), metadata=on_behalf_of_caller(), timeout=TIMEOUT_S
            )
        except grpc.aio.AioRpcError as exc:
            raise from_rpc_error(exc, "trainer") from None

    async def resolve_for_transcription(self, model_id: str) -> trainer_pb2.ResolvedModel:
        try:
            return await self._stub.ResolveTranscriptionModel(
                trainer_pb2.ResolveTranscriptionModelRequest(model_id=model_id),
                metadata=on_behalf_of_caller(),
                timeout=TIMEOUT_S,
            )
        except grpc.aio.AioRpcError as exc:
            raise from_rpc_error(exc, "trainer") from None


def served_model(model: trainer_pb2.Model) -> ServedModel:
    if not model.HasField("package") or not model.package.object_key:
        raise InvalidArgument(f"model {model.id} has no package to serve yet")
    return ServedModel(
        model_id=model.id,
        locale=model.locale,
        package_key=model.package.object_key,
        package_sha256=model.package.sha256,
        transcription_until=model.deprecation_dates.transcription_time.ToDatetime(tzinfo=UTC),
    )
