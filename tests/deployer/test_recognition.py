"""Recognition through an endpoint: the same words as the bare engine, unary and streaming
alike, 8 kHz audio, and clear errors for what cannot be served."""

from __future__ import annotations

import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest

from attune.deployer.v1 import deployer_pb2 as pb
from attune.trainer.v1 import trainer_pb2_grpc
from speech.corpora import read_sphinx_transcription
from speech.engines import load_model
from speech.packages import bundled_base_package
from tests.deployer.fixtures import Deployer
from tests.deployer.helpers import at_8khz, base_model, endpoint_on, librivox_wav, pcm_of, stream_requests
from tests.ingest.corpus import LIBRIVOX, wav
from tests.ingest.fixtures import Client

pytestmark = pytest.mark.integration


def bare_engine_texts(names: list[str]) -> dict[str, str]:
    """What the engine says, decoding in this process with the same (bundled) model."""
    with tempfile.TemporaryDirectory() as scratch:
        package = Path(scratch) / "base"
        bundled_base_package(package, str(uuid.uuid4()), datetime.now(UTC))
        model = load_model(package)
        return {name: model.recognize(pcm_of(librivox_wav(name))[0]).text for name in names}


async def test_librivox_through_an_endpoint_equals_the_bare_engine_unary_and_streaming(
    deployer: Deployer, models: trainer_pb2_grpc.ModelServiceStub, alice: Client
) -> None:
    model = await base_model(models, alice)
    endpoint = await endpoint_on(deployer, alice, model.id)
    assert endpoint.status == pb.SUCCEEDED
    names = sorted(read_sphinx_transcription(LIBRIVOX / "transcription"))
    expected = bare_engine_texts(names)

    for name in names:
        unary = await deployer.recognition.Recognize(
            pb.RecognizeRequest(endpoint_id=endpoint.id, audio=librivox_wav(name)), metadata=alice.metadata
        )
        assert unary.result.text == expected[name]
        assert unary.served_by.model_id == model.id and not unary.served_by.fell_back
        assert unary.result.words and unary.result.words[-1].offset.ToMilliseconds() > 0

        pcm, rate = pcm_of(librivox_wav(name))
        responses = [
            r
            async for r in deployer.recognition.StreamingRecognize(
                stream_requests(endpoint.id, pcm, rate), metadata=alice.metadata
            )
        ]
        assert responses[-1].is_final and responses[-1].result.text == expected[name]
        assert all(not r.is_final for r in responses[:-1])
        assert all(r.served_by.model_id == model.id for r in responses)
    assert any(word in expected[names[1]] for word in ("young", "man"))


async def test_8khz_audio_is_recognised(
    deployer: Deployer, models: trainer_pb2_grpc.ModelServiceStub, alice: Client
) -> None:
    endpoint = await endpoint_on(deployer, alice, (await base_model(models, alice)).id)
    name = "sense_and_sensibility_01_austen_64kb-0880.wav"  # "he was not an ill disposed young man"
    narrow = at_8khz(librivox_wav(name))
    unary = await deployer.recognition.Recognize(
        pb.RecognizeRequest(endpoint_id=endpoint.id, audio=narrow), metadata=alice.metadata
    )
    words = set(unary.result.text.split())
    assert len(words & {"he", "was", "not", "an", "ill", "disposed", "young", "man"}) >= 5, unary.result.text
    pcm, _ = pcm_of(narrow)
    streamed = [
        r
        async for r in deployer.recognition.StreamingRecognize(
            stream_requests(endpoint.id, pcm, 8000), metadata=alice.metadata
        )
    ]
    assert streamed[-1].result.text == unary.result.text


async def test_errors_name_the_problem(
    deployer: Deployer, models: trainer_pb2_grpc.ModelServiceStub, alice: Client, bob: Client
) -> None:
    endpoint = await endpoint_on(deployer, alice, (await base_model(models, alice)).id)

    async def refused(audio: bytes, client: Client = alice, endpoint_id: str = endpoint.id) -> grpc.aio.AioRpcError:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await deployer.recognition.Recognize(
                pb.RecognizeRequest(endpoint_id=endpoint_id, audio=audio), metadata=client.metadata
            )
        return error.value

    foreign = await refused(librivox_wav("sense_and_sensibility_01_austen_64kb-0880.wav"), client=bob)
    assert foreign.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as hidden:
        await deployer.endpoints.GetEndpoint(pb.GetEndpointRequest(endpoint_id=endpoint.id), metadata=bob.metadata)
    assert hidden.value.code() == grpc.StatusCode.NOT_FOUND

    stereo = await refused(wav(channels=2))
    assert stereo.code() == grpc.StatusCode.INVALID_ARGUMENT and "stereo" in (stereo.details() or "")
    too_long = await refused(wav(seconds=61))
    assert too_long.code() == grpc.StatusCode.RESOURCE_EXHAUSTED

    with pytest.raises(grpc.aio.AioRpcError) as late:
        await deployer.recognition.Recognize(
            pb.RecognizeRequest(
                endpoint_id=endpoint.id, audio=librivox_wav("sense_and_sensibility_01_austen_64kb-0870.wav")
            ),
            metadata=alice.metadata,
            timeout=0.05,
        )
    assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
