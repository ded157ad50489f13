"""Upload throughput of ingest: a ~500 MB Acoustic zip through the service vs a plain S3 copy.

One run builds the zip once, starts the ingest service as its own process on a fresh
database, bucket and broker namespace, then alternates, `--repeat` times:

- ingest: stream the zip in 1 MiB messages to `UploadDataset`, then poll `GetDataset` until
  it is Succeeded. Timed from the first message; the phases come from what a client and an
  operator can see (the spool file growing, the call returning, status and progress).
  The service's RSS and CPU are sampled from /proc every 50 ms.
- baseline: `fput_object` of the same file into the same S3 server with the part size the
  service uses, in a child process so its peak RSS is its own.

The medians go to stdout and to `bench/results/upload_throughput.md`. Everything created is
removed at the end. MB means 10^6 bytes throughout.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import contextlib
import itertools
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import wave
import zipfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import grpc
import harness
from pydantic import SecretStr

from attune.ingest.v1 import ingest_pb2 as pb
from attune.ingest.v1 import ingest_pb2_grpc
from common.blobs import PART_SIZE, BlobStore
from common.migrations import apply_migrations
from ingest.keys import create_subscription
from ingest.settings import SCHEMA, IngestSettings
from speech.corpora import read_sphinx_transcription

REPORT = Path(__file__).resolve().parent / "results" / "upload_throughput.md"

MB = 1_000_000
CHUNK = 1024 * 1024
SAMPLE_RATE = 16000
SAMPLE_INTERVAL = 0.05
POLL_INTERVAL = 0.1
# Each recording is used in a few gain/noise variants, so no two utterances share bytes.
VARIANTS = 4
# An utterance grows past a target drawn from this range by whole recordings (3-7 s each),
# which keeps every file between 10 and 60 s.
TARGET_SECONDS = (10.0, 50.0)
GAP_SECONDS = (0.2, 0.8)


# -- the input: an Acoustic zip of librivox speech ----------------------------------------------


@dataclass(frozen=True)
class Recording:
    pcm: bytes
    transcript: str


@dataclass(frozen=True)
class Corpus:
    path: Path
    size_bytes: int
    files: int
    audio_seconds: float


def load_recordings(folder: Path) -> list[Recording]:
    """The set's recordings with their transcripts (from its sphinx-style `transcription`)."""
    recordings = []
    for name, text in sorted(read_sphinx_transcription(folder / "transcription").items()):
        with wave.open(str(folder / name)) as recording:
            shape = (recording.getnchannels(), recording.getsampwidth(), recording.getframerate())
            if shape != (1, 2, SAMPLE_RATE):
                raise ValueError(f"{name} is not 16 kHz mono 16-bit: {shape}")
            recordings.append(Recording(recording.readframes(recording.getnframes()), text))
    return recordings


def _samples(pcm: bytes) -> array.array[int]:
    samples = array.array("h", pcm)
    if sys.byteorder == "big":  # WAV samples are little-endian
        samples.byteswap()
    return samples


def _pcm(samples: array.array[int]) -> bytes:
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def varied(pcm: bytes, gain: float, noise: int, rng: random.Random) -> bytes:
    """The recording at another level with a little white noise, as a different microphone."""
    samples = _samples(pcm)
    out = array.array("h", (max(-32768, min(32767, round(s * gain) + rng.randint(-noise, noise))) for s in samples))
    return _pcm(out)


def room_tone(rng: random.Random, seconds: float = 1.0) -> bytes:
    return _pcm(array.array("h", (rng.randint(-24, 24) for _ in range(int(SAMPLE_RATE * seconds)))))


def pause(tone: bytes, rng: random.Random) -> bytes:
    """A stretch of room tone between two sentences, taken at a random point."""
    frames = int(SAMPLE_RATE * rng.uniform(*GAP_SECONDS))
    start = rng.randrange(len(tone) // 2 - frames)
    return tone[2 * start : 2 * (start + frames)]


def utterance(variants: Sequence[Recording], tone: bytes, rng: random.Random) -> tuple[bytes, str]:
    target = int(rng.uniform(*TARGET_SECONDS) * SAMPLE_RATE * 2)
    parts = [pause(tone, rng)]
    words = []
    size = len(parts[0])
    while size < target:
        recording = rng.choice(variants)
        parts += [recording.pcm, pause(tone, rng)]
        words.append(recording.transcript)
        size += len(recording.pcm) + len(parts[-1])
    return b"".join(parts), " ".join(words)


def build_corpus(directory: Path, size_bytes: int, librivox: Path, seed: int) -> Corpus:
    """An Acoustic zip of about `size_bytes`; WAV files one at a time, never the whole zip in memory.

    Stored, not deflated: PCM speech barely compresses, and audio zips are made that way.
    """
    rng = random.Random(seed)
    variants = [
        Recording(varied(r.pcm, rng.uniform(0.5, 1.3), rng.randint(8, 64), rng), r.transcript)
        for r in load_recordings(librivox)
        for _ in range(VARIANTS)
    ]
    tone = room_tone(rng)
    path = directory / "acoustic.zip"
    lines: list[str] = []
    written = 0
    seconds = 0.0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        while written < size_bytes:
            name = f"utterance-{len(lines):05d}.wav"
            pcm, transcript = utterance(variants, tone, rng)
            body = harness.wav_bytes(pcm)
            archive.writestr(name, body)
            written += len(body)
            seconds += len(pcm) / (2 * SAMPLE_RATE)
            lines.append(f"{name}\t{transcript}\n")
        archive.writestr("trans.txt", "".join(lines))
    return Corpus(path, path.stat().st_size, len(lines), seconds)


# -- /proc readings ---------------------------------------------------------------------------


def status_kb(pid: int, field: str) -> int:
    """A `kB` line of /proc/<pid>/status, e.g. VmRSS (now) or VmHWM (peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(field)


def reset_peak_rss(pid: int) -> bool:
    """Resets VmHWM to the current RSS (Linux >= 4.0), so each run's peak is its own."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def directory_bytes(directory: Path) -> int:
    total = 0
    for entry in os.scandir(directory):
        with contextlib.suppress(FileNotFoundError):
            total += entry.stat().st_size
    return total


@dataclass(frozen=True)
class Sample:
    at: float
    rss_kb: int
    cpu_s: float
    # The main thread runs the event loop; the others are gRPC's and asyncio.to_thread's.
    main_cpu_s: float
    machine_busy: int
    machine_total: int
    spool_bytes: int


class Sampler:
    """Samples a process from a thread every 50 ms, so the peak RSS and CPU per phase show."""

    def __init__(self, pid: int, spool: Path) -> None:
        self._pid = pid
        self._spool = spool
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)
        self.samples: list[Sample] = []

    def _sample(self) -> Sample:
        busy, total = harness.machine_jiffies()
        return Sample(
            at=time.monotonic(),
            rss_kb=status_kb(self._pid, "VmRSS"),
            cpu_s=harness.cpu_seconds(f"/proc/{self._pid}/stat"),
            main_cpu_s=harness.cpu_seconds(f"/proc/{self._pid}/task/{self._pid}/stat"),
            machine_busy=busy,
            machine_total=total,
            spool_bytes=directory_bytes(self._spool),
        )

    def _run(self) -> None:
        self.samples.append(self._sample())
        while not self._stop.wait(SAMPLE_INTERVAL):
            self.samples.append(self._sample())

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> list[Sample]:
        self._stop.set()
        self._thread.join()
        self.samples.append(self._sample())
        return self.samples


def sample_at(samples: Sequence[Sample], at: float) -> Sample:
    """The last sample taken at or before `at` (the first one if none was)."""
    before = [s for s in samples if s.at <= at]
    return before[-1] if before else samples[0]


# -- the ingest side ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    name: str
    seconds: float
    cpu_s: float
    main_cpu_s: float
    machine_busy_pct: float
    peak_rss_kb: int


@dataclass(frozen=True)
class IngestRun:
    seconds: float
    accepted_s: float
    validation_s: float
    peak_rss_kb: int
    idle_rss_kb: int
    cpu_s: float
    client_cpu_s: float
    phases: list[Phase]


# What happens between two marks, named by the mark that ends it.
PHASE_NAMES = {
    "spooled": "stream in (gRPC -> spool file)",
    "accepted": "stage (zip check, copy to S3, row + outbox)",
    "running": "queue (relay -> broker -> consumer)",
    "storing": "check headers, first file stored",
    "stored": "store audio (per-file PUTs)",
    "succeeded": "finish (report, rows, commit)",
}


def phases(marks: dict[str, float], samples: Sequence[Sample]) -> list[Phase]:
    ordered = sorted(marks.items(), key=lambda item: item[1])
    result = []
    for (_, start), (name, end) in itertools.pairwise(ordered):
        a, b = sample_at(samples, start), sample_at(samples, end)
        total = b.machine_total - a.machine_total
        result.append(
            Phase(
                name=PHASE_NAMES.get(name, name),
                seconds=end - start,
                cpu_s=b.cpu_s - a.cpu_s,
                main_cpu_s=b.main_cpu_s - a.main_cpu_s,
                machine_busy_pct=100 * (b.machine_busy - a.machine_busy) / total if total else 0.0,
                peak_rss_kb=max(s.rss_kb for s in samples if a.at <= s.at <= end),
            )
        )
    return result


@dataclass(frozen=True)
class IngestClient:
    datasets: ingest_pb2_grpc.DatasetServiceStub
    metadata: tuple[tuple[str, str], ...]
    project_id: str


async def upload_requests(
    path: Path, metadata: pb.DatasetMetadata, marks: dict[str, float]
) -> AsyncIterator[pb.UploadDatasetRequest]:
    marks["start"] = time.monotonic()
    yield pb.UploadDatasetRequest(metadata=metadata)
    with open(path, "rb") as source:
        while chunk := await asyncio.to_thread(source.read, CHUNK):
            yield pb.UploadDatasetRequest(chunk=chunk)


async def wait_finished(client: IngestClient, dataset_id: str, marks: dict[str, float], timeout: float) -> pb.Dataset:
    """Polls until Succeeded or Failed, noting when status and progress first change."""
    deadline = time.monotonic() + timeout
    request = pb.GetDatasetRequest(dataset_id=dataset_id)
    while True:
        dataset = await client.datasets.GetDataset(request, metadata=client.metadata)
        now = time.monotonic()
        if dataset.status == pb.RUNNING:
            marks.setdefault("running", now)
        if dataset.progress_percent >= 5:  # the first file is stored
            marks.setdefault("storing", now)
        if dataset.progress_percent >= 95:  # the last file is stored
            marks.setdefault("stored", now)
        if dataset.status in (pb.SUCCEEDED, pb.FAILED):
            marks["succeeded"] = now
            return dataset
        if now > deadline:
            raise TimeoutError(f"dataset {dataset_id} still {pb.Status.Name(dataset.status)} after {timeout}s")
        await asyncio.sleep(POLL_INTERVAL)


async def run_ingest(client: IngestClient, corpus: Corpus, pid: int, spool: Path, timeout: float) -> IngestRun:
    reset = reset_peak_rss(pid)
    idle_rss = status_kb(pid, "VmRSS")
    marks: dict[str, float] = {}
    sampler = Sampler(pid, spool)
    own_before = resource.getrusage(resource.RUSAGE_SELF)
    sampler.start()
    try:
        meta = pb.DatasetMetadata(project_id=client.project_id, display_name="bench upload", kind=pb.ACOUSTIC)
        dataset = await client.datasets.UploadDataset(
            upload_requests(corpus.path, meta, marks), metadata=client.metadata
        )
        marks["accepted"] = time.monotonic()
        final = await wait_finished(client, dataset.id, marks, timeout)
    finally:
        samples = sampler.stop()
    own_after = resource.getrusage(resource.RUSAGE_SELF)
    peak = max(s.rss_kb for s in samples)
    if reset:
        peak = max(peak, status_kb(pid, "VmHWM"))
    if final.status != pb.SUCCEEDED or final.accepted_count != corpus.files or final.rejected_count:
        raise RuntimeError(
            f"dataset ended {pb.Status.Name(final.status)} with {final.accepted_count} accepted, "
            f"{final.rejected_count} rejected of {corpus.files}: {final.error.message}"
        )
    # Frees the stored audio so repeats do not pile up in the S3 server.
    await client.datasets.DeleteDataset(pb.DeleteDatasetRequest(dataset_id=dataset.id), metadata=client.metadata)

    spooled = next((s.at for s in samples if s.spool_bytes >= corpus.size_bytes), None)
    if spooled is not None:
        marks["spooled"] = min(spooled, marks["accepted"])
    return IngestRun(
        seconds=marks["succeeded"] - marks["start"],
        accepted_s=marks["accepted"] - marks["start"],
        validation_s=marks["succeeded"] - marks["accepted"],
        peak_rss_kb=peak,
        idle_rss_kb=idle_rss,
        cpu_s=samples[-1].cpu_s - samples[0].cpu_s,
        client_cpu_s=(own_after.ru_utime + own_after.ru_stime) - (own_before.ru_utime + own_before.ru_stime),
        phases=phases(marks, samples),
    )


# -- the baseline: a plain copy into the same S3 server ---------------------------------------


@dataclass(frozen=True)
class CopyRun:
    seconds: float
    cpu_s: float
    machine_busy_pct: float
    idle_rss_kb: int
    peak_rss_kb: int


def copy_main(path: str, bucket: str, key: str) -> None:
    """The child process of the baseline: one `fput_object`, figures as JSON on stdout."""
    client = harness.s3_client(IngestSettings(s3_bucket=bucket))
    idle_rss = status_kb(os.getpid(), "VmRSS")
    cpu_before = time.process_time()
    busy_before, total_before = harness.machine_jiffies()
    start = time.monotonic()
    client.fput_object(bucket_name=bucket, object_name=key, file_path=path, part_size=PART_SIZE)
    seconds = time.monotonic() - start
    busy_after, total_after = harness.machine_jiffies()
    figures = CopyRun(
        seconds=seconds,
        cpu_s=time.process_time() - cpu_before,
        machine_busy_pct=100 * (busy_after - busy_before) / max(total_after - total_before, 1),
        idle_rss_kb=idle_rss,
        peak_rss_kb=status_kb(os.getpid(), "VmHWM"),
    )
    print(json.dumps(figures.__dict__))


async def run_copy(corpus: Corpus, blobs: BlobStore) -> CopyRun:
    key = f"baseline/{uuid.uuid4()}"
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--copy",
        str(corpus.path),
        blobs.bucket,
        key,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"the baseline copy exited with {child.returncode}")
    await blobs.delete(key)
    return CopyRun(**json.loads(out))


# -- the environment: database, bucket, broker namespace, the service process -----------------


async def create_database(stack: contextlib.AsyncExitStack) -> tuple[str, str]:
    """A migrated database of its own, dropped on exit; returns its DSN and an API key."""
    dsn = await harness.create_database(stack)
    conn = await asyncpg.connect(dsn, server_settings={"search_path": SCHEMA})
    try:
        await apply_migrations(conn, SCHEMA, "ingest")
        _, key = await create_subscription(conn, "bench")
    finally:
        await conn.close()
    return dsn, key


def service_env(settings: IngestSettings) -> dict[str, str]:
    return {
        **os.environ,
        "ATTUNE_INGEST_DATABASE_URL": settings.database_url.get_secret_value(),
        "ATTUNE_INGEST_AMQP_NAMESPACE": settings.amqp_namespace,
        "ATTUNE_INGEST_S3_BUCKET": settings.s3_bucket,
        "ATTUNE_INGEST_GRPC_HOST": settings.grpc_host,
        "ATTUNE_INGEST_GRPC_PORT": str(settings.grpc_port),
        "ATTUNE_INGEST_SPOOL_DIR": settings.spool_dir,
        "ATTUNE_INGEST_LOG_LEVEL": "WARNING",
    }


# -- the report --------------------------------------------------------------------------------


def mb(value: float) -> str:
    return f"{value / MB:.1f}"


def rss_mb(kb: float) -> str:
    return mb(kb * 1024)


def run_row(n: int, run: IngestRun, copy: CopyRun, size: int) -> str:
    cells = [
        str(n),
        f"{run.seconds:.1f}",
        f"{run.accepted_s:.1f}",
        f"{run.validation_s:.1f}",
        f"{size / MB / run.seconds:.1f}",
        rss_mb(run.idle_rss_kb),
        rss_mb(run.peak_rss_kb),
        f"{copy.seconds:.1f}",
        f"{size / MB / copy.seconds:.1f}",
        rss_mb(copy.peak_rss_kb),
        f"{copy.machine_busy_pct:.0f}",
    ]
    return f"| {' | '.join(cells)} |"


def report(corpus: Corpus, ingest: list[IngestRun], copies: list[CopyRun], info: dict[str, str]) -> str:
    size = corpus.size_bytes
    ingest_mbs = statistics.median(size / MB / r.seconds for r in ingest)
    copy_mbs = statistics.median(size / MB / c.seconds for c in copies)
    # With an even count the faster of the two middle runs stands for the median.
    median_run = sorted(ingest, key=lambda r: r.seconds)[(len(ingest) - 1) // 2]
    lines = [
        "# Upload throughput: ingest vs a plain S3 copy",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `bench/upload_throughput.py`; "
        f"medians of {len(ingest)} runs each, MB = 10^6 bytes.",
        "",
        *(f"- {k}: {v}" for k, v in info.items()),
        f"- input: Acoustic zip (stored), {mb(size)} MB, {corpus.files} WAV files of 16 kHz mono "
        f"16-bit speech ({corpus.audio_seconds / 3600:.1f} h) and a trans.txt",
        f"- S3 part size {PART_SIZE // 1024**2} MiB; upload messages of {CHUNK // 1024} KiB",
        "- the machine is shared: other test runs may have used CPU, disk and the same servers meanwhile",
        "",
        "| | ingest (upload -> Succeeded) | baseline (fput_object) |",
        "|---|---|---|",
        f"| time, s | {statistics.median(r.seconds for r in ingest):.1f} "
        f"| {statistics.median(c.seconds for c in copies):.1f} |",
        f"| throughput, MB/s | {ingest_mbs:.1f} | {copy_mbs:.1f} |",
        f"| ratio ingest / baseline | {ingest_mbs / copy_mbs:.2f} | 1 |",
        f"| peak RSS, MB | {rss_mb(statistics.median(r.peak_rss_kb for r in ingest))} "
        f"(idle {rss_mb(statistics.median(r.idle_rss_kb for r in ingest))}) "
        f"| {rss_mb(statistics.median(c.peak_rss_kb for c in copies))} "
        f"(idle {rss_mb(statistics.median(c.idle_rss_kb for c in copies))}) |",
        f"| CPU of the process, s | {statistics.median(r.cpu_s for r in ingest):.1f} "
        f"(the benchmark client {statistics.median(r.client_cpu_s for r in ingest):.1f}) "
        f"| {statistics.median(c.cpu_s for c in copies):.1f} |",
        "",
        f"Ingest time split (median): upload accepted after "
        f"{statistics.median(r.accepted_s for r in ingest):.1f} s, validation and storage "
        f"{statistics.median(r.validation_s for r in ingest):.1f} s more.",
        "",
        f"Phases of the median ingest run ({median_run.seconds:.1f} s), as seen from outside the "
        "service; CPU is the ingest process's, main = the event loop thread; machine = all cores:",
        "",
        "| phase | s | ingest CPU s | of which main thread | machine busy % | ingest peak RSS MB |",
        "|---|---|---|---|---|---|",
        *(
            f"| {p.name} | {p.seconds:.1f} | {p.cpu_s:.1f} | {p.main_cpu_s:.1f} | {p.machine_busy_pct:.0f} "
            f"| {rss_mb(p.peak_rss_kb)} |"
            for p in median_run.phases
        ),
        "",
        "Every run:",
        "",
        "| run | ingest s | accepted s | validation s | ingest MB/s | RSS before MB | peak RSS MB | copy s | copy MB/s "
        "| copy peak RSS MB | copy machine busy % |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *(run_row(n, r, c, size) for n, (r, c) in enumerate(zip(ingest, copies, strict=True), start=1)),
        "",
    ]
    return "\n".join(lines)


# -- main --------------------------------------------------------------------------------------


async def benchmark(args: argparse.Namespace) -> str:
    info = harness.machine_info()
    async with contextlib.AsyncExitStack() as stack:
        scratch = Path(tempfile.mkdtemp(prefix="attune-bench-"))
        stack.callback(shutil.rmtree, scratch, ignore_errors=True)
        spool = scratch / "spool"
        spool.mkdir()

        print(f"building a {args.size_mb} MB Acoustic zip ...", flush=True)
        corpus = await asyncio.to_thread(build_corpus, scratch, args.size_mb * MB, args.librivox, args.seed)
        print(f"  {mb(corpus.size_bytes)} MB, {corpus.files} files, {corpus.audio_seconds / 3600:.1f} h", flush=True)

        database_url, key = await create_database(stack)
        settings = IngestSettings(
            database_url=SecretStr(database_url),
            amqp_namespace=f"attune-bench-{uuid.uuid4().hex[:10]}",
            s3_bucket=f"attune-bench-{uuid.uuid4().hex[:12]}",
            grpc_host="127.0.0.1",
            grpc_port=harness.free_port(),
            spool_dir=str(spool),
        )
        client = harness.s3_client(settings)
        blobs = BlobStore(client, settings.s3_bucket)
        stack.push_async_callback(harness.remove_bucket, client, blobs)
        stack.push_async_callback(
            harness.delete_broker_objects, settings.amqp_url.get_secret_value(), settings.amqp_namespace
        )

        log = scratch / "ingest.log"
        log_file = stack.enter_context(open(log, "wb"))
        service = subprocess.Popen(
            [sys.executable, "-m", "ingest"], env=service_env(settings), stdout=log_file, stderr=log_file
        )
        stack.push_async_callback(harness.stop_service, "ingest", service, log)
        address = f"{settings.grpc_host}:{settings.grpc_port}"
        await harness.wait_serving("ingest", address, service, log)

        channel = await stack.enter_async_context(grpc.aio.insecure_channel(address))
        metadata = (("x-api-key", key),)
        project = await ingest_pb2_grpc.ProjectServiceStub(channel).CreateProject(
            pb.CreateProjectRequest(display_name="bench", locale="en-US"), metadata=metadata
        )
        ingest_client = IngestClient(ingest_pb2_grpc.DatasetServiceStub(channel), metadata, project.id)

        ingest_runs: list[IngestRun] = []
        copy_runs: list[CopyRun] = []
        for n in range(1, args.repeat + 1):
            try:
                run = await run_ingest(ingest_client, corpus, service.pid, spool, args.timeout)
            except Exception:
                print(f"ingest log:\n{harness.tail(log)}", file=sys.stderr)
                raise
            ingest_runs.append(run)
            print(
                f"run {n}: ingest {run.seconds:.1f} s ({corpus.size_bytes / MB / run.seconds:.1f} MB/s; "
                f"accepted {run.accepted_s:.1f} s, validation {run.validation_s:.1f} s), "
                f"peak RSS {rss_mb(run.peak_rss_kb)} MB",
                flush=True,
            )
            copy = await run_copy(corpus, blobs)
            copy_runs.append(copy)
            print(f"run {n}: copy {copy.seconds:.1f} s ({corpus.size_bytes / MB / copy.seconds:.1f} MB/s)", flush=True)

        info["load average (1 min) at end"] = f"{os.getloadavg()[0]:.2f}"
        return report(corpus, ingest_runs, copy_runs, info)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=500, help="size of the zip in MB (default 500)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each side; medians are reported")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated audio")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds one ingest run may take")
    harness.add_shared_arguments(parser, REPORT, logs=False)
    # The baseline's child process: copy FILE to BUCKET/KEY and print its figures.
    parser.add_argument("--copy", nargs=3, metavar=("FILE", "BUCKET", "KEY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.copy:
        copy_main(*args.copy)
        return
    text = asyncio.run(benchmark(args))
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(text)
    print(f"\n{text}\nwritten to {args.report}")


if __name__ == "__main__":
    main()
