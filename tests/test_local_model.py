"""A real local model: SmolLM2-135M served by llama-cpp-python's OpenAI-compatible server,
and the same model in-process. The model is far too small for good answers; these tests
prove the wiring (prompt in, generated text and citations out), not the quality."""

from __future__ import annotations

import os
import sys

import pytest

from bot.core import AdvisorService
from bot.llm.backends import _resolve_gguf

from .support.servers import free_port, server_process

pytestmark = pytest.mark.slow  # builds a real index per corpus / loads a real model

QUESTION = "What are the pros of a hybrid strategy?"


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        _resolve_gguf("smollm2"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "4096",
        "--model_alias",
        "smollm2",
    ]
    with server_process(command, url + "/models", tmp_path_factory.mktemp("llama") / "server.log"):
        yield url


def _service(built_index, embedder, **update):
    svc = AdvisorService(
        built_index.model_copy(update={"llm_max_tokens": 96, "llm_timeout": 120, **update}), embedder=embedder
    )
    return svc


def test_openai_compatible_llama_cpp_server(llama_server, built_index, embedder):
    svc = _service(built_index, embedder, llm="openai_compatible:smollm2", llm_base_url=llama_server)
    answer = svc.ask(QUESTION)
    assert answer.backend == "openai_compatible:smollm2" and answer.route == "self_hosted"
    assert answer.error is None, answer.error
    assert answer.text.strip() and not answer.abstained
    assert answer.sources and all(1 <= s["n"] <= svc.settings.top_k for s in answer.sources)
    row = svc.store.answer(answer.id)
    assert row["backend"] == "openai_compatible:smollm2" and row["latency_ms"] > 0


def test_llama_server_as_the_local_half_of_hybrid(llama_server, built_index, embedder, monkeypatch):
    """Hybrid: PaaS for ordinary questions, the self-hosted model for confidential ones.
    The PaaS endpoint is unreachable here, so any leak would show up as a PaaS error."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    svc = _service(
        built_index,
        embedder,
        llm="openai:gpt-4o-mini",
        llm_local="openai_compatible:smollm2",
        llm_base_url=llama_server,
    )
    answer = svc.ask("Which regions may process EU customer data under the data residency policy?")
    assert answer.route == "self_hosted" and answer.backend == "openai_compatible:smollm2"
    assert answer.route_reason.startswith("best evidence is confidential") and answer.error is None


def test_llamacpp_in_process(built_index, embedder):
    svc = _service(built_index, embedder, llm="llamacpp:smollm2")
    answer = svc.ask(QUESTION)
    assert answer.backend == "llamacpp:smollm2" and answer.route == "self_hosted"
    assert answer.error is None and answer.text.strip()
    model_path = _resolve_gguf("smollm2")
    assert os.path.isfile(model_path) and model_path.endswith(".gguf")


def test_query_rewriting_and_reranking_run_on_the_local_model(llama_server, built_index, embedder):
    """Mechanics only (the model is tiny): the rewrite and the ranking are asked of the local
    model, and whatever it replies, the answer still cites retrieved sources."""
    svc = _service(
        built_index,
        embedder,
        llm="openai_compatible:smollm2",
        llm_base_url=llama_server,
        query_rewrite=True,
        rerank=True,
    )
    answer = svc.ask("our team has no ML ops people, which way should we go?")
    assert answer.error is None and answer.sources and not answer.abstained
