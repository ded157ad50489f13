"""Registry rows to API messages."""

from __future__ import annotations

import asyncpg

from attune.trainer.v1 import trainer_pb2 as pb
from common.wire import timestamp

KINDS = {"Base": pb.BASE, "Custom": pb.CUSTOM}


def model(row: asyncpg.Record) -> pb.Model:
    message = pb.Model(
        id=str(row["id"]),
        kind=KINDS[row["kind"]],
        display_name=row["display_name"],
        description=row["description"],
        locale=row["locale"],
        engine=row["engine"],
        create_time=timestamp(row["created_at"]),
        features=pb.Features(
            supports_transcriptions=True,
            supports_endpoints=True,
            supports_adaptations_with=list(row["supports_adaptations_with"]),
        ),
        base_model_id=str(row["base_model_id"] or ""),
        project_id=str(row["project_id"] or ""),
    )
    message.deprecation_dates.transcription_time.CopyFrom(timestamp(row["transcription_until"]))
    if row["adaptation_until"] is not None:
        message.deprecation_dates.adaptation_time.CopyFrom(timestamp(row["adaptation_until"]))
    if row["package_key"]:
        message.package.CopyFrom(
            pb.PackageRef(
                object_key=row["package_key"], sha256=row["package_sha256"], size_bytes=row["package_size_bytes"]
            )
        )
    return message
