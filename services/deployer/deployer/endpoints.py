"""EndpointService: create, read, list, change (swap the model) and delete endpoints.

A model change is tried in this replica first: the new model is fetched, loaded and warmed
beside the old one. Only when that worked does the endpoint point to the new model (and the
other replicas hear `endpoint.model_changed` and do the same); when it did not, the change
is recorded as Failed with the reason and the old model keeps serving.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, TypeAlias

import asyncpg
import grpc
from google.protobuf.empty_pb2 import Empty

from attune.deployer.v1 import deployer_pb2 as pb
from attune.deployer.v1 import deployer_pb2_grpc
from attune.events.v1 import events_pb2
from common.auth import subscription_id
from common.errors import InvalidArgument, NotFound
from common.events import make_event
from common.outbox import enqueue
from common.paging import page_fields, page_window
from common.wire import parse_id
from deployer import convert
from deployer import repository as repo
from deployer.clients import Models, Projects, served_model
from deployer.serving import Route, Router
from deployer.settings import SERVICE

log = logging.getLogger(__name__)
Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]


def endpoint_event(endpoint_id: str, model_id: str) -> events_pb2.EndpointEvent:
    return events_pb2.EndpointEvent(endpoint_id=endpoint_id, model_id=model_id)


class EndpointServicer(deployer_pb2_grpc.EndpointServiceServicer):
    def __init__(self, pool: asyncpg.Pool, router: Router, projects: Projects, models: Models) -> None:
        self._pool = pool
        self._router = router
        self._projects = projects
        self._models = models

    async def _row(self, endpoint_id: uuid.UUID) -> asyncpg.Record:
        async with self._pool.acquire() as conn:
            row = await repo.get_endpoint(conn, endpoint_id, uuid.UUID(subscription_id()))
        if row is None:
            raise NotFound(f"endpoint {endpoint_id} not found")
        return row

    async def _try_loading(self, endpoint_id: uuid.UUID, model: repo.ServedModel) -> str | None:
        """Loads and warms `model` here, beside what serves now; the reason it could not, or None."""
        try:
            await self._router.host.ensure_loaded(model)
        except Exception as exc:
            log.warning("model failed to load", extra={"endpoint_id": str(endpoint_id), "model_id": model.model_id})
            return f"model {model.model_id} could not be loaded: {exc}"
        return None

    async def _switch(self, endpoint_id: uuid.UUID, model: repo.ServedModel, revision: int) -> None:
        """Points this replica's route at `model`, after the change has committed (so events
        that other changes cause never read an older model from the table than this one)."""
        await self._router.install(Route(str(endpoint_id), subscription_id(), model, revision))

    async def CreateEndpoint(self, request: pb.CreateEndpointRequest, context: Context) -> pb.Endpoint:
        if not request.display_name.strip():
            raise InvalidArgument("display_name is required")
        project_id = parse_id(request.project_id, "project_id")
        model_id = parse_id(request.model_id, "model_id")
        project = await self._projects.get(str(project_id))
        model = served_model(await self._models.get(str(model_id)))
        if model.locale != project.locale:
            raise InvalidArgument(f"model {model_id} is {model.locale}; project {project_id} is {project.locale}")
        endpoint_id = uuid.uuid4()
        subscription = uuid.UUID(subscription_id())
        async with self._pool.acquire() as conn, conn.transaction():
            await repo.upsert_served_model(conn, model)
            await repo.insert_endpoint(
                conn,
                endpoint_id=endpoint_id,
                subscription_id=subscription,
                project_id=project_id,
                display_name=request.display_name.strip(),
                description=request.description,
                locale=project.locale,
                model_id=model.model_id,
                logging_enabled=request.logging_enabled,
                custom_properties=dict(request.custom_properties),
            )
            change_id = await repo.insert_change(conn, endpoint_id, model.model_id)
        failure = await self._try_loading(endpoint_id, model)
        async with self._pool.acquire() as conn, conn.transaction():
            await repo.finish_change(conn, change_id, "Failed" if failure else "Succeeded", failure)
            await repo.set_status(conn, endpoint_id, "Failed" if failure else "Succeeded")
            if not failure:
                event = make_event(
                    "endpoint.created",
                    endpoint_event(str(endpoint_id), model.model_id),
                    source=SERVICE,
                    subscription_id=str(subscription),
                )
                await enqueue(conn, event)
        if not failure:
            await self._switch(endpoint_id, model, revision=0)
        return convert.endpoint(await self._row(endpoint_id))

    async def GetEndpoint(self, request: pb.GetEndpointRequest, context: Context) -> pb.Endpoint:
        return convert.endpoint(await self._row(parse_id(request.endpoint_id, "endpoint_id")))

    async def ListEndpoints(self, request: pb.ListEndpointsRequest, context: Context) -> pb.ListEndpointsResponse:
        project_id = parse_id(request.project_id, "project_id")
        await self._projects.get(str(project_id))
        limit, offset = page_window(request.page_size, request.page_token)
        async with self._pool.acquire() as conn:
            rows = await repo.list_endpoints(conn, project_id, uuid.UUID(subscription_id()), limit, offset)
        return pb.ListEndpointsResponse(
            endpoints=[convert.endpoint(r) for r in rows], **page_fields(rows, limit, offset)
        )

    async def UpdateEndpoint(self, request: pb.UpdateEndpointRequest, context: Context) -> pb.Endpoint:
        endpoint_id = parse_id(request.endpoint_id, "endpoint_id")
        row = await self._row(endpoint_id)
        display_name = request.display_name.strip() if request.HasField("display_name") else None
        if display_name == "":
            raise InvalidArgument("display_name must not be empty")
        description = request.description if request.HasField("description") else None
        if display_name is not None or description is not None:
            async with self._pool.acquire() as conn:
                await repo.update_text(conn, endpoint_id, display_name, description)
        if request.HasField("model_id"):
            await self._change_model(row, parse_id(request.model_id, "model_id"))
        return convert.endpoint(await self._row(endpoint_id))

    async def _change_model(self, row: asyncpg.Record, model_id: uuid.UUID) -> None:
        endpoint_id: uuid.UUID = row["id"]
        model = served_model(await self._models.get(str(model_id)))
        if model.locale != row["locale"]:
            raise InvalidArgument(f"model {model_id} is {model.locale}; endpoint {endpoint_id} is {row['locale']}")
        async with self._pool.acquire() as conn, conn.transaction():
            await repo.upsert_served_model(conn, model)
            change_id = await repo.insert_change(conn, endpoint_id, model.model_id)
        failure = await self._try_loading(endpoint_id, model)
        async with self._pool.acquire() as conn, conn.transaction():
            await repo.finish_change(conn, change_id, "Failed" if failure else "Succeeded", failure)
            if failure:
                return
            revision = await repo.set_model(conn, endpoint_id, model.model_id)
            event = make_event(
                "endpoint.model_changed",
                endpoint_event(str(endpoint_id), model.model_id),
                source=SERVICE,
                subscription_id=str(row["subscription_id"]),
            )
            await enqueue(conn, event)
        await self._switch(endpoint_id, model, revision)

    async def DeleteEndpoint(self, request: pb.DeleteEndpointRequest, context: Context) -> Empty:
        endpoint_id = parse_id(request.endpoint_id, "endpoint_id")
        row = await self._row(endpoint_id)
        async with self._pool.acquire() as conn, conn.transaction():
            await repo.delete_endpoint(conn, endpoint_id, uuid.UUID(subscription_id()))
            event = make_event(
                "endpoint.deleted",
                endpoint_event(str(endpoint_id), str(row["model_id"])),
                source=SERVICE,
                subscription_id=subscription_id(),
            )
            await enqueue(conn, event)
        await self._router.remove(str(endpoint_id))
        return Empty()
