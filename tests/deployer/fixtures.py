"""A deployer (with the ingest and trainer it calls) running in the test's event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import pytest

from attune.deployer.v1 import deployer_pb2_grpc
from deployer.__main__ import run
from deployer.settings import DeployerSettings
from ingest.settings import IngestSettings
from tests.stack import running


def deployer_settings_for(
    ingest_settings: IngestSettings, ingest_address: str, trainer_address: str, **changes: object
) -> DeployerSettings:
    shared = ingest_settings.model_dump(
        include={"database_url", "amqp_url", "amqp_namespace", "s3_endpoint", "s3_bucket", "grpc_host"}
    )
    values: dict[str, object] = {
        "grpc_port": 0,
        "ingest_address": ingest_address,
        "trainer_address": trainer_address,
        "model_cache_dir": f"{ingest_settings.spool_dir}/models",
        "decoder_processes": 2,
        "shutdown_grace_seconds": 5,
        **changes,
    }
    return DeployerSettings(**shared, **values)


@dataclass
class Deployer:
    endpoints: deployer_pb2_grpc.EndpointServiceStub
    recognition: deployer_pb2_grpc.RecognitionServiceStub
    address: str


@pytest.fixture
def deployer_settings(ingest_settings: IngestSettings, ingest_address: str, trainer_address: str) -> DeployerSettings:
    return deployer_settings_for(ingest_settings, ingest_address, trainer_address)


@pytest.fixture
async def deployer(deployer_settings: DeployerSettings) -> AsyncIterator[Deployer]:
    async with running(run, deployer_settings) as address, grpc.aio.insecure_channel(address) as channel:
        yield Deployer(
            deployer_pb2_grpc.EndpointServiceStub(channel), deployer_pb2_grpc.RecognitionServiceStub(channel), address
        )
