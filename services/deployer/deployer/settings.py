"""Deployer settings: the shared ones plus serving limits, read from `ATTUNE_DEPLOYER_*`."""

from __future__ import annotations

import os
import socket

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from common.settings import ServiceSettings

SCHEMA = "deployer"
SERVICE = "deployer"


class DeployerSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ATTUNE_DEPLOYER_", extra="ignore")

    grpc_port: int = 50053
    ingest_address: str = "127.0.0.1:50051"
    trainer_address: str = "127.0.0.1:50052"
    # Unpacked model packages, shared by this replica's decoder processes.
    model_cache_dir: str = "/tmp/attune-models"
    # Decoder worker processes; 0 means one per core.
    decoder_processes: int = 0
    # Short-audio limit of one Recognize call (the API's is 60 s) and of one stream.
    max_recognize_seconds: float = 60.0
    max_stream_seconds: float = 600.0
    # Names this replica's own event queue; every replica hears every endpoint change.
    replica_id: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
