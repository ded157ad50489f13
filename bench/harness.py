"""What the benchmarks share: a fresh environment, services as processes, clips, figures.

- environment: a database, a bucket and an AMQP namespace of their own, removed on exit
  (also on failure), and services started as separate processes (`python -m <service>`),
  stopped with SIGTERM;
- the recognition stack: ingest, trainer and deployer on one database, bucket and
  namespace, each migrated by its own command, with a subscription key, a project and an
  endpoint on the bundled base model;
- librivox clips: windows of the pocketsphinx test recordings, as PCM and as WAV;
- figures: quantiles, /proc readings and the machine the figures were taken on.

Benchmarks import it as `harness` (they run as scripts, so `bench/` is on the path).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import math
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aio_pika
import asyncpg
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from minio import Minio

from attune.deployer.v1 import deployer_pb2, deployer_pb2_grpc
from attune.ingest.v1 import ingest_pb2, ingest_pb2_grpc
from attune.trainer.v1 import trainer_pb2, trainer_pb2_grpc
from common.blobs import BlobStore
from common.settings import ServiceSettings
from ingest.settings import IngestSettings
from speech.corpora import LIBRIVOX
from speech.packages import bundled_base_package

ADMIN_DSN = os.environ.get("ATTUNE_BENCH_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
SAMPLE_RATE = 16000
BYTES_PER_SECOND = 2 * SAMPLE_RATE
# A Recognize call in a benchmark that takes longer than this counts as failed.
CALL_TIMEOUT_S = 30.0


# -- the environment: database, bucket, broker namespace, service processes -----------------


def dsn_for(database: str) -> str:
    return ADMIN_DSN.rsplit("/", 1)[0] + f"/{database}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def create_database(stack: contextlib.AsyncExitStack) -> str:
    """An empty database of its own, dropped (connections and all) on exit; returns its DSN."""
    name = f"attune_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(ADMIN_DSN)
    stack.push_async_callback(admin.close)
    await admin.execute(f'CREATE DATABASE "{name}"')
    stack.push_async_callback(admin.execute, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return dsn_for(name)


def s3_client(settings: ServiceSettings) -> Minio:
    return Minio(
        settings.s3_endpoint,
        access_key=settings.s3_access_key.get_secret_value(),
        secret_key=settings.s3_secret_key.get_secret_value(),
        secure=settings.s3_secure,
        region=settings.s3_region,
    )


async def remove_bucket(client: Minio, blobs: BlobStore) -> None:
    if await asyncio.to_thread(client.bucket_exists, bucket_name=blobs.bucket):
        await blobs.delete_prefix("")
        await asyncio.to_thread(client.remove_bucket, bucket_name=blobs.bucket)


async def rabbitmq_names(kind: str) -> list[str]:
    listing = await asyncio.create_subprocess_exec(
        "rabbitmqctl",
        "-q",
        f"list_{kind}",
        "name",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await listing.communicate()
    return out.decode().split()


async def delete_broker_objects(amqp_url: str, namespace: str) -> None:
    """The services declare durable queues and exchanges; all carry the namespace prefix."""
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        for name in await rabbitmq_names("queues"):
            if name.startswith(namespace):
                await channel.queue_delete(name)
        for name in await rabbitmq_names("exchanges"):
            if name.startswith(namespace):
                await channel.exchange_delete(name)


def tail(log: Path, chars: int = 8000) -> str:
    return log.read_text(errors="replace")[-chars:]


async def run_command(args: Sequence[str], env: dict[str, str]) -> str:
    """Runs a command to its end; its stdout, or RuntimeError with its stderr."""
    child = await asyncio.create_subprocess_exec(
        *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited with {child.returncode}:\n{err.decode(errors='replace')}")
    return out.decode()


async def stop_service(name: str, service: subprocess.Popen[bytes], log: Path) -> None:
    if service.poll() is None:
        service.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(service.wait, 30)
        except subprocess.TimeoutExpired:
            service.kill()
            await asyncio.to_thread(service.wait)
    # A graceful stop exits 0; anything else is worth a look at the service's log.
    if service.returncode != 0:
        print(f"{name} exited with {service.returncode}:\n{tail(log)}", file=sys.stderr)


async def wait_serving(
    name: str, address: str, service: subprocess.Popen[bytes], log: Path, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    async with grpc.aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            if service.poll() is not None:
                raise RuntimeError(f"{name} exited with {service.returncode}:\n{tail(log)}")
            with contextlib.suppress(grpc.aio.AioRpcError):
                reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} did not report SERVING within {timeout}s")
            await asyncio.sleep(0.1)


async def start_service(
    stack: contextlib.AsyncExitStack, name: str, env: dict[str, str], logs: Path
) -> subprocess.Popen[bytes]:
    """`python -m <name>` as its own process, stopped on exit; returns once it is SERVING."""
    log = logs / f"{name}.log"
    log_file = stack.enter_context(open(log, "wb"))
    service = subprocess.Popen([sys.executable, "-m", name], env=env, stdout=log_file, stderr=log_file)
    stack.push_async_callback(stop_service, name, service, log)
    port = env[f"ATTUNE_{name.upper()}_GRPC_PORT"]
    await wait_serving(name, f"127.0.0.1:{port}", service, log)
    return service


# -- the recognition stack: ingest, trainer, deployer ------------------------------------------


@dataclass(frozen=True)
class Stack:
    logs: Path
    trainer_env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]]
    metadata: tuple[tuple[str, str], ...]
    base_model_id: str
    endpoint_id: str
    endpoints: deployer_pb2_grpc.EndpointServiceStub
    recognition: deployer_pb2_grpc.RecognitionServiceStub


def service_env(service: str, values: dict[str, str]) -> dict[str, str]:
    prefix = f"ATTUNE_{service.upper()}_"
    return {**os.environ, **{prefix + key: value for key, value in values.items()}}


async def start_stack(stack: contextlib.AsyncExitStack, scratch: Path, *, decoder_processes: int = 2) -> Stack:
    """Ingest, trainer and deployer on a fresh database, bucket and namespace, all removed on
    exit; a subscription key, a project and an endpoint on the bundled base model."""
    settings = IngestSettings(
        s3_bucket=f"attune-bench-{uuid.uuid4().hex[:12]}", amqp_namespace=f"attune-bench-{uuid.uuid4().hex[:10]}"
    )
    shared = {
        "DATABASE_URL": await create_database(stack),
        "AMQP_NAMESPACE": settings.amqp_namespace,
        "S3_BUCKET": settings.s3_bucket,
        "GRPC_HOST": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }
    client = s3_client(settings)
    stack.push_async_callback(remove_bucket, client, BlobStore(client, settings.s3_bucket))
    stack.push_async_callback(delete_broker_objects, settings.amqp_url.get_secret_value(), settings.amqp_namespace)

    ports = {name: free_port() for name in ("ingest", "trainer", "deployer")}
    address = {name: f"127.0.0.1:{port}" for name, port in ports.items()}
    for folder in ("spool", "trainer-work", "models", "logs"):
        (scratch / folder).mkdir()
    envs = {
        "ingest": service_env("ingest", {**shared, "GRPC_PORT": str(ports["ingest"]), "SPOOL_DIR": f"{scratch}/spool"}),
        "trainer": service_env(
            "trainer",
            {
                **shared,
                "GRPC_PORT": str(ports["trainer"]),
                "INGEST_ADDRESS": address["ingest"],
                "WORK_DIR": f"{scratch}/trainer-work",
            },
        ),
        "deployer": service_env(
            "deployer",
            {
                **shared,
                "GRPC_PORT": str(ports["deployer"]),
                "INGEST_ADDRESS": address["ingest"],
                "TRAINER_ADDRESS": address["trainer"],
                "MODEL_CACHE_DIR": f"{scratch}/models",
                "DECODER_PROCESSES": str(decoder_processes),
                # INFO: the deployer logs how long each model load took in each worker.
                "LOG_LEVEL": "INFO",
            },
        ),
    }
    for name, env in envs.items():
        await run_command([sys.executable, "-m", f"{name}.migrate"], env)
    created = await run_command([sys.executable, "-m", "ingest.admin", "create-subscription", "bench"], envs["ingest"])
    metadata = (("x-api-key", json.loads(created)["apiKey"]),)

    logs = scratch / "logs"
    processes = {name: await start_service(stack, name, env, logs) for name, env in envs.items()}

    channels = {name: await stack.enter_async_context(grpc.aio.insecure_channel(a)) for name, a in address.items()}
    project = await ingest_pb2_grpc.ProjectServiceStub(channels["ingest"]).CreateProject(
        ingest_pb2.CreateProjectRequest(display_name="bench", locale="en-US"), metadata=metadata
    )
    listed = await trainer_pb2_grpc.ModelServiceStub(channels["trainer"]).ListBaseModels(
        trainer_pb2.ListBaseModelsRequest(locale="en-US"), metadata=metadata
    )
    base_model_id = listed.models[0].id
    endpoints = deployer_pb2_grpc.EndpointServiceStub(channels["deployer"])
    endpoint = await endpoints.CreateEndpoint(
        deployer_pb2.CreateEndpointRequest(project_id=project.id, display_name="bench", model_id=base_model_id),
        metadata=metadata,
    )
    if endpoint.status != deployer_pb2.SUCCEEDED:
        raise RuntimeError(f"the endpoint is {deployer_pb2.Status.Name(endpoint.status)}: {endpoint}")
    return Stack(
        logs=logs,
        trainer_env=envs["trainer"],
        processes=processes,
        metadata=metadata,
        base_model_id=base_model_id,
        endpoint_id=endpoint.id,
        endpoints=endpoints,
        recognition=deployer_pb2_grpc.RecognitionServiceStub(channels["deployer"]),
    )


async def import_model(stack: Stack, folder: Path, name: str) -> str:
    """The bundled model under a new id, imported as an operator does; returns its id."""
    await asyncio.to_thread(bundled_base_package, folder, str(uuid.uuid4()), datetime.now(UTC))
    out = await run_command(
        [sys.executable, "-m", "trainer.admin", "import-base-model", str(folder), "--name", name], stack.trainer_env
    )
    return str(json.loads(out)["modelId"])


def keep_logs(source: Path, destination: Path | None) -> None:
    """Copies the services' logs out of the scratch directory before it is removed."""
    if destination is not None and source.is_dir():
        shutil.copytree(source, destination, dirs_exist_ok=True)


# -- librivox clips ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Clip:
    # `<recording id>@<start>s`, e.g. `0870@1.25s`.
    name: str
    pcm: bytes
    wav: bytes

    @property
    def seconds(self) -> float:
        return len(self.pcm) / BYTES_PER_SECOND


def wav_bytes(pcm: bytes) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm)
    return buffer.getvalue()


def load_recordings(folder: Path) -> dict[str, bytes]:
    """The set's WAV files as 16 kHz mono 16-bit PCM, by name."""
    recordings = {}
    for path in sorted(folder.glob("*.wav")):
        with wave.open(str(path)) as recording:
            shape = (recording.getnchannels(), recording.getsampwidth(), recording.getframerate())
            if shape != (1, 2, SAMPLE_RATE):
                raise ValueError(f"{path.name} is not 16 kHz mono 16-bit: {shape}")
            recordings[path.name] = recording.readframes(recording.getnframes())
    return recordings


def cut_clips(recordings: dict[str, bytes], count: int, shortest: float, longest: float, seed: int) -> list[Clip]:
    """`count` windows of `shortest`-`longest` seconds, at random places of recordings long enough."""
    rng = random.Random(seed)
    clips = []
    for _ in range(count):
        frames = int(rng.uniform(shortest, longest) * SAMPLE_RATE)
        long_enough = sorted(name for name, pcm in recordings.items() if len(pcm) // 2 >= frames)
        if not long_enough:
            raise ValueError(f"no recording is {frames / SAMPLE_RATE:.1f} s long")
        name = rng.choice(long_enough)
        start = rng.randrange(len(recordings[name]) // 2 - frames + 1)
        pcm = recordings[name][2 * start : 2 * (start + frames)]
        label = f"{Path(name).stem.rsplit('-', 1)[-1]}@{start / SAMPLE_RATE:.2f}s"
        clips.append(Clip(label, pcm, wav_bytes(pcm)))
    return clips


# -- figures -----------------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile with linear interpolation between order statistics (NaN when empty)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Summary:
    count: int
    mean: float
    p50: float
    p95: float
    p99: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        return cls(
            count=len(values),
            mean=statistics.fmean(values) if values else math.nan,
            p50=quantile(values, 0.50),
            p95=quantile(values, 0.95),
            p99=quantile(values, 0.99),
            max=max(values, default=math.nan),
        )


def ms(seconds: float) -> str:
    # round() to an int, so a few microseconds below zero read "0", not "-0".
    return "-" if math.isnan(seconds) else str(round(seconds * 1000))


def cpu_seconds(stat_path: str) -> float:
    """utime + stime of a /proc/.../stat file (a process, or one of its threads)."""
    text = Path(stat_path).read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children(pid: int) -> list[int]:
    """The direct child processes of `pid` (e.g. a deployer's decoder workers)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU of a process and its live children (what a service with worker processes uses)."""
    total = 0.0
    for member in [pid, *children(pid)]:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            total += cpu_seconds(f"/proc/{member}/stat")
    return total


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine, all cores, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def busy_percent(before: tuple[int, int], after: tuple[int, int]) -> float:
    return 100 * (after[0] - before[0]) / max(after[1] - before[1], 1)


def machine_info() -> dict[str, str]:
    meminfo = Path("/proc/meminfo").read_text().split("\n", 1)[0]
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.machine(),
    )
    return {
        "CPU": f"{os.cpu_count()} cores ({model})",
        "memory": f"{int(meminfo.split()[1]) * 1024 / 1024**3:.1f} GiB",
        "system": f"Linux {platform.release()}, Python {platform.python_version()}",
        "load average (1 min) at start": f"{os.getloadavg()[0]:.2f}",
    }


def report_head(title: str, script: str, info: dict[str, str]) -> list[str]:
    return [
        f"# {title}",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `bench/{script}`.",
        "",
        *(f"- {k}: {v}" for k, v in info.items()),
        "- the machine is shared: other test runs may have used CPU and the same servers meanwhile",
        "",
    ]


def write_report(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(f"\n{text}\nwritten to {path}")


def add_shared_arguments(parser: argparse.ArgumentParser, report: Path, *, logs: bool = True) -> None:
    """The options every benchmark has: its recordings, its report, and (for those that run
    services) where to keep the services' logs."""
    parser.add_argument("--librivox", type=Path, default=LIBRIVOX, help="folder of the source recordings")
    if logs:
        parser.add_argument("--logs", type=Path, help="copy the services' logs here before cleaning up")
    parser.add_argument("--report", type=Path, default=report, help="where the markdown report goes")
