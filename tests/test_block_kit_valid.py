"""Every Block Kit payload the bot renders parses and validates with slack_sdk's own models (field
limits, required fields, element types), with ordinary and hostile content."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.slack import assessment_blocks, blocks
from ingest.pipeline import IngestReport
from tests.test_hostile_rendering import HOSTILE_TEXT, _framework, hostile_answer


def validate(payload: list[dict]) -> None:
    assert payload, "nothing rendered"
    for block in payload:
        parsed = Block.parse(block)
        assert parsed is not None, block
        parsed.validate_json()


def _report(text: str) -> dict:
    framework = _framework()
    first = framework.questions[0]
    part = {"document": "strategy/x.md", "section": "Pros", "text": text}
    return {
        "recommendation": next(iter(framework.approaches)),
        "confidence": 0.7,
        "scores": {"hybrid": 2.0},
        "rationale": [{"question": first.id, "effect": text}],
        "conflicts": [text],
        "next_steps": [text],
        "guidance": {"pros": part, "cons": part, "when": part},
        "policies": [{"source": "policies/p.md", "section": "S", "title": "P", "because": text, "excerpt": text}],
        "citations": [{"document": "strategy/x.md", "section": "Pros"}],
    }


@pytest.mark.parametrize(
    "text", ["Use **PaaS** for speed [1].", HOSTILE_TEXT, "x" * 9000], ids=["plain", "hostile", "long"]
)
def test_every_message_payload_validates(text):
    answer = hostile_answer(text)
    validate(blocks.answer_blocks(answer))
    for message in blocks.answer_messages(hostile_answer(text * 5)):  # continued past one message's limit
        validate(message)
    assert [b["type"] for b in blocks.answer_blocks(answer)][::3] == ["markdown", "context_actions"]
    validate(blocks.sources_blocks(answer.sources, abstained=True))
    validate(blocks.feedback_reason_blocks("a1b2c3"))
    validate(blocks.help_blocks(note=text[:200], extra={"ingest": text[:100]}))
    validate(blocks.status_blocks({"documents": 3, "chunks": 9, "embedding_model": text[:50], "llm": "extractive"}))
    report = IngestReport(added=[text[:80]], failed=[{"path": "x.md", "error": text[:200]}] * 20, chunks=3)
    validate(blocks.ingest_summary_blocks(report))
    framework = _framework()
    session = SimpleNamespace(id="s1", step=0, answers={"q": "v"}, result=_report(text), updated_at="2026-11-29T10:00")
    validate(assessment_blocks.result_blocks(framework, _report(text), session, share="C1"))
    validate(assessment_blocks.result_blocks(framework, _report(text), session, pick_channel=True))
    validate(assessment_blocks.share_blocks(framework, _report(text), "U1"))
    validate(assessment_blocks.history_blocks(framework, [session], start_button=True))
    question = framework.questions[0]
    validate(
        assessment_blocks.question_blocks(
            SimpleNamespace(id="s1", step=0), question, len(framework.questions), note=text[:100]
        )
    )
    validate(assessment_blocks.confirm_blocks(SimpleNamespace(id="s1", step=0), question, question.options[0].value))
    validate(assessment_blocks.resume_blocks(SimpleNamespace(id="s1", step=1), len(framework.questions)))


def test_home_views_validate():
    status = {"documents": 3, "chunks": 9, "last_run": {"finished_at": "2026-11-29T10:00", "status": "ok"}}
    runs = [{"finished_at": "2026-11-29T10:00:00", "status": "ok", "added": 1, "seconds": 2.0}]
    for view in (
        blocks.home_view(status, is_admin=True, runs=runs, notice="n"),
        blocks.home_view(None, is_admin=False),
    ):
        View(**view).validate_json()
