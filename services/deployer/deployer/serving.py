"""Which model serves each endpoint in this replica, and the swap that changes it.

`ModelHost` keeps models loaded in the decoder pool while anything uses them: an endpoint's
route, an in-flight request, or a pinned fallback. `Router.install` loads and warms the new
model first, then swaps the route in one step (so new requests go to the new model at once),
and releases the old model; requests already holding the old one finish on it, and it is
unloaded when the last of them ends. A model that fails to load never replaces a route.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

from deployer.repository import ServedModel
from speech.decoding import DecoderPool
from speech.packages import ModelCache

log = logging.getLogger(__name__)


class ModelHost:
    def __init__(self, pool: DecoderPool, cache: ModelCache) -> None:
        self._pool = pool
        self._cache = cache
        self._users: Counter[str] = Counter()
        self._loaded: set[str] = set()
        self._loading: dict[str, asyncio.Task[None]] = {}

    @property
    def pool(self) -> DecoderPool:
        return self._pool

    def is_loaded(self, model_id: str) -> bool:
        return model_id in self._loaded

    async def ensure_loaded(self, model: ServedModel) -> None:
        """Loads and warms `model` in every decoder process (once, however many ask)."""
        if model.model_id in self._loaded:
            return
        task = self._loading.get(model.model_id)
        if task is None:
            task = asyncio.create_task(self._load(model))
            self._loading[model.model_id] = task
            task.add_done_callback(lambda _: self._loading.pop(model.model_id, None))
        await asyncio.shield(task)

    async def _load(self, model: ServedModel) -> None:
        package_dir = await self._cache.ensure(model.model_id, model.package_key, model.package_sha256)
        await self._pool.load(model.model_id, package_dir)
        self._loaded.add(model.model_id)
        log.info("model loaded", extra={"model_id": model.model_id})

    def retain(self, model_id: str) -> None:
        self._users[model_id] += 1

    async def release(self, model_id: str) -> None:
        self._users[model_id] -= 1
        if self._users[model_id] <= 0:
            del self._users[model_id]
            if model_id in self._loaded:
                self._loaded.discard(model_id)
                await self._pool.unload(model_id)
                log.info("model unloaded", extra={"model_id": model_id})

    @contextlib.asynccontextmanager
    async def using(self, model_id: str) -> AsyncIterator[str]:
        """Keeps `model_id` loaded for the block (one request's lifetime)."""
        self.retain(model_id)
        try:
            yield model_id
        finally:
            await self.release(model_id)


@dataclass(frozen=True)
class Route:
    endpoint_id: str
    subscription_id: str
    model: ServedModel
    # The endpoint's revision this route reflects (see `Router.install`).
    revision: int


class Router:
    def __init__(self, host: ModelHost) -> None:
        self.host = host
        self._routes: dict[str, Route] = {}
        self._pinned: set[str] = set()
        self._locks: dict[str, asyncio.Lock] = {}

    def route(self, endpoint_id: str) -> Route | None:
        return self._routes.get(endpoint_id)

    async def install(self, route: Route) -> None:
        """Serves `route.model` on the endpoint once it is loaded; raises if it cannot load.

        Changes can reach a replica in any order (its own call, and events from others): a
        route older than the one in place is ignored, so the newest change always wins.
        """
        lock = self._locks.setdefault(route.endpoint_id, asyncio.Lock())
        async with lock:
            current = self._routes.get(route.endpoint_id)
            if current is not None and current.revision > route.revision:
                return
            if current is not None and current.model.model_id == route.model.model_id:
                self._routes[route.endpoint_id] = route
                return
            await self.host.ensure_loaded(route.model)
            self.host.retain(route.model.model_id)
            self._routes[route.endpoint_id] = route
            if current is not None:
                await self.host.release(current.model.model_id)
            log.info(
                "endpoint serves model",
                extra={"endpoint_id": route.endpoint_id, "model_id": route.model.model_id},
            )

    async def remove(self, endpoint_id: str) -> None:
        current = self._routes.pop(endpoint_id, None)
        if current is not None:
            await self.host.release(current.model.model_id)

    async def pin(self, model: ServedModel) -> None:
        """Keeps a fallback model loaded for as long as the replica runs."""
        if model.model_id not in self._pinned:
            await self.host.ensure_loaded(model)
            if model.model_id not in self._pinned:
                self._pinned.add(model.model_id)
                self.host.retain(model.model_id)
