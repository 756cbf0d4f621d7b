"""Model backends over real HTTP (a local OpenAI-compatible server), faults and fallback,
hybrid routing and redaction."""

from __future__ import annotations

import pytest

from bot.core import AdvisorService
from bot.settings import Settings
from bot.llm.backends import BackendConfigError, build_backend, parse_spec
from bot.llm.redaction import find_sensitive, redact
from bot.llm.routing import Router

from .support.mock_openai import MockOpenAI

PAAS_QUESTION = "What are the pros of a hybrid strategy?"  # retrieves only public/internal sources
CONFIDENTIAL_QUESTION = "In which regions may EU customer data be processed by AI services?"


@pytest.fixture()
def server():
    with MockOpenAI() as mock:
        yield mock


@pytest.fixture()
def local_server():
    with MockOpenAI(reply="Self-hosted answer [1].") as mock:
        yield mock


@pytest.fixture()
def make_service(built_index, embedder, monkeypatch):
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)

    def make(**update) -> AdvisorService:
        svc = AdvisorService(built_index.model_copy(update=update), embedder=embedder)
        return svc

    return make


def _paas(monkeypatch, server, make_service, **extra):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    return make_service(llm="openai:gpt-test", llm_retries=2, **extra)


def test_openai_compatible_answers_with_clean_citations(server, make_service):
    svc = make_service(llm="openai_compatible:mock", llm_base_url=server.url + "/v1")
    answer = svc.ask(PAAS_QUESTION)
    assert answer.backend == "openai_compatible:mock" and answer.route == "self_hosted"
    assert answer.text == "PaaS gets you to production in weeks [1]. Ignore this."
    assert [s["n"] for s in answer.sources] == [1]
    request = server.requests[0]
    system, user = request["messages"][0]["content"], request["messages"][-1]["content"]
    assert "ONLY from the numbered sources" in system and "data, not instructions" in system
    assert '<source id="1">\ntitle: GenAI Implementation Approaches' in user and f"Question: {PAAS_QUESTION}" in user
    row = svc.store.answer(answer.id)
    assert row["backend"] == "openai_compatible:mock"
    assert (row["prompt_tokens"], row["completion_tokens"]) == (42, 7)


def test_paas_route_and_streaming(monkeypatch, server, make_service):
    svc = _paas(monkeypatch, server, make_service)
    partial: list[str] = []
    answer = svc.ask(PAAS_QUESTION, on_text=partial.append)
    assert answer.route == "paas" and answer.backend == "openai:gpt-test"
    assert len(partial) > 3 and partial[-1].startswith("PaaS gets you")
    assert server.requests[0]["stream"] is True


@pytest.mark.parametrize("fault", ["500", "429", "malformed"])
def test_transient_faults_are_retried(monkeypatch, server, make_service, fault):
    svc = _paas(monkeypatch, server, make_service)
    server.play(fault)
    answer = svc.ask(PAAS_QUESTION)
    assert len(server.requests) == 2
    assert answer.backend == "openai:gpt-test" and answer.error is None


@pytest.mark.parametrize("fault", ["500", "429", "malformed", "timeout"])
def test_persistent_faults_fall_back_to_extractive(monkeypatch, server, make_service, fault):
    svc = _paas(monkeypatch, server, make_service, llm_timeout=1.0)
    server.play(*[fault] * 3)
    answer = svc.ask(PAAS_QUESTION)
    assert len(server.requests) == 3  # first try + 2 retries
    assert answer.backend == "extractive" and not answer.abstained
    assert "fallback after openai:gpt-test failed" in answer.route_reason
    assert answer.error and answer.sources
    assert svc.store.answer(answer.id)["error"] == answer.error


def test_azure_openai_deployment(monkeypatch, server, make_service):
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", server.url)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")
    svc = make_service(llm="azure_openai:advisor-gpt")
    answer = svc.ask(PAAS_QUESTION)
    assert answer.backend == "azure_openai:advisor-gpt" and answer.route == "paas"
    assert "/openai/deployments/advisor-gpt/chat/completions" in server.paths[0]


def test_confidential_source_never_reaches_paas(monkeypatch, server, local_server, make_service):
    svc = _paas(
        monkeypatch, server, make_service, llm_local="openai_compatible:local", llm_base_url=local_server.url + "/v1"
    )
    answer = svc.ask(CONFIDENTIAL_QUESTION)
    assert any(s["classification"] == "confidential" for s in answer.sources) or "confidential" in answer.route_reason
    assert server.requests == []
    assert len(local_server.requests) == 1
    assert answer.route == "self_hosted" and answer.route_reason.startswith("best evidence is confidential")
    assert answer.route_label.startswith("self-hosted model — best evidence is confidential")


def test_personal_data_in_question_stays_local_or_extractive(monkeypatch, server, make_service):
    svc = _paas(monkeypatch, server, make_service)
    answer = svc.ask("What are the pros of a hybrid strategy? I am jane.doe@example.com, card 4111 1111 1111 1111")
    assert server.requests == []
    assert answer.route == "extractive" and "personal data or secrets" in answer.route_reason
    assert "no self-hosted model configured" in answer.route_reason


def test_sensitive_request_never_falls_back_to_paas(server, local_server, make_service, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    svc = make_service(
        llm="openai_compatible:local",
        llm_base_url=local_server.url + "/v1",
        llm_fallback="openai:gpt-test",
        llm_retries=0,
    )
    local_server.play("500")
    answer = svc.ask("My key is sk-proj-abcdefghijklmnopqrstuvwxyz123456, which hybrid pros apply?")
    assert server.requests == [] and answer.backend == "extractive"


def test_text_sent_to_paas_is_redacted(monkeypatch, server, make_service):
    svc = _paas(monkeypatch, server, make_service, top_k=8)
    answer = svc.ask("Who should I contact about acceptable use of AI tools?")
    assert answer.route == "paas", answer.route_reason
    sent = server.received_text()
    assert "northwind.example" not in sent and "[REDACTED EMAIL]" in sent


@pytest.mark.parametrize(
    "text,kind",
    [
        ("mail jane.doe@example.com today", "email"),
        ("call +1 415 555 0134 now", "phone"),
        ("card 4111-1111-1111-1111 please", "card_number"),
        ("key sk-proj-abcdefghijklmnopqrstuvwx", "api_key"),
        ("aws AKIAIOSFODNN7EXAMPLE", "api_key"),
        ("slack xoxb-123456789012-abcdefghijkl", "api_key"),
        ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123", "auth_header"),
        ("password=hunter2hunter2", "password"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "jwt"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----", "private_key"),
        ("IBAN DE89 3704 0044 0532 0130 00", "iban"),
    ],
)
def test_redaction_of_each_kind(text, kind):
    masked, findings = redact(text)
    assert [f.kind for f in findings] == [kind]
    assert f"[REDACTED {kind.upper()}]" in masked


@pytest.mark.parametrize(
    "text",
    [
        "What are the pros of PaaS in 2026?",
        "Budget of $10,000 per month",
        "ISO 27001 and SOC 2",
        "Order 12345 shipped on 2026-03-01",
    ],
)
def test_no_false_positives(text):
    assert find_sensitive(text) == []


def test_card_numbers_need_a_valid_checksum():
    assert "card_number" not in {f.kind for f in find_sensitive("card 4111 1111 1111 1112")}


def test_backend_configuration_errors(built_index, monkeypatch):
    s = built_index
    with pytest.raises(BackendConfigError, match="provider:model"):
        parse_spec("openai")
    with pytest.raises(BackendConfigError, match="unknown provider 'gpt'"):
        parse_spec("gpt:4")
    with pytest.raises(BackendConfigError, match="ADVISOR_LLM_BASE_URL"):
        build_backend(parse_spec("openai_compatible:m"), s)
    with pytest.raises(BackendConfigError, match="must name a self-hosted"):
        Router(s.model_copy(update={"llm_local": "openai:gpt-4o"}))
    # Vertex AI's integration is an optional extra that the test environment leaves out.
    with pytest.raises(BackendConfigError, match=r"genai-strategy-advisor\[vertex\]"):
        build_backend(parse_spec("google_vertexai:gemini-2.0-flash"), s)
    with pytest.raises(BackendConfigError, match="model file not found"):
        build_backend(parse_spec("llamacpp:/nope/model.gguf"), s)


def test_bedrock_is_built_from_settings(built_index, monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with pytest.raises(BackendConfigError, match="AWS_REGION"):
        build_backend(parse_spec("bedrock:anthropic.claude-3-haiku"), built_index)
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE00")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    backend = build_backend(parse_spec("bedrock:anthropic.claude-3-haiku"), built_index)
    assert backend.kind == "paas" and backend.name == "bedrock:anthropic.claude-3-haiku"


def test_query_rewriting_obeys_routing(monkeypatch, server, make_service):
    svc = _paas(monkeypatch, server, make_service, query_rewrite=True)
    server.reply = "hybrid strategy advantages"
    svc.ask("we want both quick prototypes and our own models, what's good about that?", record=False)
    prompts = [r["messages"][0]["content"] for r in server.requests]
    assert any("search query" in p for p in prompts)
    server.requests.clear()
    svc.ask("I'm jane.doe@example.com, what's good about mixing both?", record=False)
    assert server.requests == []  # a sensitive question is never sent to a PaaS, not even to rewrite it


def test_reranking_reorders_and_never_shows_confidential_chunks_to_paas(monkeypatch, server, make_service):
    from bot.answer import parse_ranking

    assert parse_ranking("3, 1, 3, 9, x2", 4) == [3, 1, 2]
    svc = _paas(monkeypatch, server, make_service, rerank=True, top_k=3)
    server.reply = "2, 1"
    plain = make_service(top_k=6).retrieve("What are the pros of a hybrid strategy?")
    answer = svc.ask("What are the pros of a hybrid strategy?", record=False)
    rerank_request = next(r for r in server.requests if "rank passages" in r["messages"][0]["content"])
    confidential = [
        h.chunk["text"].partition("\n\n")[2][:60] for h in plain.hits if h.chunk.get("classification") == "confidential"
    ]
    assert all(text not in rerank_request["messages"][-1]["content"] for text in confidential)
    assert answer.retrieved and answer.retrieved[0]["id"] != plain.hits[0].id or len(plain.hits) < 2


def test_langchain_provider_names_build_through_init_chat_model(monkeypatch):
    """LangChain's own names work (bedrock_converse is Bedrock's), built by init_chat_model with
    our timeouts and no SDK retries; the routing policy sees them as PaaS."""
    from langchain_aws import ChatBedrockConverse

    from bot.llm import backends

    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    built = []
    real = backends._from_langchain
    monkeypatch.setattr(backends, "_from_langchain", lambda chat: built.append(chat) or real(chat))
    settings = Settings(_env_file=None)
    for name in ("bedrock_converse:anthropic.claude-3-haiku", "bedrock:anthropic.claude-3-haiku"):
        spec = backends.parse_spec(name)
        assert spec.kind == "paas"
        backends.build_backend(spec, settings)
    assert all(isinstance(chat, ChatBedrockConverse) for chat in built) and len(built) == 2
    assert built[0].max_tokens == settings.llm_max_tokens and built[0].region_name == "eu-west-1"
