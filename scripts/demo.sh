#!/usr/bin/env bash
# The main job on a fresh machine: install, start the stack, migrate, run the ingest service,
# create a subscription and run the ingest demo against it (upload real recordings, print
# the dataset report). The service is stopped again at the end.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
bash scripts/infra.sh

export ATTUNE_INGEST_GRPC_HOST=127.0.0.1
export ATTUNE_INGEST_GRPC_PORT="${ATTUNE_INGEST_GRPC_PORT:-50051}"
export ATTUNE_INGEST_SPOOL_DIR="$ROOT/.run/spool"
export ATTUNE_INGEST_LOG_LEVEL="${ATTUNE_INGEST_LOG_LEVEL:-WARNING}"
mkdir -p "$ATTUNE_INGEST_SPOOL_DIR"
PY=.venv/bin/python

$PY -m ingest.migrate
key=$($PY -m ingest.admin create-subscription "demo" | $PY -c 'import json, sys; print(json.load(sys.stdin)["apiKey"])')

$PY -m ingest 2> "$ROOT/.run/ingest.log" &
service=$!
trap 'kill -TERM $service 2>/dev/null; wait $service 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
    $PY -m common.healthcheck "127.0.0.1:$ATTUNE_INGEST_GRPC_PORT" >/dev/null 2>&1 && break
    sleep 0.5
done
$PY scripts/demo_ingest.py --address "127.0.0.1:$ATTUNE_INGEST_GRPC_PORT" --key "$key"
