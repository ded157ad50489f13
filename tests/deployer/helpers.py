"""Setting up what an endpoint test needs: a project, the base model, audio in the right form."""

from __future__ import annotations

import io
import wave
from collections.abc import AsyncIterator

import numpy as np

from attune.deployer.v1 import deployer_pb2 as pb
from attune.ingest.v1 import ingest_pb2
from attune.trainer.v1 import trainer_pb2, trainer_pb2_grpc
from speech.corpora import LIBRIVOX
from tests.deployer.fixtures import Deployer
from tests.ingest.client import new_project
from tests.ingest.fixtures import Client


async def base_model(models: trainer_pb2_grpc.ModelServiceStub, client: Client) -> trainer_pb2.Model:
    listed = await models.ListBaseModels(trainer_pb2.ListBaseModelsRequest(locale="en-US"), metadata=client.metadata)
    return listed.models[0]


async def endpoint_on(
    deployer: Deployer, client: Client, model_id: str, project: ingest_pb2.Project | None = None
) -> pb.Endpoint:
    project = project or await new_project(client)
    request = pb.CreateEndpointRequest(project_id=project.id, display_name="calls", model_id=model_id)
    return await deployer.endpoints.CreateEndpoint(request, metadata=client.metadata)


def librivox_wav(name: str) -> bytes:
    return (LIBRIVOX / name).read_bytes()


def pcm_of(wav_bytes: bytes) -> tuple[bytes, int]:
    with wave.open(io.BytesIO(wav_bytes)) as recording:
        return recording.readframes(recording.getnframes()), recording.getframerate()


def at_8khz(wav_bytes: bytes) -> bytes:
    """The recording as an 8 kHz WAV: low-passed below 4 kHz, then every other sample."""
    pcm, rate = pcm_of(wav_bytes)
    assert rate == 16000
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    taps = np.arange(-64, 65)
    kernel = 0.5 * np.sinc(0.5 * taps) * np.hamming(len(taps))
    narrow = np.convolve(samples, kernel, mode="same")[::2]
    out = io.BytesIO()
    with wave.open(out, "wb") as result:
        result.setnchannels(1)
        result.setsampwidth(2)
        result.setframerate(8000)
        result.writeframes(np.clip(np.round(narrow), -32768, 32767).astype("<i2").tobytes())
    return out.getvalue()


async def stream_requests(
    endpoint_id: str, pcm: bytes, sample_rate: int, chunk_seconds: float = 0.1, interim: bool = True
) -> AsyncIterator[pb.StreamingRecognizeRequest]:
    config = pb.StreamingConfig(endpoint_id=endpoint_id, sample_rate_hz=sample_rate, interim_results=interim)
    yield pb.StreamingRecognizeRequest(config=config)
    step = int(sample_rate * chunk_seconds) * 2
    for start in range(0, len(pcm), step):
        yield pb.StreamingRecognizeRequest(audio=pcm[start : start + step])
