"""An ingest server running in the test's event loop, and API keys of two subscriptions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import grpc
import pytest

from attune.ingest.v1 import ingest_pb2_grpc
from ingest.__main__ import run
from ingest.keys import create_subscription
from ingest.settings import IngestSettings
from tests.stack import running


@dataclass
class Client:
    """What a user holds: stubs on a channel, and the key to present on every call."""

    projects: ingest_pb2_grpc.ProjectServiceStub
    datasets: ingest_pb2_grpc.DatasetServiceStub
    key: str
    subscription_id: str

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("x-api-key", self.key),)


@pytest.fixture
async def ingest_address(ingest_settings: IngestSettings) -> AsyncIterator[str]:
    async with running(run, ingest_settings) as address:
        yield address


@pytest.fixture
async def channel(ingest_address: str) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(ingest_address) as chan:
        yield chan


async def _client(channel: grpc.aio.Channel, pool: asyncpg.Pool, name: str) -> Client:
    async with pool.acquire() as conn:
        subscription_id, key = await create_subscription(conn, name)
    return Client(
        ingest_pb2_grpc.ProjectServiceStub(channel),
        ingest_pb2_grpc.DatasetServiceStub(channel),
        key,
        str(subscription_id),
    )


@pytest.fixture
async def alice(channel: grpc.aio.Channel, ingest_pool: asyncpg.Pool) -> Client:
    return await _client(channel, ingest_pool, "alice")


@pytest.fixture
async def bob(channel: grpc.aio.Channel, ingest_pool: asyncpg.Pool) -> Client:
    return await _client(channel, ingest_pool, "bob")
