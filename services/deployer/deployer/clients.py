"""Calls to ingest and the trainer, made for the current caller (their key is forwarded)."""

from __future__ import annotations

from datetime import UTC

import grpc

from attune.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from attune.trainer.v1 import trainer_pb2, trainer_pb2_grpc
from common.errors import InvalidArgument
from common.remote_auth import ask_for_caller
from deployer.repository import ServedModel


class Projects:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = ingest_pb2_grpc.ProjectServiceStub(channel)

    async def get(self, project_id: str) -> ingest_pb2.Project:
        request = ingest_pb2.GetProjectRequest(project_id=project_id)
        return await ask_for_caller(self._stub.GetProject, request, service="ingest")


class Models:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = trainer_pb2_grpc.ModelServiceStub(channel)

    async def get(self, model_id: str) -> trainer_pb2.Model:
        request = trainer_pb2.GetModelRequest(model_id=model_id)
        return await ask_for_caller(self._stub.GetModel, request, service="trainer")

    async def resolve_for_transcription(self, model_id: str) -> trainer_pb2.ResolvedModel:
        request = trainer_pb2.ResolveTranscriptionModelRequest(model_id=model_id)
        return await ask_for_caller(self._stub.ResolveTranscriptionModel, request, service="trainer")


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
