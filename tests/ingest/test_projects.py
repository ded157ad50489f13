"""Projects: create, read, change, list and delete them; keys; one subscription never sees another's."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import grpc
import pytest

from attune.ingest.v1 import ingest_pb2 as pb
from common.logs import CORRELATION_HEADER
from ingest import repository as repo
from tests.ingest.client import (
    dataset_files,
    dataset_report,
    new_project,
    read_file,
    upload,
    upload_stream,
    wait_until_done,
)
from tests.ingest.fixtures import Client

pytestmark = pytest.mark.integration


async def refused(call: Awaitable[object]) -> grpc.aio.AioRpcError:
    """The error a call ends with (it must end with one)."""
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call
    return error.value


async def test_project_is_created_read_updated_and_deleted(alice: Client) -> None:
    request = pb.CreateProjectRequest(
        display_name="  pharmacy calls  ",
        description="phone orders",
        locale="en-US",
        custom_properties={"team": "retail"},
    )
    created = await alice.projects.CreateProject(request, metadata=alice.metadata)
    assert uuid.UUID(created.id)
    assert (created.display_name, created.description, created.locale) == ("pharmacy calls", "phone orders", "en-US")
    assert dict(created.custom_properties) == {"team": "retail"}
    assert created.create_time.ToDatetime() <= created.update_time.ToDatetime()

    fetched = await alice.projects.GetProject(pb.GetProjectRequest(project_id=created.id), metadata=alice.metadata)
    assert fetched == created

    renamed = await alice.projects.UpdateProject(
        pb.UpdateProjectRequest(project_id=created.id, display_name="pharmacy orders"), metadata=alice.metadata
    )
    assert (renamed.display_name, renamed.description, renamed.locale) == ("pharmacy orders", "phone orders", "en-US")
    described = await alice.projects.UpdateProject(
        pb.UpdateProjectRequest(project_id=created.id, description="refill requests by phone"),
        metadata=alice.metadata,
    )
    assert (described.display_name, described.description) == ("pharmacy orders", "refill requests by phone")
    assert described.create_time == created.create_time
    assert described.update_time.ToDatetime() >= created.update_time.ToDatetime()
    fetched = await alice.projects.GetProject(pb.GetProjectRequest(project_id=created.id), metadata=alice.metadata)
    assert fetched == described

    await alice.projects.DeleteProject(pb.DeleteProjectRequest(project_id=created.id), metadata=alice.metadata)
    gone = await refused(
        alice.projects.GetProject(pb.GetProjectRequest(project_id=created.id), metadata=alice.metadata)
    )
    assert gone.code() == grpc.StatusCode.NOT_FOUND
    listed = await alice.projects.ListProjects(pb.ListProjectsRequest(), metadata=alice.metadata)
    assert (list(listed.projects), listed.total_size) == ([], 0)


async def test_projects_are_listed_in_pages(alice: Client) -> None:
    names = [f"domain {i}" for i in range(5)]
    for name in names:
        await new_project(alice, name)

    pages: list[pb.ListProjectsResponse] = []
    token = ""
    while True:
        page = await alice.projects.ListProjects(
            pb.ListProjectsRequest(page_size=2, page_token=token), metadata=alice.metadata
        )
        pages.append(page)
        token = page.next_page_token
        if not token or len(pages) > 5:
            break

    assert [len(p.projects) for p in pages] == [2, 2, 1]
    assert [p.total_size for p in pages] == [5, 5, 5]
    assert all(p.next_page_token for p in pages[:-1])
    assert [p.display_name for page in pages for p in page.projects] == names


@pytest.mark.parametrize("locale", ["", "english", "en_US", "EN-us", "en-US; drop table"])
async def test_project_needs_a_locale_like_en_us(alice: Client, locale: str) -> None:
    request = pb.CreateProjectRequest(display_name="pharmacy calls", locale=locale)
    error = await refused(alice.projects.CreateProject(request, metadata=alice.metadata))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "locale" in (error.details() or "")
    listed = await alice.projects.ListProjects(pb.ListProjectsRequest(), metadata=alice.metadata)
    assert listed.total_size == 0


@pytest.mark.parametrize("display_name", ["", "   "])
async def test_project_needs_a_display_name(alice: Client, display_name: str) -> None:
    create = pb.CreateProjectRequest(display_name=display_name, locale="en-US")
    error = await refused(alice.projects.CreateProject(create, metadata=alice.metadata))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "display_name" in (error.details() or "")

    project = await new_project(alice, "pharmacy calls")
    update = pb.UpdateProjectRequest(project_id=project.id, display_name=display_name)
    error = await refused(alice.projects.UpdateProject(update, metadata=alice.metadata))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    fetched = await alice.projects.GetProject(pb.GetProjectRequest(project_id=project.id), metadata=alice.metadata)
    assert fetched.display_name == "pharmacy calls"


async def test_project_with_datasets_cannot_be_deleted_until_they_are(alice: Client) -> None:
    project = await new_project(alice)
    dataset = await wait_until_done(alice, (await upload(alice, project.id, pb.LANGUAGE, b"refill please\n")).id)

    error = await refused(
        alice.projects.DeleteProject(pb.DeleteProjectRequest(project_id=project.id), metadata=alice.metadata)
    )
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "datasets" in (error.details() or "")
    assert await alice.projects.GetProject(pb.GetProjectRequest(project_id=project.id), metadata=alice.metadata)

    await alice.datasets.DeleteDataset(pb.DeleteDatasetRequest(dataset_id=dataset.id), metadata=alice.metadata)
    await alice.projects.DeleteProject(pb.DeleteProjectRequest(project_id=project.id), metadata=alice.metadata)
    listed = await alice.projects.ListProjects(pb.ListProjectsRequest(), metadata=alice.metadata)
    assert listed.total_size == 0


# -- keys ----------------------------------------------------------------------------------------


def wrong_secret(key: str) -> str:
    """The same key id with another (well-formed) secret."""
    prefix, secret = key.rsplit("_", 1)
    return f"{prefix}_{'A' if secret[0] != 'A' else 'B'}{secret[1:]}"


@pytest.mark.parametrize(
    ("metadata", "says"),
    [
        ((), "missing API key"),
        ((("x-api-key", ""),), "missing API key"),
        ((("x-api-key", "not-a-key"),), "invalid API key"),
        ((("authorization", "Basic dXNlcjpwYXNz"),), "missing API key"),
        ((("x-api-key", "atn_0123456789abcdef_" + "A" * 43),), "invalid API key"),
    ],
    ids=["none", "empty", "malformed", "basic-auth", "unknown-key-id"],
)
async def test_calls_without_a_valid_key_are_unauthenticated(
    alice: Client, metadata: tuple[tuple[str, str], ...], says: str
) -> None:
    error = await refused(alice.projects.ListProjects(pb.ListProjectsRequest(), metadata=metadata))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert says in (error.details() or "")


async def test_a_key_with_the_wrong_secret_or_revoked_is_unauthenticated(
    alice: Client, ingest_pool: asyncpg.Pool
) -> None:
    project = await new_project(alice)
    get = pb.GetProjectRequest(project_id=project.id)

    error = await refused(alice.projects.GetProject(get, metadata=(("x-api-key", wrong_secret(alice.key)),)))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    # The same key works as a bearer token, until it is revoked.
    assert await alice.projects.GetProject(get, metadata=(("authorization", f"Bearer {alice.key}"),)) == project

    key_id = alice.key.split("_")[1]
    async with ingest_pool.acquire() as conn:
        assert await repo.revoke_key(conn, key_id)
    error = await refused(alice.projects.GetProject(get, metadata=alice.metadata))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_api_keys_are_stored_only_as_hashes(alice: Client, bob: Client, ingest_pool: asyncpg.Pool) -> None:
    async with ingest_pool.acquire() as conn:
        rows = await conn.fetch("SELECT * FROM ingest.api_keys")
    assert {str(r["subscription_id"]) for r in rows} == {alice.subscription_id, bob.subscription_id}
    stored = [str(value) for row in rows for value in row.values()]
    for key in (alice.key, bob.key):
        secret = key.rsplit("_", 1)[1]
        assert all(key not in value and secret not in value for value in stored)


async def test_the_correlation_id_comes_back_in_the_trailing_metadata(alice: Client) -> None:
    call = alice.projects.ListProjects(pb.ListProjectsRequest(), metadata=alice.metadata)
    await call
    generated = dict(await call.trailing_metadata() or ()).get(CORRELATION_HEADER)
    assert generated

    mine = f"support-ticket-{uuid.uuid4().hex}"
    call = alice.projects.ListProjects(pb.ListProjectsRequest(), metadata=(*alice.metadata, (CORRELATION_HEADER, mine)))
    await call
    assert dict(await call.trailing_metadata() or ()).get(CORRELATION_HEADER) == mine

    # A refused call carries it too: it is what a user quotes when asking why.
    missing = pb.GetProjectRequest(project_id=str(uuid.uuid4()))
    error = await refused(alice.projects.GetProject(missing, metadata=(*alice.metadata, (CORRELATION_HEADER, mine))))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert dict(error.trailing_metadata() or ()).get(CORRELATION_HEADER) == mine

    # And a client-streaming upload.
    project = await new_project(alice)
    stream = upload_stream(
        pb.DatasetMetadata(project_id=project.id, display_name="text", kind=pb.LANGUAGE), b"refill please\n"
    )
    upload_call = alice.datasets.UploadDataset(stream, metadata=(*alice.metadata, (CORRELATION_HEADER, mine)))
    dataset = await upload_call
    assert dict(await upload_call.trailing_metadata() or ()).get(CORRELATION_HEADER) == mine
    await wait_until_done(alice, dataset.id)


# -- one subscription never sees another's ---------------------------------------------------------


async def test_another_subscription_can_neither_see_nor_touch_a_project_or_its_data(alice: Client, bob: Client) -> None:
    project = await new_project(alice)
    text = b"take one tablet twice a day\nrefill my prescription\n"
    dataset = await wait_until_done(alice, (await upload(alice, project.id, pb.LANGUAGE, text)).id)
    assert pb.Status.Name(dataset.status) == "SUCCEEDED", dataset.error
    files_before = await dataset_files(alice, dataset.id)
    corpus = next(f for f in files_before if f.kind == pb.TEXT)
    bobs_own = await new_project(bob, "bob's domain")

    as_bob = bob.metadata
    not_found: dict[str, Callable[[], Awaitable[object]]] = {
        "GetProject": lambda: bob.projects.GetProject(pb.GetProjectRequest(project_id=project.id), metadata=as_bob),
        "UpdateProject": lambda: bob.projects.UpdateProject(
            pb.UpdateProjectRequest(project_id=project.id, display_name="taken over", description="mine now"),
            metadata=as_bob,
        ),
        "DeleteProject": lambda: bob.projects.DeleteProject(
            pb.DeleteProjectRequest(project_id=project.id), metadata=as_bob
        ),
        "UploadDataset": lambda: bob.datasets.UploadDataset(
            upload_stream(
                pb.DatasetMetadata(project_id=project.id, display_name="intruder", kind=pb.LANGUAGE), b"hello\n"
            ),
            metadata=as_bob,
        ),
        "ListDatasets": lambda: bob.datasets.ListDatasets(
            pb.ListDatasetsRequest(project_id=project.id), metadata=as_bob
        ),
        "GetDataset": lambda: bob.datasets.GetDataset(pb.GetDatasetRequest(dataset_id=dataset.id), metadata=as_bob),
        "ListDatasetFiles": lambda: dataset_files(bob, dataset.id),
        "GetDatasetReport": lambda: dataset_report(bob, dataset.id),
        "ListUtterances": lambda: bob.datasets.ListUtterances(
            pb.ListUtterancesRequest(dataset_id=dataset.id), metadata=as_bob
        ),
        "ReadFile": lambda: read_file(bob, corpus.id),
        "GetFileUrl": lambda: bob.datasets.GetFileUrl(pb.GetFileUrlRequest(file_id=corpus.id), metadata=as_bob),
        "DeleteDataset": lambda: bob.datasets.DeleteDataset(
            pb.DeleteDatasetRequest(dataset_id=dataset.id), metadata=as_bob
        ),
    }
    for method, call in not_found.items():
        error = await refused(call())
        assert error.code() == grpc.StatusCode.NOT_FOUND, (method, error.code(), error.details())

    bobs_list = await bob.projects.ListProjects(pb.ListProjectsRequest(), metadata=as_bob)
    assert [p.id for p in bobs_list.projects] == [bobs_own.id]
    assert bobs_list.total_size == 1

    # Alice's project, dataset and files are exactly as they were.
    assert await alice.projects.GetProject(pb.GetProjectRequest(project_id=project.id), metadata=alice.metadata) == (
        project
    )
    alices_list = await alice.projects.ListProjects(pb.ListProjectsRequest(), metadata=alice.metadata)
    assert [p.id for p in alices_list.projects] == [project.id]
    datasets = await alice.datasets.ListDatasets(pb.ListDatasetsRequest(project_id=project.id), metadata=alice.metadata)
    assert [d.id for d in datasets.datasets] == [dataset.id]
    assert await alice.datasets.GetDataset(pb.GetDatasetRequest(dataset_id=dataset.id), metadata=alice.metadata) == (
        dataset
    )
    assert await dataset_files(alice, dataset.id) == files_before
    assert await read_file(alice, corpus.id) == text
