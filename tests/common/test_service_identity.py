"""Service identity: with the installation's internal token a job acts for the subscription
that owns it, and sees exactly what that subscription's keys see."""

from __future__ import annotations

import grpc
import pytest
from pydantic import SecretStr

from attune.ingest.v1 import ingest_pb2 as pb
from attune.ingest.v1 import ingest_pb2_grpc
from common.remote_auth import acting_for
from ingest.__main__ import run
from ingest.settings import IngestSettings
from tests.ingest.client import new_project
from tests.ingest.fixtures import Client
from tests.stack import running

pytestmark = pytest.mark.integration
TOKEN = "internal-token-for-tests-0123456789"


async def test_a_service_acts_for_one_subscription_with_the_internal_token(
    ingest_settings: IngestSettings, alice: Client, bob: Client
) -> None:
    project = await new_project(alice)
    with_token = ingest_settings.model_copy(update={"internal_token": SecretStr(TOKEN)})
    async with running(run, with_token) as address, grpc.aio.insecure_channel(address) as channel:
        projects = ingest_pb2_grpc.ProjectServiceStub(channel)

        as_alice = await projects.ListProjects(
            pb.ListProjectsRequest(), metadata=acting_for(alice.subscription_id, TOKEN)
        )
        assert [p.id for p in as_alice.projects] == [project.id]

        as_bob = acting_for(bob.subscription_id, TOKEN)
        assert (await projects.ListProjects(pb.ListProjectsRequest(), metadata=as_bob)).projects == []
        with pytest.raises(grpc.aio.AioRpcError) as hidden:
            await projects.GetProject(pb.GetProjectRequest(project_id=project.id), metadata=as_bob)
        assert hidden.value.code() == grpc.StatusCode.NOT_FOUND

        for metadata, says in [
            (acting_for(alice.subscription_id, TOKEN + "x"), "invalid internal token"),
            ((("x-attune-internal-token", TOKEN),), "must name a subscription"),
            (acting_for("not-a-subscription", TOKEN), "must name a subscription"),
        ]:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await projects.ListProjects(pb.ListProjectsRequest(), metadata=metadata)
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert says in (refused.value.details() or "")


async def test_without_a_configured_token_no_service_can_act_for_a_subscription(
    alice: Client, channel: grpc.aio.Channel
) -> None:
    projects = ingest_pb2_grpc.ProjectServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await projects.ListProjects(pb.ListProjectsRequest(), metadata=acting_for(alice.subscription_id, TOKEN))
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
