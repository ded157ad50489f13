"""The ingest service as an operator runs it: migrate, create a subscription, serve, stop."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from attune.ingest.v1 import ingest_pb2 as pb
from attune.ingest.v1 import ingest_pb2_grpc
from ingest.settings import IngestSettings

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def service_env(settings: IngestSettings, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "ATTUNE_INGEST_DATABASE_URL": settings.database_url.get_secret_value(),
        "ATTUNE_INGEST_AMQP_NAMESPACE": settings.amqp_namespace,
        "ATTUNE_INGEST_S3_BUCKET": settings.s3_bucket,
        "ATTUNE_INGEST_SPOOL_DIR": settings.spool_dir,
        "ATTUNE_INGEST_GRPC_HOST": "127.0.0.1",
        "ATTUNE_INGEST_GRPC_PORT": str(port),
        # Long enough to watch health say NOT_SERVING before the server stops.
        "ATTUNE_INGEST_SHUTDOWN_DRAIN_SECONDS": "3",
    }


async def wait_serving(address: str, timeout: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with grpc.aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError:
                pass
            if loop.time() > deadline:
                raise AssertionError("service never reported SERVING")
            await asyncio.sleep(0.1)


async def health_after_sigterm(address: str, timeout: float = 10) -> int:
    """The first health status other than SERVING that the server reports."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with grpc.aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while loop.time() < deadline:
            reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
            if reply.status != health_pb2.HealthCheckResponse.SERVING:
                return int(reply.status)
            await asyncio.sleep(0.05)
    raise AssertionError("health never left SERVING after SIGTERM")


async def listed_services(channel: grpc.aio.Channel) -> set[str]:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    replies = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    return {service.name async for reply in replies for service in reply.list_services_response.service}


async def test_operator_journey_with_json_logs_and_graceful_stop(
    ingest_settings: IngestSettings, blobs: object
) -> None:
    env = service_env(ingest_settings, free_port())
    migrate = subprocess.run(
        [sys.executable, "-m", "ingest.migrate"], env=env, capture_output=True, text=True, timeout=60
    )
    assert migrate.returncode == 0, migrate.stderr
    admin = subprocess.run(
        [sys.executable, "-m", "ingest.admin", "create-subscription", "ops"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert admin.returncode == 0, admin.stderr
    key = json.loads(admin.stdout)["apiKey"]

    address = f"127.0.0.1:{env['ATTUNE_INGEST_GRPC_PORT']}"
    service = subprocess.Popen([sys.executable, "-m", "ingest"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        await wait_serving(address)
        async with grpc.aio.insecure_channel(address) as channel:
            # Tooling (grpcurl and the like) discovers the API by reflection, without a key.
            assert {"attune.ingest.v1.ProjectService", "attune.ingest.v1.DatasetService"} <= await listed_services(
                channel
            )
            projects = ingest_pb2_grpc.ProjectServiceStub(channel)
            metadata = (("x-api-key", key), ("x-correlation-id", "corr-e2e-42"))
            project = await projects.CreateProject(
                pb.CreateProjectRequest(display_name="calls", locale="en-US"), metadata=metadata
            )
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await projects.GetProject(
                    pb.GetProjectRequest(project_id="not-an-id"),
                    metadata=(("x-api-key", key), ("x-correlation-id", "corr-bad")),
                )
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        service.send_signal(signal.SIGTERM)
        # Load balancers see NOT_SERVING first, while the server still answers.
        assert await health_after_sigterm(address) == health_pb2.HealthCheckResponse.NOT_SERVING
        _, stderr = await asyncio.to_thread(service.communicate, timeout=30)
    finally:
        if service.poll() is None:
            service.kill()
    assert service.returncode == 0

    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert all(line["service"] == "ingest" for line in lines)
    refusal = [line for line in lines if line["message"] == "call refused"]
    assert refusal and refusal[0]["correlation_id"] == "corr-bad" and refusal[0]["code"] == "INVALID_ARGUMENT"
    assert any(line["message"] == "shutting down" for line in lines)
    assert project.id
