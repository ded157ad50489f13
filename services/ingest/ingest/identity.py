"""IdentityService: the caller's subscription, for services that authenticate through ingest."""

from __future__ import annotations

from attune.ingest.v1 import ingest_pb2 as pb
from attune.ingest.v1 import ingest_pb2_grpc
from common.auth import subscription_id
from ingest.projects import Context


class IdentityServicer(ingest_pb2_grpc.IdentityServiceServicer):
    async def WhoAmI(self, request: pb.WhoAmIRequest, context: Context) -> pb.Identity:
        # The interceptor has already authenticated the key; this only reports the result.
        return pb.Identity(subscription_id=subscription_id())
