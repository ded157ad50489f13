"""What runs inside a decoder worker process: its loaded models, its open streams, its loop.

The parent side (`speech.decoding`) sends `(operation, request id, args)` messages; the
worker answers `(request id, ok, result or (error kind, message))` in arrival order.
"""

from __future__ import annotations

import os
import signal
import time
from collections import OrderedDict
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from speech.engine import LoadedModel, ModelLoadError, Recognition, RecognitionStream
from speech.engines import load_model
from speech.packages import InvalidPackage, Manifest
from speech.resample import StreamConverter, to_engine_rate

# The request id of the worker's first message, which says it is ready.
READY = 0


@dataclass(frozen=True)
class ModelSpec:
    """What a worker needs to load a model: where the package is and its validated manifest."""

    model_id: str
    package_dir: str
    manifest: Manifest


class WorkerState:
    def __init__(self, max_models: int) -> None:
        self._max_models = max_models
        self._models: OrderedDict[str, tuple[ModelSpec, LoadedModel]] = OrderedDict()
        self._streams: dict[int, tuple[RecognitionStream, StreamConverter]] = {}

    def _model(self, spec: ModelSpec) -> LoadedModel:
        entry = self._models.get(spec.model_id)
        if entry is None or entry[0] != spec:
            model = load_model(Path(spec.package_dir), spec.manifest)
            self._models[spec.model_id] = entry = (spec, model)
            while len(self._models) > self._max_models:
                self._models.popitem(last=False)
        self._models.move_to_end(spec.model_id)
        return entry[1]

    def load(self, spec: ModelSpec) -> float:
        started = time.perf_counter()
        self._model(spec)
        return time.perf_counter() - started

    def unload(self, model_id: str) -> None:
        self._models.pop(model_id, None)

    def recognize(self, spec: ModelSpec, pcm: bytes, sample_rate: int) -> Recognition:
        return self._model(spec).recognize(to_engine_rate(pcm, sample_rate))

    def stream_open(self, stream_id: int, spec: ModelSpec, sample_rate: int) -> None:
        converter = StreamConverter(sample_rate)
        self._streams[stream_id] = (self._model(spec).stream(), converter)

    def _stream(self, stream_id: int) -> tuple[RecognitionStream, StreamConverter]:
        try:
            return self._streams[stream_id]
        except KeyError:
            raise RuntimeError(f"no open stream {stream_id} in this worker") from None

    def stream_feed(self, stream_id: int, pcm: bytes) -> str:
        stream, converter = self._stream(stream_id)
        return stream.feed(converter.process(pcm))

    def stream_finish(self, stream_id: int) -> Recognition:
        stream, converter = self._stream(stream_id)
        del self._streams[stream_id]
        try:
            stream.feed(converter.flush())
            return stream.finish()
        finally:
            stream.close()

    def stream_close(self, stream_id: int) -> None:
        entry = self._streams.pop(stream_id, None)
        if entry:
            entry[0].close()


def error_kind(exc: BaseException) -> str:
    if isinstance(exc, ModelLoadError | InvalidPackage):
        return "load"
    if isinstance(exc, ValueError):
        return "input"
    return "decode"


def worker_main(requests: Connection, replies: Connection, max_models: int) -> None:
    """The worker's loop: one message at a time, in arrival order, until stop or EOF."""
    # Ctrl-C reaches the whole process group; the parent decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    state = WorkerState(max_models)
    replies.send((READY, True, os.getpid()))
    while True:
        try:
            operation, request_id, args = requests.recv()
        except EOFError:
            return
        if operation == "stop":
            return
        try:
            reply = (request_id, True, getattr(state, operation)(*args))
        except Exception as exc:
            reply = (request_id, False, (error_kind(exc), f"{exc}" or type(exc).__name__))
        if request_id is not None:
            replies.send(reply)
