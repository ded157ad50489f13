"""Deployer rows and recognition results to API messages."""

from __future__ import annotations

import json

import asyncpg

from attune.deployer.v1 import deployer_pb2 as pb
from common.wire import duration_ms, timestamp
from speech.engine import Recognition

STATUSES = {"NotStarted": pb.NOT_STARTED, "Running": pb.RUNNING, "Succeeded": pb.SUCCEEDED, "Failed": pb.FAILED}


def endpoint(row: asyncpg.Record) -> pb.Endpoint:
    properties = row["custom_properties"]
    message = pb.Endpoint(
        id=str(row["id"]),
        project_id=str(row["project_id"]),
        display_name=row["display_name"],
        description=row["description"],
        locale=row["locale"],
        model_id=str(row["model_id"]),
        status=STATUSES[row["status"]],
        create_time=timestamp(row["created_at"]),
        last_action_time=timestamp(row["last_action_at"]),
        logging_enabled=row["logging_enabled"],
        custom_properties=json.loads(properties) if isinstance(properties, str) else dict(properties),
    )
    if row["change_model_id"] is not None:
        change = message.last_model_change
        change.model_id = str(row["change_model_id"])
        change.status = STATUSES[row["change_status"]]
        change.error = row["change_error"] or ""
        change.request_time.CopyFrom(timestamp(row["change_requested_at"]))
        if row["change_finished_at"] is not None:
            change.finish_time.CopyFrom(timestamp(row["change_finished_at"]))
    return message


def result(recognition: Recognition) -> pb.RecognitionResult:
    return pb.RecognitionResult(
        text=recognition.text,
        confidence=recognition.confidence,
        audio_duration=duration_ms(round(recognition.audio_seconds * 1000)),
        words=[
            pb.Word(
                word=w.word,
                offset=duration_ms(round(w.start_s * 1000)),
                duration=duration_ms(round((w.end_s - w.start_s) * 1000)),
                confidence=w.confidence,
            )
            for w in recognition.words
        ],
    )
