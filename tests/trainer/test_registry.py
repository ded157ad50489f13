"""The base-model registry: the bundled model at first start, imports, and lifecycle dates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest

from attune.trainer.v1 import trainer_pb2 as pb
from attune.trainer.v1 import trainer_pb2_grpc
from common.blobs import BlobStore
from ingest.settings import IngestSettings
from speech.packages import bundled_base_package
from tests.ingest.fixtures import Client
from tests.stack import running
from tests.trainer.fixtures import trainer_settings_for
from trainer.__main__ import run
from trainer.lifecycle import years_after
from trainer.settings import TrainerSettings

pytestmark = pytest.mark.integration


def when(model_time: object) -> datetime:
    return model_time.ToDatetime(tzinfo=UTC)  # type: ignore[attr-defined]


async def test_first_start_registers_the_bundled_model_with_its_dates(
    models: trainer_pb2_grpc.ModelServiceStub, alice: Client, blobs: BlobStore
) -> None:
    listed = await models.ListBaseModels(pb.ListBaseModelsRequest(locale="en-US"), metadata=alice.metadata)
    assert listed.total_size == 1
    model = listed.models[0]
    assert (model.kind, model.locale, model.engine) == (pb.BASE, "en-US", "pocketsphinx")
    imported = when(model.create_time)
    assert when(model.deprecation_dates.adaptation_time) == years_after(imported, 1)
    assert when(model.deprecation_dates.transcription_time) == years_after(imported, 2)
    assert {"Language", "Pronunciation", "Acoustic"} <= set(model.features.supports_adaptations_with)
    # Its package is in storage, where loaders find it by key and check it by hash.
    assert await blobs.size(model.package.object_key) == model.package.size_bytes
    assert len(model.package.sha256) == 64
    fetched = await models.GetBaseModel(pb.GetBaseModelRequest(model_id=model.id), metadata=alice.metadata)
    assert fetched == model


async def test_a_restart_does_not_register_it_twice(
    trainer_settings: TrainerSettings, trainer_address: str, alice: Client
) -> None:
    async with running(run, trainer_settings) as second:
        async with grpc.aio.insecure_channel(second) as channel:
            stub = trainer_pb2_grpc.ModelServiceStub(channel)
            listed = await stub.ListBaseModels(pb.ListBaseModelsRequest(), metadata=alice.metadata)
    assert listed.total_size == 1


async def test_calls_need_a_key_and_unknown_models_are_not_found(
    models: trainer_pb2_grpc.ModelServiceStub, alice: Client
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as anonymous:
        await models.ListBaseModels(pb.ListBaseModelsRequest())
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await models.GetModel(pb.GetModelRequest(model_id=str(uuid.uuid4())), metadata=alice.metadata)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


def import_with_admin(settings: TrainerSettings, package: Path, imported_at: str) -> dict[str, str]:
    env = {
        **os.environ,
        "ATTUNE_TRAINER_DATABASE_URL": settings.database_url.get_secret_value(),
        "ATTUNE_TRAINER_S3_BUCKET": settings.s3_bucket,
        "ATTUNE_TRAINER_WORK_DIR": settings.work_dir,
    }
    done = subprocess.run(
        [sys.executable, "-m", "trainer.admin", "import-base-model", str(package), "--name", "old en-US",
         "--imported-at", imported_at],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


async def test_expired_model_falls_back_to_the_newest_base_model_of_its_locale(
    ingest_settings: IngestSettings, ingest_address: str, alice: Client, tmp_path: Path
) -> None:
    # An older base model, imported three years before "now": it may no longer transcribe.
    now = datetime(2030, 6, 1, tzinfo=UTC)
    old_id = str(uuid.uuid4())
    bundled_base_package(tmp_path / "old", old_id, now - timedelta(days=3 * 365))
    settings = trainer_settings_for(ingest_settings, ingest_address, now=now)
    imported = import_with_admin(settings, tmp_path / "old", "2027-06-01T00:00:00+00:00")
    assert imported["modelId"] == old_id
    assert imported["transcriptionUntil"].startswith("2029-06-01")

    async with running(run, settings) as address, grpc.aio.insecure_channel(address) as channel:
        stub = trainer_pb2_grpc.ModelServiceStub(channel)
        listed = await stub.ListBaseModels(pb.ListBaseModelsRequest(locale="en-US"), metadata=alice.metadata)
        # With a base model present, first start registers nothing more.
        assert [m.id for m in listed.models] == [old_id]
        with pytest.raises(grpc.aio.AioRpcError) as none_left:
            await stub.ResolveTranscriptionModel(
                pb.ResolveTranscriptionModelRequest(model_id=old_id), metadata=alice.metadata
            )
        assert none_left.value.code() == grpc.StatusCode.FAILED_PRECONDITION

        newer_id = str(uuid.uuid4())
        bundled_base_package(tmp_path / "new", newer_id, now)
        import_with_admin(settings, tmp_path / "new", "2030-01-01T00:00:00+00:00")
        resolved = await stub.ResolveTranscriptionModel(
            pb.ResolveTranscriptionModelRequest(model_id=old_id), metadata=alice.metadata
        )
        assert resolved.fell_back
        assert (resolved.model.id, resolved.requested_model_id) == (newer_id, old_id)
        assert "2029-06-01" in resolved.reason

        current = await stub.ResolveTranscriptionModel(
            pb.ResolveTranscriptionModelRequest(model_id=newer_id), metadata=alice.metadata
        )
        assert (current.model.id, current.fell_back) == (newer_id, False)
