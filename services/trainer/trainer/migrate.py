"""`python -m trainer.migrate`: brings the trainer schema up to date (run before the service)."""

from __future__ import annotations

import asyncio

from common.migrations import run_migrations
from trainer.settings import SCHEMA, SERVICE, TrainerSettings

if __name__ == "__main__":
    asyncio.run(run_migrations(TrainerSettings(), service=SERVICE, schema=SCHEMA, package="trainer"))
