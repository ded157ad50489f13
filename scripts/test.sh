#!/usr/bin/env bash
# The test command on a fresh machine: install, start PostgreSQL/RabbitMQ/S3 if needed, run
# the whole suite (unit, integration against the real services, stub drift, deploy checks).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
bash scripts/infra.sh
exec .venv/bin/python -m pytest "$@"
