"""Running services inside the test's event loop, each on its own loopback port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

Runner = Callable[..., Awaitable[None]]


@asynccontextmanager
async def running(run: Runner, settings: object, timeout: float = 120) -> AsyncIterator[str]:
    """Starts `run(settings, stop=..., on_started=...)`; yields its address; stops it after."""
    stop = asyncio.Event()
    started: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(run(settings, stop=stop, on_started=started.set_result))
    done, _ = await asyncio.wait({task, started}, return_when=asyncio.FIRST_COMPLETED, timeout=timeout)
    if task in done:
        task.result()  # re-raises why the service could not start
    if not done:
        task.cancel()
        raise AssertionError(f"service did not start within {timeout}s")
    try:
        yield f"127.0.0.1:{started.result()}"
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)
