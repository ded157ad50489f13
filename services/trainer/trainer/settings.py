"""Trainer settings: the shared ones plus where ingest answers, read from `ATTUNE_TRAINER_*`."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from common.settings import ServiceSettings

SCHEMA = "trainer"
SERVICE = "trainer"


class TrainerSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ATTUNE_TRAINER_", extra="ignore")

    grpc_port: int = 50052
    # Ingest authenticates API keys for every service (IdentityService.WhoAmI).
    ingest_address: str = "127.0.0.1:50051"
    # Where packages are built before they are uploaded.
    work_dir: str = "/tmp"
