"""Decode speed per core: the bare engine in one process vs the DecoderPool with 1 and 2 processes.

The librivox recordings of the pocketsphinx test data, `--passes` times over, are decoded
as whole utterances with the bundled base model, `--rounds` times in turn by:

- baseline: `speech.engines.load_model` and `recognize` in this process, one recording after
  the other: audio seconds per CPU second and per wall second;
- `DecoderPool(N)` for N = 1 and 2: every recording queued at once (the pool's FIFO feeds
  each worker the next one when it is free), after the model is loaded and warmed in every
  worker: audio seconds per wall second, divided by N for a figure per process (per core on
  a machine with N free cores), and per CPU second of the worker processes.

Medians of the rounds go to stdout and to `bench/results/decode_rtf.md`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import harness

from speech.decoding import DecoderPool
from speech.engine import LoadedModel
from speech.engines import load_model
from speech.packages import bundled_base_package


@dataclass(frozen=True)
class Measure:
    side: str
    processes: int
    audio_s: float
    wall_s: float
    cpu_s: float  # of the processes that decode
    parent_cpu_s: float  # of this process, when others decode (shipping audio, receiving results)
    busy_pct: float  # of the whole machine
    texts: tuple[str, ...]

    @property
    def per_wall(self) -> float:
        return self.audio_s / self.wall_s

    @property
    def per_cpu(self) -> float:
        return self.audio_s / self.cpu_s


def bare_engine(model: LoadedModel, work: Sequence[bytes]) -> Measure:
    busy = harness.machine_jiffies()
    cpu, started = time.process_time(), time.perf_counter()
    texts = tuple(model.recognize(pcm).text for pcm in work)
    wall, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    audio = sum(len(pcm) for pcm in work) / harness.BYTES_PER_SECOND
    busy_pct = harness.busy_percent(busy, harness.machine_jiffies())
    return Measure("bare engine", 1, audio, wall, cpu_s, 0.0, busy_pct, texts)


async def pool(processes: int, package: Path, work: Sequence[bytes]) -> Measure:
    async with DecoderPool(processes) as decoders:
        await decoders.load("bench", package)
        # Every worker decodes once before the clock starts (first-call costs are not decoding).
        await asyncio.gather(*(decoders.recognize("bench", work[0]) for _ in range(2 * processes)))
        pids = [w.pid for w in decoders.workers() if w.pid is not None]

        def workers_cpu() -> float:
            return sum(harness.cpu_seconds(f"/proc/{pid}/stat") for pid in pids)

        busy = harness.machine_jiffies()
        before, parent = workers_cpu(), time.process_time()
        started = time.perf_counter()
        results = await asyncio.gather(*(decoders.recognize("bench", pcm) for pcm in work))
        wall = time.perf_counter() - started
        cpu_s, parent_s = workers_cpu() - before, time.process_time() - parent
        busy_pct = harness.busy_percent(busy, harness.machine_jiffies())
    audio = sum(len(pcm) for pcm in work) / harness.BYTES_PER_SECOND
    texts = tuple(r.text for r in results)
    return Measure(f"DecoderPool N={processes}", processes, audio, wall, cpu_s, parent_s, busy_pct, texts)


def report(measures: list[Measure], files: int, args: argparse.Namespace, info: dict[str, str]) -> str:
    sides = list(dict.fromkeys(m.side for m in measures))
    by_side = {side: [m for m in measures if m.side == side] for side in sides}
    bare = statistics.median(m.per_wall for m in by_side["bare engine"])
    first = measures[0]
    same = all(m.texts == first.texts for m in measures)

    def median(side: str, value: str) -> float:
        return statistics.median(getattr(m, value) for m in by_side[side])

    lines = [
        *harness.report_head("Decode speed per core: bare engine vs DecoderPool", "decode_rtf.py", info),
        f"- input: the {files} librivox recordings of the pocketsphinx test data ({first.audio_s / args.passes:.1f} s "
        f"of 16 kHz speech), {args.passes} passes: {first.audio_s:.1f} s of audio per measurement, each recording "
        "decoded as one utterance with the bundled base model",
        f"- {args.rounds} rounds, each: bare engine, pool N=1, pool N=2; medians of the rounds",
        "- audio/wall per process = audio seconds per wall second divided by the processes that decode; "
        "audio/CPU = per CPU second of those processes; RTF = wall / audio per process",
        "",
        "| | processes | wall s | decoding CPU s | parent CPU s | audio s / CPU s | audio s / wall s "
        "| audio s / wall s per process | RTF per process | vs baseline per process | machine busy % |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *(
            f"| {side} | {by_side[side][0].processes} | {median(side, 'wall_s'):.1f} | {median(side, 'cpu_s'):.1f} "
            f"| {median(side, 'parent_cpu_s'):.2f} | {median(side, 'per_cpu'):.2f} | {median(side, 'per_wall'):.2f} "
            f"| {median(side, 'per_wall') / by_side[side][0].processes:.2f} "
            f"| {by_side[side][0].processes / median(side, 'per_wall'):.3f} "
            f"| {median(side, 'per_wall') / by_side[side][0].processes / bare:.2f} | {median(side, 'busy_pct'):.0f} |"
            for side in sides
        ),
        "",
        f"Transcripts identical in every measurement: {'yes' if same else 'NO'}.",
        "",
        "Every measurement:",
        "",
        "| round | side | wall s | decoding CPU s | audio s / wall s | audio s / CPU s | machine busy % |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {n // len(sides) + 1} | {m.side} | {m.wall_s:.2f} | {m.cpu_s:.2f} | {m.per_wall:.2f} "
            f"| {m.per_cpu:.2f} | {m.busy_pct:.0f} |"
            for n, m in enumerate(measures)
        ),
        "",
    ]
    return "\n".join(lines)


async def benchmark(args: argparse.Namespace) -> str:
    info = harness.machine_info()
    recordings = harness.load_recordings(args.librivox)
    work = [pcm for _ in range(args.passes) for pcm in recordings.values()]
    with tempfile.TemporaryDirectory(prefix="attune-bench-") as scratch:
        package = Path(scratch) / "package"
        bundled_base_package(package, str(uuid.uuid4()), datetime.now(UTC))
        model = load_model(package)
        model.recognize(work[0])
        measures = []
        for round_ in range(1, args.rounds + 1):
            for step in ("bare", 1, 2):
                m = bare_engine(model, work) if step == "bare" else await pool(int(step), package, work)
                measures.append(m)
                print(
                    f"round {round_}: {m.side}: {m.audio_s:.1f} s of audio in {m.wall_s:.2f} s wall, "
                    f"{m.cpu_s:.2f} s CPU ({m.per_wall / m.processes:.2f} audio s / wall s per process)",
                    flush=True,
                )
    info["load average (1 min) at end"] = f"{os.getloadavg()[0]:.2f}"
    return report(measures, len(recordings), args, info)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passes", type=int, default=3, help="passes over the recordings per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the three measurements (default 3)")
    harness.add_shared_arguments(parser, Path(__file__).resolve().parent / "results" / "decode_rtf.md", logs=False)
    args = parser.parse_args()
    harness.write_report(args.report, asyncio.run(benchmark(args)))


if __name__ == "__main__":
    main()
