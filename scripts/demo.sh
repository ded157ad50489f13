#!/usr/bin/env bash
# The main job on a fresh machine: install, start the stack, migrate, run the services
# (ingest, trainer, deployer), create a subscription and walk the journey so far: upload
# real recordings, read the dataset report, create an endpoint on the base model and
# recognise the recordings through it. The services are stopped again at the end.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
bash scripts/infra.sh

PY=.venv/bin/python
RUN="$ROOT/.run"
mkdir -p "$RUN/spool" "$RUN/work" "$RUN/models"
for service in INGEST TRAINER DEPLOYER; do
    export "ATTUNE_${service}_GRPC_HOST=127.0.0.1"
    export "ATTUNE_${service}_LOG_LEVEL=${ATTUNE_LOG_LEVEL:-WARNING}"
done
export ATTUNE_INGEST_GRPC_PORT=50051 ATTUNE_TRAINER_GRPC_PORT=50052 ATTUNE_DEPLOYER_GRPC_PORT=50053
export ATTUNE_INGEST_SPOOL_DIR="$RUN/spool" ATTUNE_TRAINER_WORK_DIR="$RUN/work" ATTUNE_DEPLOYER_MODEL_CACHE_DIR="$RUN/models"

for service in ingest trainer deployer; do $PY -m "$service.migrate"; done
key=$($PY -m ingest.admin create-subscription "demo" | $PY -c 'import json, sys; print(json.load(sys.stdin)["apiKey"])')

pids=()
trap 'kill -TERM "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null || true' EXIT
start() {  # service port
    $PY -m "$1" 2> "$RUN/$1.log" &
    pids+=($!)
    for _ in $(seq 1 120); do
        $PY -m common.healthcheck "127.0.0.1:$2" >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    echo "demo: $1 did not start; see $RUN/$1.log" >&2
    return 1
}
start ingest 50051
start trainer 50052
start deployer 50053
$PY scripts/demo_journey.py --key "$key"
