"""gRPC server bootstrap shared by every service.

`build_server` adds the interceptor that gives each call a correlation id, authenticates
its API key and maps domain errors to status codes; health and reflection are registered
too. `serve` starts it and, on SIGTERM or SIGINT, flips health to NOT_SERVING (so load
balancers stop sending work), then stops with a grace period for in-flight calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from common.auth import Caller, KeyResolver, internal_caller, key_from_metadata, reset_caller, set_caller
from common.errors import AttuneError, Unauthenticated
from common.logs import CORRELATION_HEADER, correlation_scope

log = logging.getLogger(__name__)

# Infrastructure endpoints answer without a key (probes and tooling have none).
PUBLIC_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")


class CallInterceptor(grpc.aio.ServerInterceptor):
    """Correlation id, authentication and error mapping around every call."""

    def __init__(self, resolver: KeyResolver | None, internal_token: str | None = None) -> None:
        self._resolver = resolver
        self._internal_token = internal_token

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or method.startswith(PUBLIC_PREFIXES):
            return handler
        return _wrap_handler(handler, functools.partial(self._call_scope, method))

    @contextlib.asynccontextmanager
    async def _call_scope(self, method: str, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[None]:
        metadata = {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
        with correlation_scope(metadata.get(CORRELATION_HEADER)) as cid:
            context.set_trailing_metadata(((CORRELATION_HEADER, cid),))
            try:
                token = set_caller(await self._authenticate(metadata))
                try:
                    yield
                finally:
                    reset_caller(token)
            except AttuneError as exc:
                log.info("call refused", extra={"method": method, "code": exc.code.name, "reason": exc.message})
                await context.abort(exc.code, exc.message)
            except (grpc.aio.AbortError, asyncio.CancelledError, GeneratorExit):
                raise
            except Exception:
                log.exception("call failed", extra={"method": method})
                await context.abort(grpc.StatusCode.INTERNAL, f"internal error (correlation id {cid})")

    async def _authenticate(self, metadata: dict[str, str]) -> Caller | None:
        if self._resolver is None:
            return None
        acting_service = internal_caller(metadata, self._internal_token)
        if acting_service is not None:
            return acting_service
        key = key_from_metadata(metadata)
        if not key:
            raise Unauthenticated("missing API key: send it in the x-api-key metadata entry")
        subscription = await self._resolver.resolve(key)
        if subscription is None:
            raise Unauthenticated("invalid API key")
        return Caller(subscription, key)


def _wrap_handler(
    handler: grpc.RpcMethodHandler,
    scope: Callable[[grpc.aio.ServicerContext[Any, Any]], contextlib.AbstractAsyncContextManager[None]],
) -> grpc.RpcMethodHandler:
    def unary_response(behavior: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def call(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            async with scope(context):
                return await behavior(request, context)

        return call

    def stream_response(behavior: Callable[..., AsyncIterator[Any]]) -> Callable[..., AsyncIterator[Any]]:
        async def call(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
            async with scope(context):
                async for item in behavior(request, context):
                    yield item

        return call

    kinds: dict[tuple[bool, bool], tuple[Callable[..., grpc.RpcMethodHandler], str, Callable[..., Any]]] = {
        (False, False): (grpc.unary_unary_rpc_method_handler, "unary_unary", unary_response),
        (True, False): (grpc.stream_unary_rpc_method_handler, "stream_unary", unary_response),
        (False, True): (grpc.unary_stream_rpc_method_handler, "unary_stream", stream_response),
        (True, True): (grpc.stream_stream_rpc_method_handler, "stream_stream", stream_response),
    }
    factory, attribute, wrap = kinds[(handler.request_streaming, handler.response_streaming)]
    return factory(
        wrap(getattr(handler, attribute)),
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


def build_server(
    resolver: KeyResolver | None,
    *,
    internal_token: str | None = None,
    max_message_bytes: int = 8 * 1024 * 1024,
) -> tuple[grpc.aio.Server, health.aio.HealthServicer]:
    server = grpc.aio.server(
        interceptors=[CallInterceptor(resolver, internal_token)],
        options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
            # Clients reconnect now and then, so replicas added by an autoscaler get their
            # share of long-lived connections; calls in flight get ample time to finish.
            ("grpc.max_connection_age_ms", 5 * 60 * 1000),
            ("grpc.max_connection_age_grace_ms", 15 * 60 * 1000),
        ],
    )
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    return server, health_servicer


async def serve(
    server: grpc.aio.Server,
    health_servicer: health.aio.HealthServicer,
    *,
    address: str,
    service_names: Sequence[str],
    grace_seconds: float,
    drain_seconds: float = 0.0,
    stop: asyncio.Event | None = None,
    on_started: Callable[[int], None] | None = None,
) -> None:
    """Serves until SIGTERM/SIGINT, or until `stop` is set when one is given (embedded use,
    e.g. tests: then no signal handlers are installed), and shuts down gracefully."""
    reflection.enable_server_reflection([*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    port = server.add_insecure_port(address)
    await server.start()
    for name in ("", *service_names):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info("serving", extra={"address": address, "port": port, "services": list(service_names)})
    if on_started is not None:
        on_started(port)
    signals = (signal.SIGTERM, signal.SIGINT) if stop is None else ()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("shutting down", extra={"drain_s": drain_seconds, "grace_s": grace_seconds})
        await health_servicer.enter_graceful_shutdown()
        await asyncio.sleep(drain_seconds)
        await server.stop(grace_seconds)
        for sig in signals:
            loop.remove_signal_handler(sig)
