"""Domain errors, each carrying the gRPC status it maps to.

Service code raises these; the server interceptor turns them into `context.abort(code,
message)`, so a servicer never needs to know about status codes itself.
"""

from __future__ import annotations

import grpc


class AttuneError(Exception):
    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(AttuneError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(AttuneError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(AttuneError):
    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(AttuneError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class ResourceExhausted(AttuneError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unauthenticated(AttuneError):
    code = grpc.StatusCode.UNAUTHENTICATED


class Unavailable(AttuneError):
    code = grpc.StatusCode.UNAVAILABLE


_PASSED_ON: dict[grpc.StatusCode, type[AttuneError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
}


def from_rpc_error(exc: grpc.aio.AioRpcError, service: str) -> AttuneError:
    """What to tell our caller when a call to another service failed: its answer about the
    caller's request passes on as is; anything else means that service is unavailable."""
    passed_on = _PASSED_ON.get(exc.code())
    if passed_on is not None:
        return passed_on(exc.details() or exc.code().name)
    return Unavailable(f"{service} is unavailable ({exc.code().name})")
