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
