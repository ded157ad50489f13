"""The demo journey so far: project -> upload real recordings -> base models -> endpoint -> recognition.

    python scripts/demo_journey.py --ingest 127.0.0.1:50051 --trainer 127.0.0.1:50052 \
        --deployer 127.0.0.1:50053 --key atn_...

It uploads the librivox read-speech recordings (Debian's pocketsphinx-testdata) as an
Acoustic dataset, streams it in chunks, shows validation progress and the dataset report,
lists the base models with their deprecation dates, creates an endpoint on the newest one,
recognises every recording through it (printing reference and recognised words, and the
word error rate over the set), and streams one recording to show partial results.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import wave
from collections.abc import AsyncIterator

import grpc
import jiwer

from attune.deployer.v1 import deployer_pb2, deployer_pb2_grpc
from attune.ingest.v1 import ingest_pb2 as pb
from attune.ingest.v1 import ingest_pb2_grpc
from attune.trainer.v1 import trainer_pb2, trainer_pb2_grpc
from speech.corpora import LIBRIVOX, read_sphinx_transcription, write_acoustic_zip
from speech.normalize import normalize

CHUNK = 256 * 1024
Metadata = tuple[tuple[str, str], ...]


async def chunks(metadata: pb.DatasetMetadata, content: bytes) -> AsyncIterator[pb.UploadDatasetRequest]:
    yield pb.UploadDatasetRequest(metadata=metadata)
    for start in range(0, len(content), CHUNK):
        yield pb.UploadDatasetRequest(chunk=content[start : start + CHUNK])


async def upload_test_data(channel: grpc.aio.Channel, metadata: Metadata) -> tuple[pb.Project, pb.Dataset]:
    projects = ingest_pb2_grpc.ProjectServiceStub(channel)
    datasets = ingest_pb2_grpc.DatasetServiceStub(channel)
    project = await projects.CreateProject(
        pb.CreateProjectRequest(
            display_name="Sense and Sensibility readings", description="Read English literature", locale="en-US"
        ),
        metadata=metadata,
    )
    print(f"project   {project.id}  {project.display_name} ({project.locale})")
    archive = io.BytesIO()
    write_acoustic_zip(LIBRIVOX, read_sphinx_transcription(LIBRIVOX / "transcription"), archive)
    request = pb.DatasetMetadata(project_id=project.id, display_name="librivox test set", kind=pb.ACOUSTIC)
    dataset = await datasets.UploadDataset(chunks(request, archive.getvalue()), metadata=metadata)
    print(f"dataset   {dataset.id}  uploaded {dataset.upload_size_bytes} bytes")
    while dataset.status not in (pb.SUCCEEDED, pb.FAILED):
        await asyncio.sleep(0.2)
        dataset = await datasets.GetDataset(pb.GetDatasetRequest(dataset_id=dataset.id), metadata=metadata)
        print(f"  {pb.Status.Name(dataset.status):<11} {dataset.progress_percent:3d}%")
    print(
        f"status    {pb.Status.Name(dataset.status)}: {dataset.accepted_count} accepted, "
        f"{dataset.rejected_count} rejected, {dataset.total_duration.ToMilliseconds() / 1000:.2f} s of audio"
    )
    report = await datasets.GetDatasetReport(pb.GetDatasetReportRequest(dataset_id=dataset.id), metadata=metadata)
    for entry in report.entries:
        verdict = "accepted" if entry.accepted else f"REJECTED: {entry.reason}"
        print(f"  {entry.item}{f' line {entry.line}' if entry.line else ''}: {verdict}")
    return project, dataset


async def newest_base_model(channel: grpc.aio.Channel, metadata: Metadata) -> trainer_pb2.Model:
    models = trainer_pb2_grpc.ModelServiceStub(channel)
    listed = await models.ListBaseModels(trainer_pb2.ListBaseModelsRequest(locale="en-US"), metadata=metadata)
    for model in listed.models:
        dates = model.deprecation_dates
        adapt, decode = dates.adaptation_time.ToDatetime(), dates.transcription_time.ToDatetime()
        print(
            f"base model {model.id}  {model.display_name}: adapt until {adapt:%Y-%m-%d}, decode until {decode:%Y-%m-%d}"
        )
    return listed.models[0]


async def recognise_through_endpoint(
    channel: grpc.aio.Channel, metadata: Metadata, project: pb.Project, model: trainer_pb2.Model
) -> float:
    endpoints = deployer_pb2_grpc.EndpointServiceStub(channel)
    recognition = deployer_pb2_grpc.RecognitionServiceStub(channel)
    endpoint = await endpoints.CreateEndpoint(
        deployer_pb2.CreateEndpointRequest(project_id=project.id, display_name="readings", model_id=model.id),
        metadata=metadata,
    )
    print(f"endpoint  {endpoint.id}  {deployer_pb2.Status.Name(endpoint.status)} on model {endpoint.model_id}")
    references, hypotheses = [], []
    for name, reference in sorted(read_sphinx_transcription(LIBRIVOX / "transcription").items()):
        reply = await recognition.Recognize(
            deployer_pb2.RecognizeRequest(endpoint_id=endpoint.id, audio=(LIBRIVOX / name).read_bytes()),
            metadata=metadata,
        )
        references.append(normalize(reference))
        hypotheses.append(normalize(reply.result.text))
        print(f"  {name}\n    heard: {reply.result.text}\n    said:  {reference}")
    word_error_rate = float(jiwer.wer(references, hypotheses))
    print(f"word error rate of the base model on this set: {100 * word_error_rate:.1f}%")

    name = "sense_and_sensibility_01_austen_64kb-0930.wav"
    with wave.open(str(LIBRIVOX / name)) as recording:
        pcm = recording.readframes(recording.getnframes())

    async def stream() -> AsyncIterator[deployer_pb2.StreamingRecognizeRequest]:
        config = deployer_pb2.StreamingConfig(endpoint_id=endpoint.id, sample_rate_hz=16000, interim_results=True)
        yield deployer_pb2.StreamingRecognizeRequest(config=config)
        for start in range(0, len(pcm), 6400):  # 0.2 s of audio a message
            yield deployer_pb2.StreamingRecognizeRequest(audio=pcm[start : start + 6400])

    print(f"streaming {name}:")
    async for response in recognition.StreamingRecognize(stream(), metadata=metadata):
        print(f"  {'final  ' if response.is_final else 'partial'} {response.result.text}")
    return word_error_rate


async def main(ingest: str, trainer: str, deployer: str, key: str) -> int:
    metadata = (("x-api-key", key),)
    async with (
        grpc.aio.insecure_channel(ingest) as ingest_channel,
        grpc.aio.insecure_channel(trainer) as trainer_channel,
        grpc.aio.insecure_channel(deployer) as deployer_channel,
    ):
        project, dataset = await upload_test_data(ingest_channel, metadata)
        if dataset.status != pb.SUCCEEDED:
            return 1
        model = await newest_base_model(trainer_channel, metadata)
        await recognise_through_endpoint(deployer_channel, metadata, project, model)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ingest", default="127.0.0.1:50051")
    parser.add_argument("--trainer", default="127.0.0.1:50052")
    parser.add_argument("--deployer", default="127.0.0.1:50053")
    parser.add_argument("--key", required=True)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.ingest, args.trainer, args.deployer, args.key)))
