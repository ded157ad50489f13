"""Swap under load: UpdateEndpoint model changes while a fixed-rate Recognize load runs.

One run starts ingest, trainer and deployer as their own processes (see `harness.start_stack`),
registers a second working model (the bundled package under a new id, imported with
`python -m trainer.admin import-base-model`), and uses short clips (1-2 s) cut from the
librivox recordings. Then, one after the other:

1. capacity: `--concurrency` clients call Recognize back to back for `--capacity-seconds`;
   the completed requests per second are what the stack can do on this machine.
2. the offered rate: `--rate`, or `--utilisation` (default 0.75) of that capacity.
3. baseline before: an open-loop load at that rate for `--duration` seconds with at most
   `--concurrency` requests in flight (an arrival that finds them all busy waits for a free
   one; such late arrivals are counted), and no model change.
4. swap: the same load, with UpdateEndpoint changing the endpoint's model at `--changes`
   seconds (second model, base model, second model, ...).
5. baseline after: the load of step 3 again, so the two bracket what the machine did meanwhile.

For each change: how long the call took to return, and how long until the first response
served by the new model (`served_by.model_id`). Latency is from sending a request to its
response. Every failed request is listed with its status and details. The figures go to
stdout and to `bench/results/swap_under_load.md`; everything created is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import resource
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import grpc
import harness
from harness import Clip, Stack, Summary, ms

from attune.deployer.v1 import deployer_pb2 as pb

REPORT = Path(__file__).resolve().parent / "results" / "swap_under_load.md"
CLIP_SECONDS = (1.0, 2.0)
# An arrival sent this much after its scheduled time was held back by the in-flight limit.
LATE_S = 0.05


@dataclass(frozen=True)
class Request:
    scheduled: float  # seconds from the start of the run
    sent: float
    done: float
    model_id: str  # served_by.model_id; empty when the call failed
    error: str | None  # "CODE: details" of a failed call
    fell_back: bool = False

    @property
    def latency(self) -> float:
        return self.done - self.sent


@dataclass(frozen=True)
class Change:
    target: str
    called: float  # seconds from the start of the run
    returned: float
    outcome: str  # the endpoint's last model change as the call returned it, or the call's error


@dataclass
class Run:
    name: str
    requests: list[Request] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    started_at: float = 0.0  # wall clock (time.time) of the run's start, to place log lines
    busy_pct: float = 0.0
    cpu_s: dict[str, float] = field(default_factory=dict)
    load_average: float = 0.0


class Call:
    """One Recognize call and what it returned, timed from the run's start."""

    def __init__(self, stack: Stack) -> None:
        self._stack = stack

    async def __call__(self, clip: Clip, start: float, scheduled: float) -> Request:
        loop = asyncio.get_running_loop()
        sent = loop.time() - start
        request = pb.RecognizeRequest(endpoint_id=self._stack.endpoint_id, audio=clip.wav)
        try:
            reply = await self._stack.recognition.Recognize(
                request, metadata=self._stack.metadata, timeout=harness.CALL_TIMEOUT_S
            )
        except grpc.aio.AioRpcError as exc:
            return Request(scheduled, sent, loop.time() - start, "", f"{exc.code().name}: {exc.details()}")
        return Request(scheduled, sent, loop.time() - start, reply.served_by.model_id, None, reply.served_by.fell_back)


async def capacity(call: Call, clips: Sequence[Clip], concurrency: int, seconds: float) -> tuple[float, list[Request]]:
    """Completed requests per second with `concurrency` clients calling back to back."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    done: list[Request] = []

    async def client(offset: int) -> None:
        n = offset
        while loop.time() - start < seconds:
            done.append(await call(clips[n % len(clips)], start, loop.time() - start))
            n += concurrency

    await asyncio.gather(*(client(i) for i in range(concurrency)))
    return len(done) / max(r.done for r in done), done


def process_cpu(stack: Stack) -> dict[str, float]:
    """CPU seconds so far of each service (the deployer with its decoder processes) and this client."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {
        **{name: harness.tree_cpu_seconds(p.pid) for name, p in stack.processes.items()},
        "benchmark client": own.ru_utime + own.ru_stime,
    }


async def open_loop(
    stack: Stack,
    name: str,
    clips: Sequence[Clip],
    rate: float,
    duration: float,
    max_in_flight: int,
    plan: Sequence[tuple[float, str]],
) -> Run:
    """Arrivals every 1/rate s for `duration` s, at most `max_in_flight` at once; `plan` is
    (seconds from the start, model id) of each UpdateEndpoint model change."""
    loop = asyncio.get_running_loop()
    call = Call(stack)
    run = Run(name, started_at=time.time())
    slots = asyncio.Semaphore(max_in_flight)
    cpu_before, busy_before = process_cpu(stack), harness.machine_jiffies()
    start = loop.time()

    async def request(clip: Clip, scheduled: float) -> None:
        try:
            run.requests.append(await call(clip, start, scheduled))
        finally:
            slots.release()

    async def change(at: float, target: str) -> None:
        await asyncio.sleep(start + at - loop.time())
        called = loop.time() - start
        try:
            endpoint = await stack.endpoints.UpdateEndpoint(
                pb.UpdateEndpointRequest(endpoint_id=stack.endpoint_id, model_id=target),
                metadata=stack.metadata,
                timeout=120,
            )
            last = endpoint.last_model_change
            outcome = f"{pb.Status.Name(last.status)}{f' ({last.error})' if last.error else ''}"
            if endpoint.model_id != target:
                outcome += f"; the endpoint still names {endpoint.model_id}"
        except grpc.aio.AioRpcError as exc:
            outcome = f"call failed: {exc.code().name}: {exc.details()}"
        run.changes.append(Change(target, called, loop.time() - start, outcome))

    changes = [asyncio.create_task(change(at, target)) for at, target in plan]
    requests = []
    for n in range(round(duration * rate)):
        scheduled = n / rate
        await asyncio.sleep(max(0.0, start + scheduled - loop.time()))
        await slots.acquire()
        requests.append(asyncio.create_task(request(clips[n % len(clips)], scheduled)))
    await asyncio.gather(*requests, *changes)

    cpu_after, busy_after = process_cpu(stack), harness.machine_jiffies()
    run.busy_pct = harness.busy_percent(busy_before, busy_after)
    run.cpu_s = {k: cpu_after[k] - cpu_before[k] for k in cpu_after}
    run.load_average = os.getloadavg()[0]
    run.requests.sort(key=lambda r: r.sent)
    return run


# -- analysis ----------------------------------------------------------------------------------


def change_times(run: Run, plan: Sequence[tuple[float, str]]) -> list[float]:
    """When each change was called; for the run without changes, when it would have been."""
    return [c.called for c in run.changes] if run.changes else [at for at, _ in plan]


def windows(run: Run, plan: Sequence[tuple[float, str]], window: float) -> dict[str, list[float]]:
    """Latencies of requests sent before the first change, in the `window` s after each, and after."""
    starts = change_times(run, plan)
    split: dict[str, list[float]] = {"before": [], "during": [], "after": []}
    for r in run.requests:
        if r.error:
            continue
        if r.sent < starts[0]:
            split["before"].append(r.latency)
        elif any(at <= r.sent < at + window for at in starts):
            split["during"].append(r.latency)
        else:
            split["after"].append(r.latency)
    return split


@dataclass(frozen=True)
class ChangeFigures:
    change: Change
    first_new_s: float  # from the call to the first response served by the new model
    old_after_return: int  # requests sent after the call returned that the old model served


def change_figures(run: Run) -> list[ChangeFigures]:
    figures = []
    for n, change in enumerate(run.changes):
        until = run.changes[n + 1].called if n + 1 < len(run.changes) else math.inf
        served_new = [r.done for r in run.requests if r.model_id == change.target and r.done > change.called]
        figures.append(
            ChangeFigures(
                change,
                min(served_new, default=math.nan) - change.called,
                sum(
                    1
                    for r in run.requests
                    if change.returned < r.sent < until and r.model_id and r.model_id != change.target
                ),
            )
        )
    return figures


def late(run: Run) -> list[float]:
    return [r.sent - r.scheduled for r in run.requests if r.sent - r.scheduled > LATE_S]


def deployer_log(log: Path, run: Run, names: dict[str, str]) -> list[str]:
    """The deployer's lines about models (loads, swaps) and any warning, during `run`."""
    lines = []
    for line in log.read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError, KeyError):
            entry = json.loads(line)
            at = datetime.fromisoformat(entry["ts"]).timestamp() - run.started_at
            message = entry["message"]
            if at >= 0 and ("model" in message or entry["level"] in ("WARNING", "ERROR")):
                if "model_id" in entry:
                    message += f" ({entry['model_id']})"
                for model_id, name in names.items():
                    message = message.replace(model_id, name)
                lines.append(f"| {at:.2f} | {entry['level']} | {message} |")
    return lines


# -- the report --------------------------------------------------------------------------------


def p50_p99(values: Sequence[float]) -> str:
    s = Summary.of(values)
    return f"{ms(s.p50)} / {ms(s.p99)} (n={s.count})"


def timeline(run: Run, names: dict[str, str]) -> list[str]:
    """Requests by the second they were sent, from 2 s before to 6 s after each change."""
    seconds = sorted({s for c in run.changes for s in range(math.floor(c.called) - 2, math.floor(c.called) + 6)})
    rows = []
    for second in seconds:
        batch = [r for r in run.requests if second <= r.sent < second + 1]
        ok = [r.latency for r in batch if not r.error]
        served = Counter(names.get(r.model_id, r.model_id or "failed") for r in batch)
        rows.append(
            f"| {second}-{second + 1} | {len(batch)} | {ms(Summary.of(ok).p50)} | {ms(max(ok, default=math.nan))} "
            f"| {', '.join(f'{k} {v}' for k, v in sorted(served.items()))} |"
        )
    return rows


def failures(run: Run) -> list[str]:
    failed = [r for r in run.requests if r.error or r.fell_back]
    if not failed:
        return [f"No failed request in the {run.name} run."]
    grouped = Counter(r.error or "served by a fallback model" for r in failed)
    return [
        f"**{len(failed)} failed requests in the {run.name} run:**",
        "",
        *(f"- {count} x {error}" for error, count in grouped.most_common()),
        f"- sent at (s from the start): {', '.join(f'{r.sent:.2f}' for r in failed[:40])}",
    ]


def report(
    runs: list[Run],
    plan: Sequence[tuple[float, str]],
    names: dict[str, str],
    choice: dict[str, str],
    args: argparse.Namespace,
    info: dict[str, str],
    log: Path,
) -> str:
    before, swap, after = runs
    split = {run.name: windows(run, plan, args.window) for run in runs}
    all_ok = {run.name: [r.latency for r in run.requests if not r.error] for run in runs}

    def row(label: str, cell: Callable[[Run], object]) -> str:
        return f"| {label} | {cell(swap)} | {cell(before)} | {cell(after)} |"

    def cpu_cell(name: str) -> Callable[[Run], str]:
        return lambda r: f"{r.cpu_s[name]:.1f}"

    lines = [
        *harness.report_head(
            "Swap under load: model changes during a fixed-rate Recognize load", "swap_under_load.py", info
        ),
        *(f"- {k}: {v}" for k, v in choice.items()),
        f"- changes: UpdateEndpoint at {', '.join(f'{at:g}' for at, _ in plan)} s to "
        f"{', '.join(names[m] for _, m in plan)} (A = the bundled base model, B = the same package imported under "
        "another id); a change window is the "
        f"{args.window:g} s after a call; the runs without changes (right before and after the swap run) use the "
        "same windows",
        "",
        "| | swap run | baseline run before (no change) | baseline run after (no change) |",
        "|---|---|---|---|",
        row("requests", lambda r: len(r.requests)),
        row("failed", lambda r: sum(1 for q in r.requests if q.error)),
        row("served by a fallback model", lambda r: sum(1 for q in r.requests if q.fell_back)),
        row(
            f"late arrivals (> {LATE_S * 1000:.0f} ms behind schedule; max s)",
            lambda r: f"{len(late(r))} ({max(late(r), default=0):.2f})",
        ),
        row("p50 / p99 ms before the first change", lambda r: p50_p99(split[r.name]["before"])),
        row("p50 / p99 ms in the change windows", lambda r: p50_p99(split[r.name]["during"])),
        row("p50 / p99 ms after the first change, outside the windows", lambda r: p50_p99(split[r.name]["after"])),
        row("p50 / p99 / max ms, whole run", lambda r: f"{p50_p99(all_ok[r.name])}, max {ms(max(all_ok[r.name]))}"),
        row("machine CPU busy %", lambda r: f"{r.busy_pct:.0f}"),
        *(row(f"CPU s: {name}", cpu_cell(name)) for name in swap.cpu_s),
        row("load average (1 min) at the end", lambda r: f"{r.load_average:.2f}"),
        "",
        f"p99 over the whole run: {ms(Summary.of(all_ok[swap.name]).p99)} ms with the changes, "
        f"{ms(Summary.of(all_ok[before.name]).p99)} and {ms(Summary.of(all_ok[after.name]).p99)} ms without (before, "
        f"after); in the change windows {ms(Summary.of(split[swap.name]['during']).p99)} ms, in the same windows "
        f"without changes {ms(Summary.of(split[before.name]['during']).p99)} and "
        f"{ms(Summary.of(split[after.name]['during']).p99)} ms.",
        "",
        "Each change (seconds from the UpdateEndpoint call):",
        "",
        "| # | called at s | to | call returned after s | first response by the new model after s "
        "| requests sent after the return served by the old model | outcome |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {n} | {f.change.called:.2f} | {names[f.change.target]} | {f.change.returned - f.change.called:.2f} "
            f"| {f.first_new_s:.2f} | {f.old_after_return} | {f.change.outcome} |"
            for n, f in enumerate(change_figures(swap), start=1)
        ),
        "",
        *(line for run in runs for line in (*failures(run), "")),
        "Swap run around each change, by the second requests were sent (latency ms; served by):",
        "",
        "| s | requests | p50 | max | served by |",
        "|---|---|---|---|---|",
        *timeline(swap, names),
        "",
        "The deployer's log about models during the swap run (s from its start):",
        "",
        "| s | level | message |",
        "|---|---|---|",
        *deployer_log(log, swap, names),
        "",
    ]
    return "\n".join(lines)


# -- main --------------------------------------------------------------------------------------


async def benchmark(args: argparse.Namespace) -> str:
    info = harness.machine_info()
    clips = harness.cut_clips(harness.load_recordings(args.librivox), args.clips, *CLIP_SECONDS, args.seed)
    async with contextlib.AsyncExitStack() as stack:
        scratch = Path(tempfile.mkdtemp(prefix="attune-bench-"))
        stack.callback(shutil.rmtree, scratch, ignore_errors=True)
        # Runs after the services stopped, before the scratch directory goes.
        stack.callback(harness.keep_logs, scratch / "logs", args.logs)
        print("starting ingest, trainer and deployer ...", flush=True)
        services = await harness.start_stack(stack, scratch)
        second = await harness.import_model(services, scratch / "second-package", "bench second model")
        names = {services.base_model_id: "A", second: "B"}
        call = Call(services)

        print("warming up ...", flush=True)
        for clip in clips:
            warm = await call(clip, asyncio.get_running_loop().time(), 0.0)
            if warm.error:
                raise RuntimeError(f"warm-up request failed: {warm.error}")

        print(f"capacity: {args.concurrency} clients back to back for {args.capacity_seconds:g} s ...", flush=True)
        most, measured = await capacity(call, clips, args.concurrency, args.capacity_seconds)
        rate = args.rate or math.floor(most * args.utilisation * 10) / 10
        chosen = "given with --rate" if args.rate else f"{args.utilisation:.0%} of the capacity, rounded down"
        lat = Summary.of([r.latency for r in measured if not r.error])
        choice = {
            "input": f"{len(clips)} clips of {min(c.seconds for c in clips):.1f}-{max(c.seconds for c in clips):.1f} s "
            f"(mean {sum(c.seconds for c in clips) / len(clips):.2f} s) cut from the librivox recordings of the "
            f"pocketsphinx test data (seed {args.seed}), sent in turn; deployer with 2 decoder processes",
            "capacity": f"{most:.2f} req/s completed with {args.concurrency} clients calling back to back for "
            f"{args.capacity_seconds:g} s ({len(measured)} requests, "
            f"{sum(1 for r in measured if r.error)} failed; latency p50 {ms(lat.p50)} ms, p99 {ms(lat.p99)} ms)",
            "offered load": f"{rate:g} req/s ({chosen}) for {args.duration:g} s, open loop, at most "
            f"{args.concurrency} in flight, loopback only; the issue's example of 15 req/s is "
            f"{15 / most:.1f}x this machine's capacity, which would only measure a queue growing "
            "until the in-flight limit holds arrivals back",
        }
        print(f"  {most:.2f} req/s; offering {rate:g} req/s", flush=True)

        plan = [(at, (second, services.base_model_id)[n % 2]) for n, at in enumerate(args.changes)]
        runs = []
        # Runs without changes before and after the swap run bracket what the machine did meanwhile.
        for name, changes in (("baseline before", []), ("swap", plan), ("baseline after", [])):
            print(f"{name} run: {rate:g} req/s for {args.duration:g} s ...", flush=True)
            run = await open_loop(services, name, clips, rate, args.duration, args.concurrency, changes)
            failed = sum(1 for r in run.requests if r.error)
            print(f"  {len(run.requests)} requests, {failed} failed", flush=True)
            runs.append(run)
            await asyncio.sleep(2)  # the queue drains and the workers idle before the next run
        info["load average (1 min) at end"] = f"{os.getloadavg()[0]:.2f}"
        return report(runs, plan, names, choice, args, info, services.logs / "deployer.log")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=20, help="clips of 1-2 s (default 20)")
    parser.add_argument("--concurrency", type=int, default=8, help="clients / requests in flight (default 8)")
    parser.add_argument("--capacity-seconds", type=float, default=20, help="length of the capacity run")
    parser.add_argument("--utilisation", type=float, default=0.75, help="offered rate as a share of the capacity")
    parser.add_argument("--rate", type=float, help="offered rate in req/s (instead of --utilisation)")
    parser.add_argument("--duration", type=float, default=60, help="seconds of each load run (default 60)")
    parser.add_argument("--changes", type=float, nargs="+", default=[15, 30, 45], help="seconds of each model change")
    parser.add_argument("--window", type=float, default=5, help="seconds after a change that count as its window")
    parser.add_argument("--seed", type=int, default=2, help="seed of the clip windows")
    harness.add_shared_arguments(parser, REPORT)
    args = parser.parse_args()
    harness.write_report(args.report, asyncio.run(benchmark(args)))


if __name__ == "__main__":
    main()
