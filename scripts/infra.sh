#!/usr/bin/env bash
# Makes sure PostgreSQL, RabbitMQ and a local S3 server are up on loopback, starting (and on
# a fresh machine, configuring) whatever is missing. The S3 server here is SeaweedFS from the
# virtualenv; docker-compose and Kubernetes use MinIO instead. Idempotent.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN="$ROOT/.run"
mkdir -p "$RUN"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {  # name port seconds
    for _ in $(seq 1 "$3"); do port_open "$2" && return 0; sleep 1; done
    echo "infra: $1 did not come up on port $2" >&2
    return 1
}

if ! port_open 5432; then
    echo "infra: starting PostgreSQL"
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    conf="/etc/postgresql/$version/main"
    # Local development trusts loopback connections, like the CI machines do.
    if ! grep -q "attune: trust loopback" "$conf/pg_hba.conf"; then
        sed -i '1i host all all 127.0.0.1/32 trust # attune: trust loopback\nhost all all ::1/128 trust # attune: trust loopback' "$conf/pg_hba.conf"
    fi
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
    wait_port PostgreSQL 5432 30
fi
psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'attune'" | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE attune"

if ! port_open 5672; then
    echo "infra: starting RabbitMQ"
    rabbitmq-server -detached
    wait_port RabbitMQ 5672 60
fi

if ! port_open 8333; then
    echo "infra: starting the local S3 server"
    cat > "$RUN/s3-identities.json" <<'JSON'
{"identities": [{"name": "attune", "credentials": [{"accessKey": "attune", "secretKey": "attune-secret-key"}],
  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
JSON
    mkdir -p "$RUN/s3-data"
    nohup "$ROOT/.venv/bin/weed" mini -dir="$RUN/s3-data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
        -s3.config="$RUN/s3-identities.json" -admin.ui=false -webdav=false \
        > "$RUN/s3.log" 2>&1 &
    echo $! > "$RUN/s3.pid"
    wait_port "S3 server" 8333 60
fi
echo "infra: PostgreSQL :5432, RabbitMQ :5672, S3 :8333 ready"
