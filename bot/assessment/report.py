"""An assessment result made useful: the engine's verdict plus the guidance's pros, cons and
"when to choose" for the recommended approach and the internal policies that bear on the
answers, all with citations. Reads the index; the engine itself stays pure."""

from __future__ import annotations

from typing import Any, Mapping

from .engine import Assessment
from .framework import UNSURE, Framework

NEXT_STEPS = {
    "paas": [
        "Check the vendor approval status of the platform you want (Azure OpenAI, Bedrock, Vertex AI).",
        "Classify the data the feature will send; only approved classes may go to an external service.",
        "Book the security review for the AI feature before launch.",
        "Set a budget and cost alerts: API spend grows with usage.",
    ],
    "self_hosted": [
        "Name the owners for model serving, GPUs, patching and evaluation (the MLOps work).",
        "Register the model and its risk tier before release.",
        "Plan 3-6 months to a robust environment; budget the GPUs through spend approval.",
        "Book the security review for the AI feature before launch.",
    ],
    "hybrid": [
        "Draw the boundary: which use cases and data classes go to PaaS, which stay self-hosted.",
        "Start with PaaS for non-sensitive work while the self-hosted track is built.",
        "Agree one set of monitoring, audit and governance for both tracks.",
        "Book the security review for each AI feature before launch.",
    ],
}


def build_report(
    framework: Framework,
    assessment: Assessment,
    answers: Mapping[str, str],
    index,
    retriever=None,
    policy_limit: int = 4,
    allow=None,
) -> dict[str, Any]:
    """``allow(chunk)``: which policies may be listed for the reader (None: all)."""
    approach = framework.approaches[assessment.recommendation]
    report = assessment.to_dict()
    report["title"] = approach.title
    report["guidance"] = {}
    for kind in ("pros", "cons", "when"):
        citation = approach.sections.get(kind)
        if citation is None:
            continue
        chunks = index.chunks_for_section(citation.document, citation.section)
        text = "\n\n".join(c["text"].partition("\n\n")[2] or c["text"] for c in chunks)
        report["guidance"][kind] = {"text": text, "document": citation.document, "section": citation.section}
    report["policies"] = _policies(framework, answers, retriever, policy_limit, allow) if retriever else []
    report["next_steps"] = list(NEXT_STEPS.get(assessment.recommendation, []))
    return report


def _policies(framework: Framework, answers: Mapping[str, str], retriever, limit: int, allow=None) -> list[dict]:
    """Internal policies retrieved with the policy query of every answered question."""
    strategy_docs = {c.document for a in framework.approaches.values() for c in a.sections.values()}
    found: dict[str, dict] = {}
    for question in framework.questions:
        value = answers.get(question.id, UNSURE)
        if value == UNSURE or not question.policy_query:
            continue
        for hit in retriever.search(question.policy_query, k=3, allow=allow).hits:
            source = hit.chunk["source"]
            if source in strategy_docs or source in found:
                continue
            found[source] = {
                "source": source,
                "title": hit.chunk["title"],
                "section": hit.chunk.get("section") or "",
                "because": f"{question.topic}: {value}",
                "score": round(hit.similarity, 3),
                "excerpt": _excerpt(hit.chunk["text"]),
            }
            break
    return sorted(found.values(), key=lambda p: -p["score"])[:limit]


def _excerpt(text: str, limit: int = 280) -> str:
    body = text.partition("\n\n")[2] or text
    body = " ".join(body.split())
    return body if len(body) <= limit else body[: limit - 1].rsplit(" ", 1)[0] + "…"
