"""Database rows to API messages, and the names the REST API uses for enums."""

from __future__ import annotations

import json

import asyncpg

from attune.ingest.v1 import ingest_pb2 as pb
from common.wire import duration_ms, timestamp

KIND_NAMES = {
    pb.AUDIO_FILES: "AudioFiles",
    pb.ACOUSTIC: "Acoustic",
    pb.LANGUAGE: "Language",
    pb.PRONUNCIATION: "Pronunciation",
}
KINDS = {name: value for value, name in KIND_NAMES.items()}
STATUSES = {"NotStarted": pb.NOT_STARTED, "Running": pb.RUNNING, "Succeeded": pb.SUCCEEDED, "Failed": pb.FAILED}
FILE_KINDS = {
    "Audio": pb.AUDIO,
    "Text": pb.TEXT,
    "PronunciationLexicon": pb.PRONUNCIATION_LEXICON,
    "DatasetReport": pb.DATASET_REPORT,
}


def _properties(value: str | dict[str, str]) -> dict[str, str]:
    return json.loads(value) if isinstance(value, str) else dict(value)


def project(row: asyncpg.Record) -> pb.Project:
    return pb.Project(
        id=str(row["id"]),
        display_name=row["display_name"],
        description=row["description"],
        locale=row["locale"],
        create_time=timestamp(row["created_at"]),
        update_time=timestamp(row["updated_at"]),
        custom_properties=_properties(row["custom_properties"]),
    )


def dataset(row: asyncpg.Record) -> pb.Dataset:
    message = pb.Dataset(
        id=str(row["id"]),
        project_id=str(row["project_id"]),
        display_name=row["display_name"],
        description=row["description"],
        locale=row["locale"],
        kind=KINDS[row["kind"]],
        status=STATUSES[row["status"]],
        create_time=timestamp(row["created_at"]),
        last_action_time=timestamp(row["last_action_at"]),
        accepted_count=row["accepted_count"],
        rejected_count=row["rejected_count"],
        total_duration=duration_ms(row["total_duration_ms"]),
        upload_size_bytes=row["upload_size_bytes"],
        progress_percent=row["progress_percent"],
        custom_properties=_properties(row["custom_properties"]),
    )
    if row["error_code"]:
        message.error.code = row["error_code"]
        message.error.message = row["error_message"] or ""
    return message


def dataset_file(row: asyncpg.Record) -> pb.DatasetFile:
    message = pb.DatasetFile(
        id=str(row["id"]),
        dataset_id=str(row["dataset_id"]),
        name=row["name"],
        kind=FILE_KINDS[row["kind"]],
        size_bytes=row["size_bytes"],
        sha256=row["sha256"],
        sample_rate_hz=row["sample_rate_hz"] or 0,
        create_time=timestamp(row["created_at"]),
    )
    if row["duration_ms"] is not None:
        message.duration.CopyFrom(duration_ms(row["duration_ms"]))
    return message


def utterance(row: asyncpg.Record) -> pb.Utterance:
    return pb.Utterance(
        file_id=str(row["file_id"]),
        file_name=row["file_name"],
        transcript=row["transcript"],
        normalized_transcript=row["normalized_transcript"],
        normalization_version=row["normalization_version"],
        duration=duration_ms(row["duration_ms"]),
    )
