"""Settings every service reads from its environment, one prefix per service.

A service subclasses `ServiceSettings` and sets its own `env_prefix`, e.g.
`ATTUNE_INGEST_DATABASE_URL`. Nothing is read at import time: `main()` builds the object.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    database_url: SecretStr = SecretStr("postgresql://postgres@127.0.0.1:5432/attune")
    db_pool_min: int = 1
    db_pool_max: int = 10
    amqp_url: SecretStr = SecretStr("amqp://guest:guest@127.0.0.1:5672/")
    # Prefix of every exchange and queue name, so several installations (or test runs)
    # can share one broker without seeing each other's messages.
    amqp_namespace: str = "attune"
    s3_endpoint: str = "127.0.0.1:8333"
    s3_access_key: SecretStr = SecretStr("attune")
    s3_secret_key: SecretStr = SecretStr("attune-secret-key")
    s3_bucket: str = "attune"
    s3_secure: bool = False
    s3_region: str = "us-east-1"
    grpc_host: str = "[::]"
    grpc_port: int = 50051
    # How long in-flight calls may take to finish after SIGTERM.
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)
    # After SIGTERM, how long to keep serving while health says NOT_SERVING, so load
    # balancers stop routing here before new calls are refused.
    shutdown_drain_seconds: float = Field(default=0.0, ge=0)
    log_level: str = "INFO"
    # Shared by the services of one installation, so a job can act for the subscription
    # that owns it (see common.auth); unset means no service may act for a subscription.
    internal_token: SecretStr | None = None
    # Pins "now" for lifecycle rules (deprecation dates); unset means the real time.
    now: datetime | None = None

    @property
    def events_exchange(self) -> str:
        return f"{self.amqp_namespace}.events"

    def internal_token_text(self) -> str | None:
        return self.internal_token.get_secret_value() if self.internal_token else None

    def queue_name(self, service: str, purpose: str) -> str:
        return f"{self.amqp_namespace}.{service}.{purpose}"
