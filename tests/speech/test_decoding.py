"""The decoder pool: the same results as the bare engine, from worker processes."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from speech.audio import read_pcm
from speech.decoding import DecodeError, DecoderPool, ModelNotLoaded, WorkerDied
from speech.engine import ModelLoadError, Recognition
from speech.packages import write_manifest
from tests.common.test_events import eventually
from tests.speech.test_engine import (
    BUNDLED,
    CREATED,
    bare_recognitions,
    base_package,
    librivox_pcm,
    librivox_transcripts,
    librivox_wav_8k,
    word_error_rate,
)

BASE = "base-en-us"
CHUNK = 3200  # 0.1 s at 16 kHz


@pytest.fixture(scope="module")
async def pool() -> AsyncIterator[DecoderPool]:
    async with DecoderPool(2) as started:
        await started.load(BASE, base_package())
        yield started


async def stream_in_chunks(
    pool: DecoderPool, pcm: bytes, chunk: int = CHUNK, sample_rate: int = 16000
) -> tuple[Recognition, list[str]]:
    async with pool.stream(BASE, sample_rate=sample_rate) as stream:
        partials = [await stream.feed(pcm[i : i + chunk]) for i in range(0, len(pcm), chunk)]
        return await stream.finish(), partials


async def test_the_pool_recognises_exactly_what_the_bare_engine_does(pool: DecoderPool) -> None:
    names = sorted(librivox_transcripts())
    results = await asyncio.gather(*(pool.recognize(BASE, librivox_pcm(n)) for n in names))
    assert dict(zip(names, results, strict=True)) == bare_recognitions()


async def test_a_stream_ends_with_the_unary_text_and_its_partials_grow(pool: DecoderPool) -> None:
    names = sorted(librivox_transcripts())
    streamed = await asyncio.gather(*(stream_in_chunks(pool, librivox_pcm(n)) for n in names))
    for name, (final, partials) in zip(names, streamed, strict=True):
        assert final == bare_recognitions()[name]
        words = [len(p.split()) for p in partials]
        assert words[0] == 0 < words[len(words) // 2] < words[-1]
        assert all("<" not in p and "(" not in p for p in partials)
    assert all(w.streams == 0 for w in pool.workers())


async def test_eight_kilohertz_recordings_and_streams_are_recognised(pool: DecoderPool) -> None:
    names = sorted(librivox_transcripts())
    recordings = {n: read_pcm(librivox_wav_8k(n)) for n in names}
    assert {r.sample_rate for r in recordings.values()} == {8000}
    results = await asyncio.gather(*(pool.recognize(BASE, r.samples, sample_rate=8000) for r in recordings.values()))
    assert word_error_rate({n: r.text for n, r in zip(names, results, strict=True)}) < 0.6

    # 0.1 s chunks at 8 kHz, upsampled chunk by chunk, end exactly where the whole file does.
    name = names[1]
    final, _ = await stream_in_chunks(pool, recordings[name].samples, chunk=1600, sample_rate=8000)
    assert final == results[1]


async def test_an_unknown_model_or_sample_rate_is_refused(pool: DecoderPool) -> None:
    with pytest.raises(ModelNotLoaded):
        await pool.recognize("never-loaded", librivox_pcm(sorted(librivox_transcripts())[1]))
    with pytest.raises(ValueError, match="44100 Hz"):
        await pool.recognize(BASE, bytes(100), sample_rate=44100)
    with pytest.raises(ValueError, match="16-bit samples"):
        await pool.recognize(BASE, bytes(101))


async def test_a_broken_package_fails_to_load_and_the_pool_serves_on(pool: DecoderPool, tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    missing.mkdir()
    (missing / "domain.lm.bin").write_bytes(b"soon gone")
    write_manifest(missing, **_custom("missing", languageModel="domain.lm.bin"))
    (missing / "domain.lm.bin").unlink()
    with pytest.raises(ModelLoadError, match=r"missing file domain\.lm\.bin"):
        await pool.load("missing", missing)

    # Hashes fine, content garbage: only the engine finds out, in the workers.
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "domain.lm.bin").write_bytes(b"not a language model\n" * 10)
    write_manifest(corrupt, **_custom("corrupt", languageModel="domain.lm.bin"))
    with pytest.raises(ModelLoadError, match="corrupt"):
        await pool.load("corrupt", corrupt)

    assert pool.loaded_models == [BASE]
    with pytest.raises(ModelNotLoaded):
        await pool.recognize("corrupt", librivox_pcm(sorted(librivox_transcripts())[1]))
    name = sorted(librivox_transcripts())[1]
    assert await pool.recognize(BASE, librivox_pcm(name)) == bare_recognitions()[name]


async def test_a_second_model_loads_beside_the_first_and_unloads(pool: DecoderPool, tmp_path: Path) -> None:
    shutil.copy(base_package() / "manifest.json", tmp_path / "manifest.json")
    await pool.load("copy", tmp_path)
    name = sorted(librivox_transcripts())[4]
    assert await pool.recognize("copy", librivox_pcm(name)) == bare_recognitions()[name]
    await pool.unload("copy")
    with pytest.raises(ModelNotLoaded):
        await pool.recognize("copy", librivox_pcm(name))


async def test_a_cancelled_request_leaves_the_pool_working(pool: DecoderPool) -> None:
    names = sorted(librivox_transcripts())
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await pool.recognize(BASE, librivox_pcm(names[0]))
    assert await pool.recognize(BASE, librivox_pcm(names[1])) == bare_recognitions()[names[1]]


async def test_a_dead_worker_fails_its_calls_and_is_replaced(pool: DecoderPool) -> None:
    names = sorted(librivox_transcripts())
    long_audio = b"".join(librivox_pcm(n) for n in names)
    # Earlier tests may leave a worker finishing a request nobody waits for.
    await eventually(lambda: not any(w.busy for w in pool.workers()), what="idle workers")
    in_flight = asyncio.create_task(pool.recognize(BASE, long_audio))
    await eventually(lambda: any(w.busy for w in pool.workers()), what="a worker to take the request")
    busy = next(w for w in pool.workers() if w.busy)
    assert busy.pid is not None
    os.kill(busy.pid, signal.SIGKILL)
    with pytest.raises(WorkerDied, match=f"{busy.pid} exited"):
        await in_flight

    async with pool.stream(BASE) as stream:
        await stream.feed(librivox_pcm(names[1])[:CHUNK])
        assert stream.worker_pid is not None
        os.kill(stream.worker_pid, signal.SIGKILL)
        with pytest.raises(WorkerDied):
            await stream.feed(librivox_pcm(names[1])[CHUNK : 2 * CHUNK])
        with pytest.raises(DecodeError, match="closed"):
            await stream.finish()

    await eventually(lambda: all(w.alive for w in pool.workers()) and len(pool.workers()) == 2, what="replacements")
    assert busy.pid not in {w.pid for w in pool.workers()}
    # Both replacements serve the model they were given back.
    results = await asyncio.gather(*(pool.recognize(BASE, librivox_pcm(names[1])) for _ in range(2)))
    assert results == [bare_recognitions()[names[1]]] * 2


async def test_close_finishes_work_in_flight() -> None:
    name = sorted(librivox_transcripts())[1]
    small = DecoderPool(1)
    await small.start()
    await small.load(BASE, base_package())
    pending = [asyncio.create_task(small.recognize(BASE, librivox_pcm(name))) for _ in range(2)]
    await eventually(lambda: small.workers()[0].busy, what="the worker to start")
    await small.close()
    assert [t.result() for t in pending] == [bare_recognitions()[name]] * 2
    with pytest.raises(DecodeError, match="not running"):
        await small.recognize(BASE, librivox_pcm(name))


def _custom(model_id: str, **resources: str) -> dict[str, object]:
    return {
        "model_id": model_id,
        "base_model_id": BASE,
        "kind": "custom",
        "created": CREATED,
        "resources": {**BUNDLED, **resources},
    }
