"""Ingest settings: the shared ones plus upload limits, read from `ATTUNE_INGEST_*`."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from common.settings import ServiceSettings

SCHEMA = "ingest"
SERVICE = "ingest"


class IngestSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ATTUNE_INGEST_", extra="ignore")

    # Where uploads are spooled while they stream in (never held in memory).
    spool_dir: str = "/tmp"
    max_archive_bytes: int = 2 * 1024**3
    max_text_bytes: int = 200 * 1024**2
    max_pronunciation_bytes: int = 1024**2
    # Audio objects uploaded to storage at once while a dataset is processed.
    upload_concurrency: int = 4
