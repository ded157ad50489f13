#!/usr/bin/env bash
# Installs what Attune needs on a fresh Debian/Ubuntu machine: system packages, a
# virtualenv with the pinned Python dependencies, and the project itself (editable).
# Safe to run again: every step checks before it acts.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

apt_packages=()
# The librivox read-speech recordings used by the demo and the tests.
[ -d /usr/share/pocketsphinx/test/data/librivox ] || apt_packages+=(pocketsphinx-testdata)
# NIST sclite, the reference scorer the evaluator's counts are checked against.
command -v sctk >/dev/null || apt_packages+=(sctk)
command -v psql >/dev/null || apt_packages+=(postgresql postgresql-client)
command -v rabbitmq-server >/dev/null || apt_packages+=(rabbitmq-server)
if [ "${#apt_packages[@]}" -gt 0 ]; then
    echo "setup: installing ${apt_packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${apt_packages[@]}"
fi

if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv"
    python3 -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(cat requirements.txt requirements-dev.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup: installing Python dependencies"
    .venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
    .venv/bin/pip install -q --disable-pip-version-check --no-deps -e .
    echo "$want" > "$stamp"
fi
echo "setup: ready"
