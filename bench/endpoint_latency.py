"""Endpoint latency: Recognize through the running stack vs the bare engine on the same audio.

One run starts ingest, trainer and deployer as their own processes (see `harness.start_stack`),
with an endpoint on the bundled base model, cuts `--clips` windows of 3-5 s from the librivox
recordings, and after a warm-up (every clip once on each side) times `--rounds` passes over
the clips, one request at a time so the figures are latency, not throughput:

- service: a `Recognize` call over gRPC on loopback, WAV in, result out (the client's view:
  authentication, the endpoint's route, the decoder pool's queue and pipes, the decode);
- baseline: `LoadedModel.recognize` on the same PCM, in this process, with the same bundled
  model loaded by `speech.engines.load_model`.

Both sides take turns clip by clip (alternating which goes first), so they see the same
machine. The figures go to stdout and to `bench/results/endpoint_latency.md`; everything
created is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import harness
from harness import Clip, Stack, Summary, ms

from attune.deployer.v1 import deployer_pb2 as pb
from speech.engine import LoadedModel
from speech.engines import load_model
from speech.packages import bundled_base_package

REPORT = Path(__file__).resolve().parent / "results" / "endpoint_latency.md"
CLIP_SECONDS = (3.0, 5.0)


@dataclass(frozen=True)
class Timing:
    clip: Clip
    service_s: float
    engine_s: float
    engine_cpu_s: float
    same_text: bool


async def recognize(stack: Stack, clip: Clip) -> tuple[float, str]:
    request = pb.RecognizeRequest(endpoint_id=stack.endpoint_id, audio=clip.wav)
    started = time.perf_counter()
    reply = await stack.recognition.Recognize(request, metadata=stack.metadata, timeout=harness.CALL_TIMEOUT_S)
    return time.perf_counter() - started, reply.result.text


def decode(model: LoadedModel, clip: Clip) -> tuple[float, float, str]:
    cpu, started = time.process_time(), time.perf_counter()
    result = model.recognize(clip.pcm)
    return time.perf_counter() - started, time.process_time() - cpu, result.text


async def measure(stack: Stack, model: LoadedModel, clip: Clip, service_first: bool) -> Timing:
    if service_first:
        service_s, service_text = await recognize(stack, clip)
        engine_s, engine_cpu, engine_text = decode(model, clip)
    else:
        engine_s, engine_cpu, engine_text = decode(model, clip)
        service_s, service_text = await recognize(stack, clip)
    return Timing(clip, service_s, engine_s, engine_cpu, service_text == engine_text)


def report(
    timings: list[Timing], clips: list[Clip], recordings: int, args: argparse.Namespace, info: dict[str, str]
) -> str:
    service = Summary.of([t.service_s for t in timings])
    engine = Summary.of([t.engine_s for t in timings])
    overhead = Summary.of([t.service_s - t.engine_s for t in timings])
    audio = [c.seconds for c in clips]
    sources = len({c.name.split("@")[0] for c in clips})
    by_clip = {c.name: [t for t in timings if t.clip is c] for c in clips}
    lines = [
        *harness.report_head(
            "Endpoint latency: Recognize through the stack vs the bare engine", "endpoint_latency.py", info
        ),
        f"- input: {len(clips)} clips of {min(audio):.1f}-{max(audio):.1f} s (mean {statistics.fmean(audio):.1f} s) "
        f"cut from {sources} of the {recordings} librivox recordings of the pocketsphinx test data (the others are "
        f"shorter than the clip; seed {args.seed}); WAV 16 kHz mono 16-bit",
        f"- {args.rounds} timed rounds over every clip after one warm-up round: {len(timings)} requests per side, "
        "one at a time; both sides take turns clip by clip",
        "- service: ingest, trainer and deployer as separate processes (deployer with 2 decoder processes), "
        "gRPC on loopback, the bundled base model behind an endpoint",
        "- baseline: `speech.engines.load_model` on a `bundled_base_package`, `recognize` on the same PCM in the "
        "benchmark's own process",
        "",
        "| ms | service (Recognize over gRPC) | baseline (bare engine) | overhead (paired difference) |",
        "|---|---|---|---|",
        f"| p50 | {ms(service.p50)} | {ms(engine.p50)} | {ms(overhead.p50)} |",
        f"| p95 | {ms(service.p95)} | {ms(engine.p95)} | {ms(overhead.p95)} |",
        f"| mean | {ms(service.mean)} | {ms(engine.mean)} | {ms(overhead.mean)} |",
        f"| max | {ms(service.max)} | {ms(engine.max)} | {ms(overhead.max)} |",
        f"| ratio service / baseline | p50 {service.p50 / engine.p50:.2f}, p95 {service.p95 / engine.p95:.2f} | 1 | |",
        "",
        f"Overhead as p50(service) - p50(baseline): {ms(service.p50 - engine.p50)} ms; "
        f"p95(service) - p95(baseline): {ms(service.p95 - engine.p95)} ms. "
        f"The baseline's CPU per decode is {ms(statistics.fmean(t.engine_cpu_s for t in timings))} ms on average "
        f"(real-time factor {sum(t.engine_s for t in timings) / sum(t.clip.seconds for t in timings):.2f}).",
        f"Transcripts identical on both sides: {sum(t.same_text for t in timings)} of {len(timings)}.",
        "",
        "Per clip (median of the rounds):",
        "",
        "| clip | audio s | service ms | baseline ms | overhead ms |",
        "|---|---|---|---|---|",
        *(
            f"| {name} | {ts[0].clip.seconds:.2f} | {ms(statistics.median(t.service_s for t in ts))} "
            f"| {ms(statistics.median(t.engine_s for t in ts))} "
            f"| {ms(statistics.median(t.service_s - t.engine_s for t in ts))} |"
            for name, ts in by_clip.items()
        ),
        "",
    ]
    return "\n".join(lines)


async def benchmark(args: argparse.Namespace) -> str:
    info = harness.machine_info()
    recordings = harness.load_recordings(args.librivox)
    clips = harness.cut_clips(recordings, args.clips, *CLIP_SECONDS, args.seed)
    async with contextlib.AsyncExitStack() as stack:
        scratch = Path(tempfile.mkdtemp(prefix="attune-bench-"))
        stack.callback(shutil.rmtree, scratch, ignore_errors=True)
        # Runs after the services stopped, before the scratch directory goes.
        stack.callback(harness.keep_logs, scratch / "logs", args.logs)
        print("starting ingest, trainer and deployer ...", flush=True)
        started = time.monotonic()
        services = await harness.start_stack(stack, scratch)
        info["stack start-up (migrations, three services, endpoint)"] = f"{time.monotonic() - started:.1f} s"

        package = scratch / "baseline-package"
        bundled_base_package(package, str(uuid.uuid4()), datetime.now(UTC))
        model = load_model(package)

        print("warming up ...", flush=True)
        for n, clip in enumerate(clips):
            await measure(services, model, clip, service_first=n % 2 == 0)
        timings = []
        for round_ in range(args.rounds):
            for n, clip in enumerate(clips):
                timings.append(await measure(services, model, clip, service_first=(n + round_) % 2 == 0))
            done = timings[-len(clips) :]
            print(
                f"round {round_ + 1}: service p50 {ms(Summary.of([t.service_s for t in done]).p50)} ms, "
                f"baseline p50 {ms(Summary.of([t.engine_s for t in done]).p50)} ms",
                flush=True,
            )
        info["load average (1 min) at end"] = f"{os.getloadavg()[0]:.2f}"
        return report(timings, clips, len(recordings), args, info)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=20, help="clips of 3-5 s (default 20)")
    parser.add_argument("--rounds", type=int, default=3, help="timed passes over the clips (default 3)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the clip windows")
    harness.add_shared_arguments(parser, REPORT)
    args = parser.parse_args()
    harness.write_report(args.report, asyncio.run(benchmark(args)))


if __name__ == "__main__":
    main()
