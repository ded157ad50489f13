# One image for every Attune service; the command picks the service (python -m <name>).
FROM python:3.11-slim

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
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY pyproject.toml .
COPY gen/ gen/
COPY services/ services/
RUN pip install --no-cache-dir --no-deps . \
    && rm -rf build

# The upload spool must exist and belong to the service user: a named volume mounted
# here copies this ownership, and the rest of the filesystem stays read-only.
RUN mkdir -p /var/spool/attune && chown 10001:10001 /var/spool/attune

USER 10001:10001
EXPOSE 50051
CMD ["python", "-m", "ingest"]
