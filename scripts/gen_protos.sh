#!/usr/bin/env bash
# Regenerates the Python stubs (messages, gRPC, and typing stubs) under gen/ from proto/.
# With --check, regenerates into a scratch folder and fails when gen/ differs.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-.venv/bin/python}"

out=gen
if [ "${1:-}" = "--check" ]; then
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
fi

mapfile -t protos < <(cd proto && find attune -name '*.proto' | sort)
[ "$out" = gen ] && find gen/attune \( -name '*_pb2*.py' -o -name '*_pb2*.pyi' \) -delete 2>/dev/null || true
mkdir -p "$out"
case "$out" in /*) dest="$out" ;; *) dest="$ROOT/$out" ;; esac
(cd proto && "$ROOT/$PY" -m grpc_tools.protoc -I . \
    --python_out="$dest" --grpc_python_out="$dest" \
    --mypy_out="$dest" --mypy_grpc_out="$dest" \
    --plugin=protoc-gen-mypy="$ROOT/.venv/bin/protoc-gen-mypy" \
    --plugin=protoc-gen-mypy_grpc="$ROOT/.venv/bin/protoc-gen-mypy_grpc" \
    "${protos[@]}")
# Every folder on the way is a package, so `from attune.ingest.v1 import ingest_pb2` works.
find "$out/attune" -type d -exec sh -c 'for d; do [ -f "$d/__init__.py" ] || : > "$d/__init__.py"; done' _ {} +

if [ "$out" != gen ]; then
    if ! diff -r -q -x __pycache__ gen/attune "$out/attune"; then
        echo "gen/ is stale: run scripts/gen_protos.sh and commit the result" >&2
        exit 1
    fi
    echo "stubs: gen/ matches proto/"
fi
