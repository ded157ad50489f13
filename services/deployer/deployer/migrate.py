"""`python -m deployer.migrate`: brings the deployer schema up to date (run before the service)."""

from __future__ import annotations

import asyncio

from common.migrations import run_migrations
from deployer.settings import SCHEMA, SERVICE, DeployerSettings

if __name__ == "__main__":
    asyncio.run(run_migrations(DeployerSettings(), service=SERVICE, schema=SCHEMA, package="deployer"))
