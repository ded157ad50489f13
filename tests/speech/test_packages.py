"""Model packages: manifests, archives, and fetching them from object storage once."""

from __future__ import annotations

import asyncio
import io
import json
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from minio import Minio

from common.blobs import BlobStore
from speech.packages import (
    MANIFEST,
    InvalidPackage,
    ModelCache,
    bundled_base_package,
    file_sha256,
    pack,
    read_manifest,
    unpack,
    write_manifest,
)
from tests.speech.test_engine import BUNDLED

CREATED = datetime(2025, 3, 1, 12, 30, tzinfo=UTC)


def custom_package(directory: Path) -> Path:
    """A package as adaptation would leave it: its own language model and pronunciations."""
    (directory / "lm").mkdir(parents=True)
    (directory / "lm" / "domain.lm").write_text("\\data\\\nngram 1=1\n", encoding="utf-8")
    (directory / "additions.dict").write_text("xeljanz Z EH L JH AE N Z\n", encoding="utf-8")
    write_manifest(
        directory,
        model_id="custom-1",
        base_model_id="base-en-us",
        kind="custom",
        created=CREATED,
        resources={**BUNDLED, "languageModel": "lm/domain.lm", "dictionaryAdditions": "additions.dict"},
    )
    return directory


def edit_manifest(directory: Path, **changes: object) -> None:
    path = directory / MANIFEST
    raw = json.loads(path.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if key in raw["resources"]:
            raw["resources"][key] = value
        else:
            raw[key] = value
    path.write_text(json.dumps(raw), encoding="utf-8")


def test_the_bundled_base_package_is_a_manifest_only(tmp_path: Path) -> None:
    bundled_base_package(tmp_path, "base-en-us", CREATED)
    assert [p.name for p in tmp_path.iterdir()] == [MANIFEST]
    raw = json.loads((tmp_path / MANIFEST).read_text(encoding="utf-8"))
    assert raw == {
        "format": 1,
        "engine": "pocketsphinx",
        "locale": "en-US",
        "modelId": "base-en-us",
        "baseModelId": None,
        "kind": "base",
        "created": "2025-03-01T12:30:00Z",
        "files": {},
        "resources": {**BUNDLED, "dictionaryAdditions": None, "mllr": None},
    }
    manifest = read_manifest(tmp_path)
    assert (manifest.model_id, manifest.kind, manifest.created) == ("base-en-us", "base", CREATED)


def test_a_custom_package_lists_its_files_with_hashes(tmp_path: Path) -> None:
    manifest = read_manifest(custom_package(tmp_path))
    assert sorted(manifest.files) == ["additions.dict", "lm/domain.lm"]
    entry = manifest.files["additions.dict"]
    assert entry.sha256 == file_sha256(tmp_path / "additions.dict")
    assert entry.size == (tmp_path / "additions.dict").stat().st_size


def test_pack_and_unpack_round_trip_deterministically(tmp_path: Path) -> None:
    package = custom_package(tmp_path / "package")
    first, second = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    digest = pack(package, first)
    assert digest == file_sha256(first)
    assert pack(package, second) == digest
    assert first.read_bytes() == second.read_bytes()
    with tarfile.open(first) as archive:
        assert archive.getnames() == [MANIFEST, "additions.dict", "lm/domain.lm"]

    manifest = unpack(first, tmp_path / "out")
    assert manifest == read_manifest(package)
    for name in manifest.files:
        assert (tmp_path / "out" / name).read_bytes() == (package / name).read_bytes()


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (
            lambda d: (d / "additions.dict").write_text("xeljanz Z EH L JH AE N S\n", encoding="utf-8"),
            "sha256 mismatch",
        ),
        (lambda d: (d / "lm" / "domain.lm").unlink(), "missing file lm/domain.lm"),
        (lambda d: (d / MANIFEST).unlink(), "missing manifest.json"),
        (lambda d: (d / MANIFEST).write_text("{not json", encoding="utf-8"), "unreadable manifest.json"),
        (lambda d: edit_manifest(d, engine="kaldi"), "unknown engine 'kaldi'"),
        (lambda d: edit_manifest(d, format=2), "unsupported manifest format"),
        (lambda d: edit_manifest(d, created="yesterday"), "created is not an ISO-8601 time"),
        (lambda d: edit_manifest(d, languageModel="../elsewhere/domain.lm"), "escapes the package directory"),
        (lambda d: edit_manifest(d, languageModel="/etc/passwd"), "escapes the package directory"),
        (lambda d: edit_manifest(d, languageModel="not-listed.lm"), "not a file of the package"),
        (lambda d: edit_manifest(d, dictionary="bundled:en-us/no-such.dict"), "unknown bundled path"),
        (lambda d: edit_manifest(d, dictionary="bundled:../../etc/passwd"), "escapes"),
        (lambda d: edit_manifest(d, acousticModel=None), "acousticModel is required"),
    ],
)
def test_a_damaged_package_is_refused_with_its_reason(tmp_path: Path, damage: object, reason: str) -> None:
    package = custom_package(tmp_path)
    damage(package)  # type: ignore[operator]
    with pytest.raises(InvalidPackage, match=reason):
        read_manifest(package)


def evil_archive(member: tarfile.TarInfo, content: bytes = b"x") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.addfile(member, io.BytesIO(content) if member.isfile() else None)
    return buffer.getvalue()


def symlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info


def hardlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.LNKTYPE, target
    return info


def regular(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = 1
    return info


@pytest.mark.parametrize(
    "member",
    [
        regular("/attune-evil"),
        regular("../attune-evil"),
        regular("lm/../../attune-evil"),
        symlink("lm", "/etc"),
        hardlink("passwd", "/etc/passwd"),
    ],
    ids=["absolute", "dot-dot", "nested-dot-dot", "symlink", "hardlink"],
)
def test_an_unsafe_archive_member_is_refused_before_anything_is_written(
    tmp_path: Path, member: tarfile.TarInfo
) -> None:
    dest = tmp_path / "nested" / "out"
    with pytest.raises(InvalidPackage, match=r"escapes|not a regular file"):
        unpack(io.BytesIO(evil_archive(member)), dest)
    assert not dest.exists()
    assert not (tmp_path / "nested" / "attune-evil").exists()


def test_an_archive_that_is_not_a_package_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidPackage, match="not a package archive"):
        unpack(io.BytesIO(b"PK\x03\x04 a zip, not a tar.gz"), tmp_path / "out")
    with pytest.raises(InvalidPackage, match=r"missing manifest\.json"):
        unpack(io.BytesIO(evil_archive(regular("readme.txt"))), tmp_path / "out")


class CountingBlobStore(BlobStore):
    def __init__(self, client: Minio, bucket: str) -> None:
        super().__init__(client, bucket)
        self.downloads = 0

    async def download(self, key: str, path: str) -> None:
        self.downloads += 1
        await super().download(key, path)


@pytest.fixture
async def store(s3_client: Minio, bucket: str) -> CountingBlobStore:
    blobs = CountingBlobStore(s3_client, bucket)
    await blobs.ensure_bucket()
    return blobs


@pytest.mark.integration
async def test_the_model_cache_downloads_a_package_once(tmp_path: Path, store: CountingBlobStore) -> None:
    archive = tmp_path / "package.tar.gz"
    digest = pack(custom_package(tmp_path / "package"), archive)
    await store.put_file("models/custom-1/package.tar.gz", str(archive))
    cache = ModelCache(store, tmp_path / "cache")

    paths = await asyncio.gather(
        *(cache.ensure("custom-1", "models/custom-1/package.tar.gz", digest) for _ in range(4))
    )
    assert len(set(paths)) == 1
    assert store.downloads == 1
    assert read_manifest(paths[0]).model_id == "custom-1"

    assert (
        await ModelCache(store, tmp_path / "cache").ensure("custom-1", "models/custom-1/package.tar.gz", digest)
        == (paths[0])
    )
    assert store.downloads == 1
    # Nothing half-done is left beside the package.
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [paths[0].name]


@pytest.mark.integration
async def test_the_model_cache_refuses_an_archive_with_the_wrong_hash(tmp_path: Path, store: CountingBlobStore) -> None:
    archive = tmp_path / "package.tar.gz"
    pack(custom_package(tmp_path / "package"), archive)
    await store.put_file("models/custom-1/package.tar.gz", str(archive))
    cache = ModelCache(store, tmp_path / "cache")

    with pytest.raises(InvalidPackage, match="archive sha256 mismatch"):
        await cache.ensure("custom-1", "models/custom-1/package.tar.gz", "0" * 64)
    assert list((tmp_path / "cache").iterdir()) == []
