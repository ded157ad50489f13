"""A trainer (with the ingest it authenticates through) running in the test's event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest

from attune.trainer.v1 import trainer_pb2_grpc
from ingest.settings import IngestSettings
from tests.stack import running
from trainer.__main__ import run
from trainer.settings import TrainerSettings


def trainer_settings_for(ingest_settings: IngestSettings, ingest_address: str, **changes: object) -> TrainerSettings:
    """Trainer settings sharing the test's database, broker namespace and bucket."""
    shared = ingest_settings.model_dump(
        include={"database_url", "amqp_url", "amqp_namespace", "s3_endpoint", "s3_bucket", "grpc_host"}
    )
    return TrainerSettings(
        **shared,
        grpc_port=0,
        ingest_address=ingest_address,
        work_dir=ingest_settings.spool_dir,
        shutdown_grace_seconds=2,
        **changes,
    )


@pytest.fixture
def trainer_settings(ingest_settings: IngestSettings, ingest_address: str) -> TrainerSettings:
    return trainer_settings_for(ingest_settings, ingest_address)


@pytest.fixture
async def trainer_address(trainer_settings: TrainerSettings) -> AsyncIterator[str]:
    async with running(run, trainer_settings) as address:
        yield address


@pytest.fixture
async def models(trainer_address: str) -> AsyncIterator[trainer_pb2_grpc.ModelServiceStub]:
    async with grpc.aio.insecure_channel(trainer_address) as channel:
        yield trainer_pb2_grpc.ModelServiceStub(channel)
