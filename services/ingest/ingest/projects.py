"""ProjectService: a project is one domain in one locale; everything else belongs to one."""

from __future__ import annotations

import re
import uuid
from typing import Any, TypeAlias

import asyncpg
import grpc
from google.protobuf.empty_pb2 import Empty

from attune.events.v1 import events_pb2
from attune.ingest.v1 import ingest_pb2 as pb
from attune.ingest.v1 import ingest_pb2_grpc
from common.auth import subscription_id
from common.errors import FailedPrecondition, InvalidArgument, NotFound
from common.events import make_event
from common.outbox import enqueue
from common.paging import page_fields, page_window
from common.wire import parse_id
from ingest import convert
from ingest import repository as repo
from ingest.settings import SERVICE

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]
_LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Z][a-z]{3})?-[A-Z]{2}$")
MAX_CUSTOM_PROPERTIES = 10


def check_locale(locale: str) -> str:
    if not _LOCALE.match(locale):
        raise InvalidArgument(f"locale {locale!r} is not a BCP-47 locale like en-US")
    return locale


def check_custom_properties(properties: dict[str, str]) -> dict[str, str]:
    if len(properties) > MAX_CUSTOM_PROPERTIES:
        raise InvalidArgument(f"at most {MAX_CUSTOM_PROPERTIES} custom properties are allowed")
    for key, value in properties.items():
        if len(key) > 64 or len(value) > 256:
            raise InvalidArgument(f"custom property {key[:64]!r}: keys are at most 64 characters, values 256")
    return properties


def current_subscription() -> uuid.UUID:
    return uuid.UUID(subscription_id())


class ProjectServicer(ingest_pb2_grpc.ProjectServiceServicer):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def CreateProject(self, request: pb.CreateProjectRequest, context: Context) -> pb.Project:
        if not request.display_name.strip():
            raise InvalidArgument("display_name is required")
        locale = check_locale(request.locale)
        subscription = current_subscription()
        properties = check_custom_properties(dict(request.custom_properties))
        async with self._pool.acquire() as conn, conn.transaction():
            row = await repo.insert_project(
                conn, subscription, request.display_name.strip(), request.description, locale, properties
            )
            event = events_pb2.ProjectEvent(project_id=str(row["id"]), locale=locale)
            await enqueue(conn, make_event("project.created", event, source=SERVICE, subscription_id=str(subscription)))
        return convert.project(row)

    async def GetProject(self, request: pb.GetProjectRequest, context: Context) -> pb.Project:
        project_id = parse_id(request.project_id, "project_id")
        async with self._pool.acquire() as conn:
            row = await repo.get_project(conn, project_id, current_subscription())
        if row is None:
            raise NotFound(f"project {project_id} not found")
        return convert.project(row)

    async def ListProjects(self, request: pb.ListProjectsRequest, context: Context) -> pb.ListProjectsResponse:
        limit, offset = page_window(request.page_size, request.page_token)
        async with self._pool.acquire() as conn:
            rows = await repo.list_projects(conn, current_subscription(), limit, offset)
        return pb.ListProjectsResponse(projects=[convert.project(r) for r in rows], **page_fields(rows, limit, offset))

    async def UpdateProject(self, request: pb.UpdateProjectRequest, context: Context) -> pb.Project:
        project_id = parse_id(request.project_id, "project_id")
        display_name = request.display_name.strip() if request.HasField("display_name") else None
        if display_name == "":
            raise InvalidArgument("display_name must not be empty")
        description = request.description if request.HasField("description") else None
        subscription = current_subscription()
        async with self._pool.acquire() as conn, conn.transaction():
            row = await repo.update_project(conn, project_id, subscription, display_name, description)
            if row is None:
                raise NotFound(f"project {project_id} not found")
            event = events_pb2.ProjectEvent(project_id=str(project_id), locale=row["locale"])
            await enqueue(conn, make_event("project.updated", event, source=SERVICE, subscription_id=str(subscription)))
        return convert.project(row)

    async def DeleteProject(self, request: pb.DeleteProjectRequest, context: Context) -> Empty:
        project_id = parse_id(request.project_id, "project_id")
        subscription = current_subscription()
        async with self._pool.acquire() as conn, conn.transaction():
            row = await repo.get_project(conn, project_id, subscription)
            if row is None:
                raise NotFound(f"project {project_id} not found")
            if await repo.project_has_datasets(conn, project_id):
                raise FailedPrecondition(f"project {project_id} still has datasets; delete them first")
            await repo.delete_project(conn, project_id, subscription)
            event = events_pb2.ProjectEvent(project_id=str(project_id), locale=row["locale"])
            await enqueue(conn, make_event("project.deleted", event, source=SERVICE, subscription_id=str(subscription)))
        return Empty()
