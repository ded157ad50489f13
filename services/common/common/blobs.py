"""Object storage over the S3 API (MinIO in production, any S3 server locally).

The `minio` client is blocking, so every call runs in a worker thread. Bodies stream:
uploads read from a file-like object in parts, downloads go to a file or come back in
chunks; nothing holds a whole object in memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import BinaryIO

from minio import Minio
from minio.deleteobjects import DeleteObject
from minio.error import S3Error

from common.settings import ServiceSettings

PART_SIZE = 16 * 1024 * 1024
CHUNK_SIZE = 256 * 1024


class BlobStore:
    def __init__(self, client: Minio, bucket: str) -> None:
        self._client = client
        self.bucket = bucket

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> BlobStore:
        client = Minio(
            settings.s3_endpoint,
            access_key=settings.s3_access_key.get_secret_value(),
            secret_key=settings.s3_secret_key.get_secret_value(),
            secure=settings.s3_secure,
            region=settings.s3_region,
        )
        return cls(client, settings.s3_bucket)

    async def ensure_bucket(self) -> None:
        def create() -> None:
            if not self._client.bucket_exists(bucket_name=self.bucket):
                self._client.make_bucket(bucket_name=self.bucket)

        await asyncio.to_thread(create)

    async def put_stream(
        self, key: str, stream: BinaryIO, length: int = -1, content_type: str = "application/octet-stream"
    ) -> None:
        """Uploads from `stream`; with length -1 it goes up in multipart parts."""
        await asyncio.to_thread(
            self._client.put_object,
            bucket_name=self.bucket,
            object_name=key,
            data=stream,
            length=length,
            content_type=content_type,
            part_size=PART_SIZE if length < 0 else 0,
        )

    async def put_file(self, key: str, path: str, content_type: str = "application/octet-stream") -> None:
        await asyncio.to_thread(
            self._client.fput_object,
            bucket_name=self.bucket,
            object_name=key,
            file_path=path,
            content_type=content_type,
            part_size=PART_SIZE,
        )

    async def download(self, key: str, path: str) -> None:
        await asyncio.to_thread(self._client.fget_object, bucket_name=self.bucket, object_name=key, file_path=path)

    async def read_chunks(self, key: str, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
        response = await asyncio.to_thread(self._client.get_object, bucket_name=self.bucket, object_name=key)
        try:
            while chunk := await asyncio.to_thread(response.read, chunk_size):
                yield chunk
        finally:
            response.close()
            response.release_conn()

    async def size(self, key: str) -> int | None:
        """The object's size, or None when there is no such object."""
        try:
            stat = await asyncio.to_thread(self._client.stat_object, bucket_name=self.bucket, object_name=key)
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                return None
            raise
        return stat.size

    async def presigned_url(self, key: str, expires: timedelta) -> str:
        return await asyncio.to_thread(
            self._client.presigned_get_object, bucket_name=self.bucket, object_name=key, expires=expires
        )

    async def list_keys(self, prefix: str) -> list[str]:
        def collect() -> list[str]:
            objects = self._client.list_objects(bucket_name=self.bucket, prefix=prefix, recursive=True)
            return [o.object_name for o in objects if o.object_name]

        return await asyncio.to_thread(collect)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._client.remove_object, bucket_name=self.bucket, object_name=key)

    async def delete_prefix(self, prefix: str) -> int:
        """Deletes every object under `prefix`; returns how many there were."""
        keys = await self.list_keys(prefix)

        def remove() -> None:
            errors = list(
                self._client.remove_objects(bucket_name=self.bucket, delete_object_list=[DeleteObject(k) for k in keys])
            )
            if errors:
                raise RuntimeError(f"could not delete {len(errors)} objects under {prefix}: {errors[0]}")

        if keys:
            await asyncio.to_thread(remove)
        return len(keys)
