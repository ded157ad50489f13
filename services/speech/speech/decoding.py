"""Decoding in worker processes: the event loop only ships audio and receives results.

`DecoderPool` runs N long-lived worker processes (spawn context). Each keeps the models it
was asked to load, least recently used first out, and reuses them for every request, so a
request never pays for loading a model. Whole recordings wait in one FIFO queue and each
worker takes the next when it is free, so concurrent requests run in parallel and none
overtakes another. A stream is pinned to one worker for its whole life (its decoder state
lives there); several streams share a worker, their messages interleaved.

Parent and worker talk over two one-way pipes. In the parent a writer thread per worker
sends (so a large recording never blocks the event loop while the worker is busy) and a
reader thread receives; end of file on the reply pipe means the worker died: its calls
fail with `WorkerDied` at once and a replacement starts with the same models loaded.

Deadlines are the caller's: wrap a call in `asyncio.timeout(...)`. Every call is safe to
cancel: a recording still queued is dropped before it reaches a worker; one already being
decoded finishes there and its result is discarded; a stream whose call was cancelled is
closed, since its state in the worker is no longer known.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import os
import queue
import threading
import time
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import TracebackType
from typing import Any

from speech.decoder_process import READY, ModelSpec, worker_main
from speech.engine import ModelLoadError, Recognition
from speech.packages import InvalidPackage, read_manifest

log = logging.getLogger(__name__)

# Models a worker keeps loaded; beyond this the least recently used one is dropped (and
# loaded again from its package if it is asked for later).
MAX_MODELS_PER_WORKER = 3
_RESTART_BACKOFF_SECONDS = 1.0


class DecodeError(RuntimeError):
    """Decoding failed; the message says why."""


class WorkerDied(DecodeError):
    """The worker process handling the call died before answering."""


class ModelNotLoaded(DecodeError):
    """The model was not loaded into the pool (`DecoderPool.load`) or was unloaded."""


class PoolClosed(DecodeError):
    """The pool is closed or closing."""


@dataclass(frozen=True)
class WorkerInfo:
    pid: int | None
    alive: bool
    busy: bool
    streams: int


# ---------------------------------------------------------------- in the parent process


class _Worker:
    """One worker process and the threads that talk to it."""

    def __init__(self, index: int, loop: asyncio.AbstractEventLoop, max_models: int) -> None:
        context = multiprocessing.get_context("spawn")
        child_requests, self._requests = context.Pipe(duplex=False)
        self._replies, child_replies = context.Pipe(duplex=False)
        self._loop = loop
        self.index = index
        self.process: BaseProcess = context.Process(
            target=worker_main,
            args=(child_requests, child_replies, max_models),
            name=f"decoder-worker-{index}",
            daemon=True,
        )
        self.process.start()
        child_requests.close()
        child_replies.close()
        self.started = time.monotonic()
        self.ready: asyncio.Future[int] = loop.create_future()
        self.died: asyncio.Future[str] = loop.create_future()
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.busy = False
        self.streams = 0
        self._outbox: queue.SimpleQueue[tuple[str, int | None, tuple[Any, ...]] | None] = queue.SimpleQueue()
        threading.Thread(target=self._write, name=f"{self.process.name}-writer", daemon=True).start()
        threading.Thread(target=self._read, name=f"{self.process.name}-reader", daemon=True).start()

    @property
    def alive(self) -> bool:
        return not self.died.done()

    def call(self, request_id: int, operation: str, *args: Any) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = self._loop.create_future()
        if not self.alive:
            future.set_exception(WorkerDied(self.died.result()))
            return future
        self.pending[request_id] = future
        self._outbox.put((operation, request_id, args))
        return future

    def tell(self, operation: str, *args: Any) -> None:
        """Sends a message that gets no reply."""
        if self.alive:
            self._outbox.put((operation, None, args))

    def stop(self) -> None:
        self._outbox.put(("stop", None, ()))
        self._outbox.put(None)

    def _write(self) -> None:
        while (message := self._outbox.get()) is not None:
            try:
                self._requests.send(message)
            except (OSError, ValueError):
                break
        self._requests.close()

    def _read(self) -> None:
        # RuntimeError: the event loop is closed, so nobody waits for replies any more.
        with contextlib.suppress(RuntimeError):
            while True:
                try:
                    reply = self._replies.recv()
                except (EOFError, OSError):
                    break
                self._loop.call_soon_threadsafe(self._on_reply, reply)
        self._outbox.put(None)
        self.process.join(timeout=10)
        reason = f"decoder worker {self.process.pid} exited (exit code {self.process.exitcode})"
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._on_exit, reason)

    def _on_reply(self, reply: tuple[int, bool, Any]) -> None:
        request_id, ok, payload = reply
        if request_id == READY:
            if not self.ready.done():
                self.ready.set_result(payload)
            return
        future = self.pending.pop(request_id, None)
        if future is None or future.done():
            return
        if ok:
            future.set_result(payload)
        else:
            kind, message = payload
            error = {"load": ModelLoadError, "input": ValueError}.get(kind, DecodeError)
            future.set_exception(error(message))

    def _on_exit(self, reason: str) -> None:
        if not self.died.done():
            self.died.set_result(reason)
        error = WorkerDied(reason)
        for future in self.pending.values():
            if not future.done():
                future.set_exception(error)
        self.pending.clear()
        if not self.ready.done():
            self.ready.set_exception(error)


@dataclass
class _Job:
    model_id: str
    pcm: bytes
    sample_rate: int
    future: asyncio.Future[Recognition]


class DecoderPool:
    """Worker processes that decode; see the module docstring."""

    def __init__(self, processes: int | None = None, *, max_models_per_worker: int = MAX_MODELS_PER_WORKER) -> None:
        self.size = processes or os.cpu_count() or 1
        self._max_models = max_models_per_worker
        self._workers: list[_Worker] = []
        self._models: dict[str, ModelSpec] = {}
        self._jobs: asyncio.Queue[_Job] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._ids = itertools.count(READY + 1)
        self._closing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._replaced = asyncio.Condition()

    # -- lifecycle

    async def start(self) -> None:
        """Starts the workers and waits until each is ready."""
        self._loop = asyncio.get_running_loop()
        self._workers = [_Worker(i, self._loop, self._max_models) for i in range(self.size)]
        await asyncio.gather(*(w.ready for w in self._workers))
        for index in range(self.size):
            self._tasks.append(asyncio.create_task(self._serve(index), name=f"decoder-dispatch-{index}"))
            self._tasks.append(asyncio.create_task(self._supervise(index), name=f"decoder-supervise-{index}"))
        log.info("decoder pool started with %s workers", self.size)

    async def close(self, grace: float = 30.0) -> None:
        """Refuses new work, finishes queued and in-flight work (up to `grace` seconds), stops."""
        if self._closing or self._loop is None:
            return
        self._closing = True
        deadline = self._loop.time() + grace
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout_at(deadline):
                await self._jobs.join()
                while waiting := [f for w in self._workers for f in w.pending.values() if not f.done()]:
                    await asyncio.wait(waiting)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        while not self._jobs.empty():
            job = self._jobs.get_nowait()
            if not job.future.done():
                job.future.set_exception(PoolClosed("the decoder pool closed"))
        for worker in self._workers:
            worker.stop()
        for worker in self._workers:
            # Stop is queued behind any work nobody waits for any more; past the grace, kill.
            await asyncio.to_thread(worker.process.join, max(deadline - self._loop.time(), 1.0))
            if worker.process.is_alive():
                worker.process.kill()
                await asyncio.to_thread(worker.process.join, 5)
        log.info("decoder pool closed")

    async def __aenter__(self) -> DecoderPool:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def workers(self) -> list[WorkerInfo]:
        return [WorkerInfo(w.process.pid, w.alive, w.busy, w.streams) for w in self._workers]

    @property
    def loaded_models(self) -> list[str]:
        return list(self._models)

    # -- models

    async def load(self, model_id: str, package_dir: Path) -> None:
        """Loads (warms) the model in every worker; ModelLoadError says why it cannot be.

        Once this returns, requests for `model_id` pay no loading cost. Loading a model id
        again with another package replaces it.
        """
        self._check_open()
        package_dir = await asyncio.to_thread(Path(package_dir).resolve)
        try:
            manifest = await asyncio.to_thread(read_manifest, package_dir)
        except InvalidPackage as exc:
            raise ModelLoadError(f"model {model_id}: {exc}") from None
        spec = ModelSpec(model_id, str(package_dir), manifest)
        # One worker at a time: the others keep decoding meanwhile, so warming a model for a
        # swap never stops the whole pool (it did, for the ~0.3 s a load takes).
        results: list[float | BaseException] = []
        for worker in self._workers:
            try:
                results.append(await self._load_in(worker, spec))
            except Exception as exc:
                results.append(exc)
                break
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            if model_id not in self._models:
                for worker in self._workers:
                    worker.tell("unload", model_id)
            first = failures[0]
            if isinstance(first, ModelLoadError):
                raise first
            raise ModelLoadError(f"model {model_id}: {first}") from first
        self._models[model_id] = spec
        log.info("model %s loaded in %s workers in %s", model_id, len(results), [f"{s:.2f}s" for s in results])

    async def _load_in(self, worker: _Worker, spec: ModelSpec) -> float:
        await worker.ready
        seconds: float = await worker.call(next(self._ids), "load", spec)
        return seconds

    async def unload(self, model_id: str) -> None:
        """Frees the model in every worker (streams already open on it run to their end)."""
        self._models.pop(model_id, None)
        for worker in self._workers:
            worker.tell("unload", model_id)

    # -- recognition

    async def recognize(self, model_id: str, pcm: bytes, *, sample_rate: int = 16000) -> Recognition:
        """Recognises a whole recording (16-bit mono PCM at 8 or 16 kHz) on the next free worker."""
        self._check_open()
        self._spec(model_id)
        assert self._loop is not None
        job = _Job(model_id, pcm, sample_rate, self._loop.create_future())
        self._jobs.put_nowait(job)
        return await job.future

    def stream(self, model_id: str, *, sample_rate: int = 16000) -> PoolStream:
        """A streaming recognition on one worker; use as `async with pool.stream(m) as s`."""
        self._check_open()
        spec = self._spec(model_id)
        worker = min(self._workers, key=lambda w: (not w.alive, w.streams, w.busy, len(w.pending)))
        return PoolStream(self, worker, spec, sample_rate, next(self._ids))

    def _spec(self, model_id: str) -> ModelSpec:
        try:
            return self._models[model_id]
        except KeyError:
            raise ModelNotLoaded(f"model {model_id} is not loaded") from None

    def _check_open(self) -> None:
        if self._closing or self._loop is None:
            raise PoolClosed("the decoder pool is not running")

    def _next_id(self) -> int:
        return next(self._ids)

    async def _serve(self, index: int) -> None:
        """Feeds worker `index` one queued recording at a time."""
        while True:
            job = await self._jobs.get()
            try:
                if job.future.done():
                    continue
                worker = await self._live_worker(index)
                spec = self._models.get(job.model_id)
                if spec is None:
                    job.future.set_exception(ModelNotLoaded(f"model {job.model_id} was unloaded"))
                    continue
                worker.busy = True
                try:
                    reply = worker.call(next(self._ids), "recognize", spec, job.pcm, job.sample_rate)
                    await asyncio.wait([reply])
                finally:
                    worker.busy = False
                error = reply.exception()  # retrieved even when nobody waits any more
                if not job.future.done():
                    if error is not None:
                        job.future.set_exception(error)
                    else:
                        job.future.set_result(reply.result())
            except asyncio.CancelledError:
                if not job.future.done():
                    job.future.set_exception(PoolClosed("the decoder pool closed"))
                raise
            except Exception as exc:
                if not job.future.done():
                    job.future.set_exception(exc)
            finally:
                self._jobs.task_done()

    async def _live_worker(self, index: int) -> _Worker:
        """Worker `index` once it is running (after a replacement, the replacement)."""
        while True:
            async with self._replaced:
                await self._replaced.wait_for(lambda: self._workers[index].alive)
            worker = self._workers[index]
            with contextlib.suppress(WorkerDied):
                await worker.ready
                return worker

    async def _supervise(self, index: int) -> None:
        """Replaces worker `index` whenever it dies, with the pool's models loaded."""
        assert self._loop is not None
        while True:
            worker = self._workers[index]
            reason = await asyncio.shield(worker.died)
            if self._closing:
                return
            log.error("%s; starting a replacement", reason)
            if time.monotonic() - worker.started < 5:
                await asyncio.sleep(_RESTART_BACKOFF_SECONDS)
            replacement = _Worker(index, self._loop, self._max_models)
            async with self._replaced:
                self._workers[index] = replacement
                self._replaced.notify_all()
            for spec in list(self._models.values()):
                replacement.call(next(self._ids), "load", spec).add_done_callback(_log_reload_failure)
            with contextlib.suppress(WorkerDied):
                await replacement.ready


def _log_reload_failure(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("reloading a model in a replacement worker failed: %s", future.exception())


class PoolStream:
    """A streaming recognition pinned to one worker; open it with `async with`."""

    def __init__(
        self,
        pool: DecoderPool,
        worker: _Worker,
        spec: ModelSpec,
        sample_rate: int,
        stream_id: int,
    ) -> None:
        self._pool = pool
        self._worker = worker
        self._spec = spec
        self._sample_rate = sample_rate
        self._id = stream_id
        self._open = False

    @property
    def worker_pid(self) -> int | None:
        return self._worker.process.pid

    async def __aenter__(self) -> PoolStream:
        self._worker.streams += 1
        self._open = True
        try:
            await self._worker.ready
        except WorkerDied:
            self._release(tell_worker=False)
            raise
        await self._call("stream_open", self._spec, self._sample_rate)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._release(tell_worker=True)

    def _release(self, *, tell_worker: bool) -> None:
        if self._open:
            self._open = False
            self._worker.streams -= 1
            if tell_worker:
                self._worker.tell("stream_close", self._id)

    async def feed(self, pcm: bytes) -> str:
        """Sends a chunk (at the stream's sample rate); returns the partial text so far."""
        partial: str = await self._call("stream_feed", pcm)
        return partial

    async def finish(self) -> Recognition:
        """The final result; the stream is done afterwards."""
        result: Recognition = await self._call("stream_finish")
        self._release(tell_worker=False)
        return result

    async def _call(self, operation: str, *args: Any) -> Any:
        if not self._open:
            raise DecodeError("the stream is finished or closed")
        future = self._worker.call(self._pool._next_id(), operation, self._id, *args)
        try:
            return await future
        except BaseException:
            # After a failure, timeout or cancellation the worker's state of this stream is unknown.
            self._release(tell_worker=True)
            raise
