"""Hybrid routing, the guidance's approach 3 applied to the bot itself: sensitive requests
stay on the self-hosted model; everything sent to a PaaS model is redacted first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from .backends import BackendConfigError, BackendSpec, ChatBackend, build_backend, parse_spec
from .redaction import describe, find_sensitive

ROUTE_LABELS = {"paas": "PaaS model", "self_hosted": "self-hosted model", "extractive": "extractive (no model)"}


@dataclass
class Route:
    backend: ChatBackend | None  # None: compose the answer extractively
    kind: str  # paas | self_hosted | extractive
    reason: str
    sensitive: bool
    # The retrieved chunks this backend may see (None: all of them). A PaaS model never gets a
    # chunk of a confidential document.
    hits: list | None = None

    @property
    def name(self) -> str:
        return self.backend.name if self.backend else "extractive"

    @property
    def redact(self) -> bool:
        return self.kind == "paas"

    @property
    def label(self) -> str:
        return f"{ROUTE_LABELS[self.kind]} — {self.reason}"


def _confidential(hit) -> bool:
    return hit.chunk.get("classification") == "confidential"


def sensitivity(texts: Iterable[str], hits: Sequence) -> str | None:
    """Why a request must stay off a PaaS model, or None. Two rules: the question (or the
    conversation) holds personal data or secrets; or the best evidence, the top-ranked chunk,
    comes from a confidential document. Confidential chunks among the weaker candidates do not
    make a request sensitive: they are withheld from the PaaS prompt instead."""
    findings = [f for t in texts if t for f in find_sensitive(t)]
    if findings:
        return f"personal data or secrets in the question ({describe(findings)})"
    if hits and _confidential(hits[0]):
        return f"best evidence is confidential ({hits[0].chunk['title']})"
    return None


class Router:
    def __init__(self, settings):
        self.primary_spec = parse_spec(settings.llm, "ADVISOR_LLM")
        self.local_spec = parse_spec(settings.llm_local, "ADVISOR_LLM_LOCAL") if settings.llm_local else None
        self.fallback_spec = parse_spec(settings.llm_fallback, "ADVISOR_LLM_FALLBACK")
        if self.local_spec and self.local_spec.kind == "paas":
            raise BackendConfigError(
                f"ADVISOR_LLM_LOCAL='{settings.llm_local}' is a PaaS provider; it must name a self-hosted "
                "backend (ollama:, openai_compatible:, llamacpp:)"
            )
        # Built once at start-up: a missing package or bad setting fails here, not mid-answer.
        self._backends: dict[BackendSpec, ChatBackend | None] = {}
        for spec in filter(None, (self.primary_spec, self.local_spec, self.fallback_spec)):
            if spec not in self._backends:
                self._backends[spec] = build_backend(spec, settings)

    def backend(self, spec: BackendSpec | None) -> ChatBackend | None:
        return self._backends.get(spec) if spec else None

    @property
    def uses_model(self) -> bool:
        return any(b is not None for b in self._backends.values())

    def route(self, texts: Iterable[str], hits: Sequence) -> Route:
        reason = sensitivity(texts, hits)
        primary = self.primary_spec
        if primary.kind == "extractive" and self.local_spec is None:
            # Nothing leaves the process either way; the sensitivity is kept for the audit, not
            # worded as a missing self-hosted model.
            return Route(None, "extractive", "no model configured" + (f" ({reason})" if reason else ""), bool(reason))
        if reason is None:
            if primary.kind == "extractive":
                return Route(None, "extractive", "no model configured", False)
            if primary.kind != "paas":
                return Route(self.backend(primary), primary.kind, "default backend", False)
            public = [h for h in hits if not _confidential(h)]
            withheld = len(hits) - len(public)
            why = "default backend" + (
                f"; {withheld} confidential source{'s' if withheld > 1 else ''} withheld from it" if withheld else ""
            )
            return Route(self.backend(primary), "paas", why, False, public)
        if primary.kind == "self_hosted":
            return Route(self.backend(primary), "self_hosted", reason, True)
        if self.local_spec is not None:
            return Route(self.backend(self.local_spec), "self_hosted", reason, True)
        return Route(None, "extractive", f"{reason}; no self-hosted model configured", True)

    def fallback(self, failed: Route, error: str) -> Route:
        """Where to go when the routed backend failed: never from a sensitive request to PaaS."""
        spec = self.fallback_spec
        if spec.kind == "paas" and failed.sensitive:
            spec = parse_spec("extractive")
        backend = self.backend(spec)
        if backend is not None and failed.backend is not None and backend.spec == failed.backend.spec:
            backend, spec = None, parse_spec("extractive")
        hits = failed.hits if spec.kind == "paas" else None
        return Route(backend, spec.kind, f"fallback after {failed.name} failed: {error}", failed.sensitive, hits)
