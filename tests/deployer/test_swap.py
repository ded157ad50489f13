"""Changing an endpoint's model: no failed request, a broken package never takes over,
every replica follows, and expired models fall back with a moved clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest

from attune.deployer.v1 import deployer_pb2 as pb
from attune.deployer.v1 import deployer_pb2_grpc
from attune.trainer.v1 import trainer_pb2_grpc
from deployer.__main__ import run as run_deployer
from deployer.settings import DeployerSettings
from ingest.settings import IngestSettings
from tests.deployer.fixtures import Deployer, deployer_settings_for
from tests.deployer.helpers import base_model, endpoint_on, librivox_wav
from tests.ingest.fixtures import Client
from tests.polling import eventually
from tests.stack import running
from tests.trainer.fixtures import trainer_settings_for
from tests.trainer.packages import broken_package, register, working_package
from trainer.__main__ import run as run_trainer
from trainer.settings import TrainerSettings

pytestmark = pytest.mark.integration

SHORT = "sense_and_sensibility_01_austen_64kb-0880.wav"  # 3 s: "he was not an ill disposed young man"


async def recognize(
    stub: deployer_pb2_grpc.RecognitionServiceStub, client: Client, endpoint_id: str
) -> pb.RecognizeResponse:
    return await stub.Recognize(
        pb.RecognizeRequest(endpoint_id=endpoint_id, audio=librivox_wav(SHORT)), metadata=client.metadata
    )


async def served_by_eventually(
    stub: deployer_pb2_grpc.RecognitionServiceStub, client: Client, endpoint_id: str, model_id: str, timeout: float = 60
) -> None:
    async def serves() -> bool:
        return (await recognize(stub, client, endpoint_id)).served_by.model_id == model_id

    await eventually(serves, timeout, f"the endpoint to serve {model_id}")


async def test_swaps_under_load_fail_no_request_and_switch_at_once(
    deployer: Deployer, models: trainer_pb2_grpc.ModelServiceStub, alice: Client,
    trainer_settings: TrainerSettings, tmp_path: Path,
) -> None:  # fmt: skip
    first = (await base_model(models, alice)).id
    second = working_package(tmp_path / "second")
    await register(trainer_settings, tmp_path / "second", datetime.now(UTC))
    endpoint = await endpoint_on(deployer, alice, first)

    failures: list[BaseException] = []
    served: list[tuple[float, str]] = []  # (when the request started, the model that served it)
    changes: list[tuple[float, str]] = [(0.0, first)]  # (when the change call returned, its model)
    clock = asyncio.get_running_loop().time

    async def client_loop() -> None:
        after_last_change = 0
        for _ in range(40):  # bounded, whatever happens
            started = clock()
            try:
                reply = await recognize(deployer.recognition, alice, endpoint.id)
                served.append((started, reply.served_by.model_id))
            except grpc.aio.AioRpcError as exc:
                failures.append(exc)
            if len(changes) == 4 and started > changes[-1][0]:
                after_last_change += 1
                if after_last_change == 2:
                    return

    clients = [asyncio.create_task(client_loop()) for _ in range(4)]
    for target in (second, first, second):
        await asyncio.sleep(0.5)
        changed = await deployer.endpoints.UpdateEndpoint(
            pb.UpdateEndpointRequest(endpoint_id=endpoint.id, model_id=target), metadata=alice.metadata
        )
        assert changed.model_id == target and changed.last_model_change.status == pb.SUCCEEDED
        changes.append((clock(), target))
    await asyncio.gather(*clients)

    assert failures == []
    assert {model for _, model in served} == {first, second}
    # A request that started after a change returned was served by that change's model
    # (or by the next one's, if that was already switching in); never by an older one.
    for started, model in served:
        done = [index for index, (returned, _) in enumerate(changes) if returned < started][-1]
        allowed = {changes[done][1]} | ({changes[done + 1][1]} if done + 1 < len(changes) else set())
        assert model in allowed, (started, model, changes)
    assert [model for started, model in served if started > changes[-1][0]]


async def test_a_package_that_does_not_load_leaves_the_old_model_serving(
    deployer: Deployer, models: trainer_pb2_grpc.ModelServiceStub, alice: Client,
    trainer_settings: TrainerSettings, tmp_path: Path,
) -> None:  # fmt: skip
    good = (await base_model(models, alice)).id
    broken = broken_package(tmp_path / "broken")
    await register(trainer_settings, tmp_path / "broken", datetime.now(UTC))
    endpoint = await endpoint_on(deployer, alice, good)

    changed = await deployer.endpoints.UpdateEndpoint(
        pb.UpdateEndpointRequest(endpoint_id=endpoint.id, model_id=broken), metadata=alice.metadata
    )
    assert changed.model_id == good
    assert changed.last_model_change.model_id == broken
    assert changed.last_model_change.status == pb.FAILED
    assert "could not be loaded" in changed.last_model_change.error
    reply = await recognize(deployer.recognition, alice, endpoint.id)
    assert reply.served_by.model_id == good and "young man" in reply.result.text

    # An endpoint created on it never serves, and says why.
    failed = await endpoint_on(deployer, alice, broken)
    assert failed.status == pb.FAILED and "could not be loaded" in failed.last_model_change.error
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await recognize(deployer.recognition, alice, failed.id)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "could not be loaded" in (refused.value.details() or "")


async def test_other_replicas_follow_a_swap_and_a_restarted_one_serves_the_current_model(
    deployer: Deployer, deployer_settings: DeployerSettings, models: trainer_pb2_grpc.ModelServiceStub,
    alice: Client, trainer_settings: TrainerSettings, tmp_path: Path,
) -> None:  # fmt: skip
    first = (await base_model(models, alice)).id
    second = working_package(tmp_path / "second")
    await register(trainer_settings, tmp_path / "second", datetime.now(UTC))
    endpoint = await endpoint_on(deployer, alice, first)

    other_settings = deployer_settings.model_copy(update={"replica_id": "replica-b"})
    async with running(run_deployer, other_settings) as other, grpc.aio.insecure_channel(other) as channel:
        replica_b = deployer_pb2_grpc.RecognitionServiceStub(channel)
        assert (await recognize(replica_b, alice, endpoint.id)).served_by.model_id == first
        await deployer.endpoints.UpdateEndpoint(
            pb.UpdateEndpointRequest(endpoint_id=endpoint.id, model_id=second), metadata=alice.metadata
        )
        # Replica B was not asked; it hears endpoint.model_changed on its own queue.
        await served_by_eventually(replica_b, alice, endpoint.id, second)

    restarted_settings = deployer_settings.model_copy(update={"replica_id": "replica-c"})
    async with running(run_deployer, restarted_settings) as restarted, grpc.aio.insecure_channel(restarted) as channel:
        # It said it was serving only after loading every endpoint's current model.
        reply = await recognize(deployer_pb2_grpc.RecognitionServiceStub(channel), alice, endpoint.id)
        assert reply.served_by.model_id == second


async def test_an_expired_model_falls_back_to_the_newest_base_model_and_says_so(
    ingest_settings: IngestSettings, ingest_address: str, alice: Client, tmp_path: Path
) -> None:
    now = datetime(2031, 3, 1, tzinfo=UTC)
    trainer_settings = trainer_settings_for(ingest_settings, ingest_address, now=now)
    expired = working_package(tmp_path / "expired")
    await register(trainer_settings, tmp_path / "expired", now - timedelta(days=900), "old en-US")
    current = working_package(tmp_path / "current")
    await register(trainer_settings, tmp_path / "current", now - timedelta(days=100), "new en-US")

    async with running(run_trainer, trainer_settings) as trainer_address:
        settings = deployer_settings_for(ingest_settings, ingest_address, trainer_address, now=now)
        async with running(run_deployer, settings) as address, grpc.aio.insecure_channel(address) as channel:
            deployer = Deployer(
                deployer_pb2_grpc.EndpointServiceStub(channel),
                deployer_pb2_grpc.RecognitionServiceStub(channel),
                address,
            )
            endpoint = await endpoint_on(deployer, alice, expired)
            reply = await recognize(deployer.recognition, alice, endpoint.id)
    assert reply.served_by.fell_back
    assert (reply.served_by.model_id, reply.served_by.requested_model_id) == (current, expired)
    assert "could transcribe until" in reply.served_by.reason
    assert "young man" in reply.result.text
