"""Model packages: a directory with a `manifest.json` and the files that differ from the base.

The manifest names the engine, the locale, the model and its base model, lists every file
with its sha256 and size, and says where each engine resource comes from. A resource
reference is either a relative path inside the package or `bundled:<path>`, a path inside
the models the engine ships with (for PocketSphinx, `pocketsphinx.get_model_path()`), so
the base package holds no files at all and a custom package holds only what adaptation
produced. Packages travel as deterministic tar.gz archives; `ModelCache` fetches them
from object storage once and unpacks them atomically.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

from common.wire import iso_utc

if TYPE_CHECKING:
    from common.blobs import BlobStore

MANIFEST = "manifest.json"
FORMAT = 1
ENGINES = ("pocketsphinx",)
KINDS = ("base", "custom")
BUNDLED = "bundled:"
RESOURCE_KEYS = ("acousticModel", "languageModel", "dictionary", "dictionaryAdditions", "mllr")
REQUIRED_RESOURCES = ("acousticModel", "languageModel", "dictionary")
_HASH_CHUNK = 1 << 20

Kind = Literal["base", "custom"]


class InvalidPackage(ValueError):
    """A package or package archive is unusable; the message says why."""


@dataclass(frozen=True)
class FileEntry:
    sha256: str
    size: int


@dataclass(frozen=True)
class Manifest:
    model_id: str
    base_model_id: str | None
    kind: Kind
    locale: str
    created: datetime
    # Keys from RESOURCE_KEYS; values are references (None for an absent optional one).
    resources: Mapping[str, str | None]
    files: Mapping[str, FileEntry] = field(default_factory=dict)
    engine: str = "pocketsphinx"

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "engine": self.engine,
            "locale": self.locale,
            "modelId": self.model_id,
            "baseModelId": self.base_model_id,
            "kind": self.kind,
            "created": iso_utc(self.created, "created"),
            "files": {p: {"sha256": e.sha256, "size": e.size} for p, e in sorted(self.files.items())},
            "resources": {key: self.resources.get(key) for key in RESOURCE_KEYS},
        }


def bundled_root(engine: str) -> Path:
    """Where `bundled:` references of `engine` point."""
    if engine == "pocketsphinx":
        import pocketsphinx

        return Path(pocketsphinx.get_model_path())
    raise InvalidPackage(f"unknown engine {engine!r}")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(_HASH_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _relative(reference: str, what: str) -> PurePosixPath:
    """A reference as a path that stays inside its root, or InvalidPackage."""
    path = PurePosixPath(reference)
    if not reference or path.is_absolute() or "\\" in reference or ".." in path.parts or reference.startswith("~"):
        raise InvalidPackage(f"{what} {reference!r} escapes the package directory")
    return path


def resolve_resource(package_dir: Path, manifest: Manifest, key: str) -> Path | None:
    """The file or directory a resource of the manifest refers to (None when absent)."""
    reference = manifest.resources.get(key)
    if reference is None:
        return None
    if reference.startswith(BUNDLED):
        inner = reference[len(BUNDLED) :]
        path = bundled_root(manifest.engine) / _relative(inner, f"bundled path of {key}")
        if not path.exists():
            raise InvalidPackage(f"{key}: unknown bundled path {inner!r} for engine {manifest.engine}")
        return path
    relative = _relative(reference, key)
    name = relative.as_posix()
    if name not in manifest.files and not any(f.startswith(name + "/") for f in manifest.files):
        raise InvalidPackage(f"{key}: {name!r} is not a file of the package")
    return package_dir / relative


def _scan_files(package_dir: Path) -> dict[str, FileEntry]:
    files = {}
    for path in sorted(package_dir.rglob("*")):
        if path.is_symlink():
            raise InvalidPackage(f"{path.relative_to(package_dir)} is a link; packages hold plain files only")
        if path.is_file() and path.relative_to(package_dir).as_posix() != MANIFEST:
            files[path.relative_to(package_dir).as_posix()] = FileEntry(file_sha256(path), path.stat().st_size)
    return files


def write_manifest(
    package_dir: Path,
    *,
    model_id: str,
    base_model_id: str | None,
    kind: Kind,
    created: datetime,
    resources: Mapping[str, str | None],
    locale: str = "en-US",
    engine: str = "pocketsphinx",
) -> Manifest:
    """Writes `manifest.json` listing every file now in `package_dir`; returns the manifest."""
    unknown = set(resources) - set(RESOURCE_KEYS)
    if unknown:
        raise ValueError(f"unknown resources: {sorted(unknown)}")
    manifest = Manifest(
        model_id=model_id,
        base_model_id=base_model_id,
        kind=kind,
        locale=locale,
        created=created,
        resources={key: resources.get(key) for key in RESOURCE_KEYS},
        files=_scan_files(package_dir),
        engine=engine,
    )
    _check_resources(package_dir, manifest)
    text = json.dumps(manifest.to_json(), indent=2, sort_keys=False) + "\n"
    (package_dir / MANIFEST).write_text(text, encoding="utf-8")
    return manifest


def bundled_base_package(dest_dir: Path, model_id: str, created: datetime) -> Manifest:
    """The base model that ships with PocketSphinx: a manifest and no files."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    return write_manifest(
        dest_dir,
        model_id=model_id,
        base_model_id=None,
        kind="base",
        created=created,
        resources={
            "acousticModel": "bundled:en-us/en-us",
            "languageModel": "bundled:en-us/en-us.lm.bin",
            "dictionary": "bundled:en-us/cmudict-en-us.dict",
        },
    )


def read_manifest(package_dir: Path, *, verify_files: bool = True) -> Manifest:
    """The validated manifest of a package directory, or InvalidPackage saying what is wrong.

    With `verify_files` every listed file is hashed; without, only its presence and size
    are checked (for a package whose archive was just verified).
    """
    path = package_dir / MANIFEST
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidPackage(f"missing {MANIFEST}") from None
    except (OSError, ValueError) as exc:
        raise InvalidPackage(f"unreadable {MANIFEST}: {exc}") from None
    manifest = _parse(raw)
    for name, entry in manifest.files.items():
        file = package_dir / _relative(name, "file")
        if not file.is_file() or file.is_symlink():
            raise InvalidPackage(f"missing file {name}")
        size = file.stat().st_size
        if size != entry.size:
            raise InvalidPackage(f"size mismatch for {name}: manifest says {entry.size} bytes, the file has {size}")
        if verify_files and file_sha256(file) != entry.sha256:
            raise InvalidPackage(f"sha256 mismatch for {name}")
    _check_resources(package_dir, manifest)
    return manifest


def _check_resources(package_dir: Path, manifest: Manifest) -> None:
    for key in REQUIRED_RESOURCES:
        if not manifest.resources.get(key):
            raise InvalidPackage(f"resource {key} is required")
    for key in RESOURCE_KEYS:
        resolve_resource(package_dir, manifest, key)


def _parse(raw: object) -> Manifest:
    if not isinstance(raw, dict):
        raise InvalidPackage(f"{MANIFEST} is not a JSON object")
    if raw.get("format") != FORMAT:
        raise InvalidPackage(f"unsupported manifest format {raw.get('format')!r}")
    if raw.get("engine") not in ENGINES:
        raise InvalidPackage(f"unknown engine {raw.get('engine')!r}")
    if raw.get("kind") not in KINDS:
        raise InvalidPackage(f"unknown kind {raw.get('kind')!r}")
    model_id, base, locale = raw.get("modelId"), raw.get("baseModelId"), raw.get("locale")
    if not isinstance(model_id, str) or not model_id:
        raise InvalidPackage("modelId must be a non-empty string")
    if base is not None and not isinstance(base, str):
        raise InvalidPackage("baseModelId must be a string or null")
    if not isinstance(locale, str) or not locale:
        raise InvalidPackage("locale must be a non-empty string")
    try:
        created = datetime.fromisoformat(str(raw.get("created")))
    except ValueError:
        raise InvalidPackage(f"created is not an ISO-8601 time: {raw.get('created')!r}") from None
    if created.utcoffset() is None:
        raise InvalidPackage("created must carry a time zone (UTC)")
    files, resources = raw.get("files"), raw.get("resources")
    if not isinstance(files, dict) or not isinstance(resources, dict):
        raise InvalidPackage("files and resources must be JSON objects")
    entries = {}
    for name, entry in files.items():
        _relative(name, "file")
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("sha256"), str)
            or not isinstance(entry.get("size"), int)
        ):
            raise InvalidPackage(f"file entry for {name} needs sha256 and size")
        entries[name] = FileEntry(entry["sha256"], entry["size"])
    unknown = set(resources) - set(RESOURCE_KEYS)
    if unknown:
        raise InvalidPackage(f"unknown resources {sorted(unknown)}")
    if any(v is not None and not isinstance(v, str) for v in resources.values()):
        raise InvalidPackage("resource references must be strings or null")
    return Manifest(
        model_id=model_id,
        base_model_id=base,
        kind=raw["kind"],
        locale=locale,
        created=created.astimezone(UTC),
        resources={key: resources.get(key) for key in RESOURCE_KEYS},
        files=entries,
        engine=raw["engine"],
    )


def pack(package_dir: Path, out_path: Path) -> str:
    """Writes the package as tar.gz (same bytes for the same package); returns its sha256."""
    manifest = read_manifest(package_dir)
    members = [MANIFEST, *sorted(manifest.files)]
    with out_path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as zipped:
        with tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as archive:
            for name in members:
                source = package_dir / name
                info = tarfile.TarInfo(name)
                info.size = source.stat().st_size
                info.mode = 0o644
                info.mtime = 0
                with source.open("rb") as stream:
                    archive.addfile(info, stream)
    return file_sha256(out_path)


def unpack(archive: Path | BinaryIO, dest_dir: Path) -> Manifest:
    """Extracts a package archive into `dest_dir` and validates it.

    Only regular files and directories with plain relative names are accepted: absolute
    names, `..`, links and devices are refused before anything is written.
    """
    try:
        opened = (
            tarfile.open(archive, mode="r:gz")
            if isinstance(archive, Path)
            else tarfile.open(fileobj=archive, mode="r:gz")
        )
    except (tarfile.TarError, OSError) as exc:
        raise InvalidPackage(f"not a package archive: {exc}") from None
    with opened as tar:
        try:
            members = tar.getmembers()
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise InvalidPackage(f"corrupt package archive: {exc}") from None
        for member in members:
            _relative(member.name, "archive member")
            if not (member.isfile() or member.isdir()):
                raise InvalidPackage(f"archive member {member.name!r} is not a regular file")
        dest_dir.mkdir(parents=True, exist_ok=True)
        for member in members:
            target = dest_dir / member.name
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            if source is None:
                raise InvalidPackage(f"archive member {member.name!r} has no content")
            with source, target.open("wb") as out:
                shutil.copyfileobj(source, out)
    return read_manifest(dest_dir)


def _safe_name(model_id: str) -> str:
    if not model_id or not all(c.isalnum() or c in "-_." for c in model_id) or model_id.startswith("."):
        raise ValueError(f"model id {model_id!r} cannot name a cache directory")
    return model_id


class ModelCache:
    """Model packages fetched from object storage into a local directory, each once.

    A package lives in `<cache_dir>/<model_id>-<sha256>`; it is unpacked into a temporary
    directory and renamed into place, so a half-unpacked package is never seen, also not
    by another process sharing the cache directory.
    """

    def __init__(self, blobs: BlobStore, cache_dir: Path | str) -> None:
        self._blobs = blobs
        self._dir = Path(cache_dir)
        self._locks: dict[str, asyncio.Lock] = {}

    def path_for(self, model_id: str, sha256: str) -> Path:
        return self._dir / f"{_safe_name(model_id)}-{sha256.lower()}"

    async def ensure(self, model_id: str, object_key: str, sha256: str) -> Path:
        """The unpacked package directory, downloading and verifying the archive if needed."""
        target = self.path_for(model_id, sha256)
        lock = self._locks.setdefault(target.name, asyncio.Lock())
        async with lock:
            if target.is_dir():
                return target
            await asyncio.to_thread(self._dir.mkdir, parents=True, exist_ok=True)
            work = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix=".partial-", dir=self._dir))
            try:
                archive = work / "package.tar.gz"
                await self._blobs.download(object_key, str(archive))
                await asyncio.to_thread(self._install, archive, work / "package", sha256, target)
            finally:
                await asyncio.to_thread(shutil.rmtree, work, ignore_errors=True)
        return target

    @staticmethod
    def _install(archive: Path, unpacked: Path, sha256: str, target: Path) -> None:
        actual = file_sha256(archive)
        if actual != sha256.lower():
            raise InvalidPackage(f"archive sha256 mismatch: expected {sha256}, got {actual}")
        unpack(archive, unpacked)
        try:
            os.rename(unpacked, target)
        except OSError:
            # Another process installed the same package first; theirs is as good as ours.
            if not target.is_dir():
                raise
