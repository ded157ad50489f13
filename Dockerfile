# One image for every Attune service; the command picks the service (python -m <name>):
# ingest, trainer, deployer, and <name>.migrate for each one's schema.
# Bookworm pins the glibc generation the manylinux wheels below are checked against.
FROM python:3.11-slim-bookworm

# No .pyc writes at runtime (the root filesystem is read-only in compose and Kubernetes)
# and unbuffered output so log lines reach the collector as they are written.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A fixed uid/gid so Kubernetes can check runAsNonRoot/runAsUser against the image.
RUN groupadd --system --gid 10001 attune \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin attune

WORKDIR /app

# Pinned dependencies first: this layer stays cached while only the code changes.
# Wheels only: every pin (pocketsphinx with its bundled en-US model, numpy, grpcio, ...)
# ships a manylinux wheel, so the slim image needs no compiler, and a pin without a wheel
# fails the build here instead of attempting a source build.
COPY requirements.txt .
RUN pip install --no-cache-dir --only-binary=:all: -r requirements.txt

COPY pyproject.toml .
COPY gen/ gen/
COPY services/ services/
RUN pip install --no-cache-dir --no-deps . \
    && rm -rf build

# The writable directories must exist and belong to the service user: a named volume
# mounted on one copies this ownership, and the rest of the filesystem stays read-only.
#   /var/spool/attune          ingest upload spool
#   /var/tmp/attune            trainer work dir (model packages being built)
#   /var/cache/attune/models   deployer model cache (unpacked model packages)
RUN mkdir -p /var/spool/attune /var/tmp/attune /var/cache/attune/models \
    && chown 10001:10001 /var/spool/attune /var/tmp/attune /var/cache/attune /var/cache/attune/models

USER 10001:10001
# gRPC ports of ingest, trainer and deployer.
EXPOSE 50051 50052 50053
CMD ["python", "-m", "ingest"]
