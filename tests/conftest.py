"""Fixtures on the real PostgreSQL, RabbitMQ and S3 server of this machine.

Each test gets its own database (copied from a migrated template in a few milliseconds), its
own exchange and queue names and its own bucket, so tests never see each other's data.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import aio_pika
import asyncpg
import pytest
from minio import Minio

from common.blobs import BlobStore
from common.migrations import apply_migrations
from ingest.settings import SCHEMA as INGEST_SCHEMA
from ingest.settings import IngestSettings

# Service fixtures (servers running in the test's loop, clients with keys) for every test.
pytest_plugins = ["tests.ingest.fixtures", "tests.trainer.fixtures", "tests.deployer.fixtures"]

ADMIN_DSN = os.environ.get("ATTUNE_TEST_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("ATTUNE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
S3_ENDPOINT = os.environ.get("ATTUNE_TEST_S3_ENDPOINT", "127.0.0.1:8333")
TEMPLATE = f"attune_template_{os.getpid()}"
# Each owns a schema of the same name; every test database has them all.
SERVICES = ("ingest", "trainer", "deployer")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that restart the broker run last, so they never disturb the others."""
    items.sort(key=lambda item: item.get_closest_marker("broker_restart") is not None)


def dsn_for(database: str) -> str:
    return ADMIN_DSN.rsplit("/", 1)[0] + f"/{database}"


@pytest.fixture(scope="session")
async def template_database() -> AsyncIterator[str]:
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}"')
    await admin.execute(f'CREATE DATABASE "{TEMPLATE}"')
    conn = await asyncpg.connect(dsn_for(TEMPLATE))
    try:
        for service in SERVICES:
            await apply_migrations(conn, service, service)
    finally:
        await conn.close()
    yield TEMPLATE
    await admin.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
    await admin.close()


@pytest.fixture
async def database_url(template_database: str) -> AsyncIterator[str]:
    name = f"attune_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    try:
        yield dsn_for(name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
def amqp_namespace() -> str:
    return f"attune-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def broker_cleanup(amqp_namespace: str) -> AsyncIterator[None]:
    """Deletes the test's exchanges and queues (they are durable) when it ends."""
    yield
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        for name in await _broker_names("list_queues", amqp_namespace):
            await channel.queue_delete(name)
        for name in await _broker_names("list_exchanges", amqp_namespace):
            await channel.exchange_delete(name)


async def _broker_names(listing: str, prefix: str) -> list[str]:
    """Names of the broker's queues or exchanges that start with `prefix`."""
    process = await asyncio.create_subprocess_exec(
        "rabbitmqctl", "-q", listing, "name", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    out, _ = await process.communicate()
    return [name for name in out.decode().split() if name.startswith(prefix)]


@pytest.fixture(scope="session")
def s3_client() -> Minio:
    return Minio(S3_ENDPOINT, access_key="attune", secret_key="attune-secret-key", secure=False)


@pytest.fixture
def bucket(s3_client: Minio) -> Iterator[str]:
    name = f"attune-test-{uuid.uuid4().hex[:12]}"
    yield name
    if s3_client.bucket_exists(bucket_name=name):
        for obj in s3_client.list_objects(bucket_name=name, recursive=True):
            s3_client.remove_object(bucket_name=name, object_name=obj.object_name or "")
        s3_client.remove_bucket(bucket_name=name)


@pytest.fixture
def ingest_settings(
    database_url: str, amqp_namespace: str, bucket: str, tmp_path: object, broker_cleanup: None
) -> IngestSettings:
    return IngestSettings(
        database_url=database_url,
        amqp_url=AMQP_URL,
        amqp_namespace=amqp_namespace,
        s3_endpoint=S3_ENDPOINT,
        s3_bucket=bucket,
        grpc_host="127.0.0.1",
        grpc_port=0,
        spool_dir=str(tmp_path),
        shutdown_grace_seconds=2,
    )


@pytest.fixture
async def blobs(ingest_settings: IngestSettings) -> BlobStore:
    store = BlobStore.from_settings(ingest_settings)
    await store.ensure_bucket()
    return store


@pytest.fixture
async def ingest_pool(ingest_settings: IngestSettings) -> AsyncIterator[asyncpg.Pool]:
    from common.db import create_pool

    pool = await create_pool(ingest_settings.database_url.get_secret_value(), INGEST_SCHEMA)
    yield pool
    await pool.close()
