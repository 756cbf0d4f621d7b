"""Hostile document text and hostile model output through every Slack renderer: nothing the bot
posts may ping (@channel, @here, @everyone, a user, a user group), link to a channel, or hide
where a link leads. Only http(s) and mailto targets become links, and their host is shown."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest

from bot.answer import Answer
from bot.slack import assessment_blocks, blocks
from ingest.pipeline import IngestReport

# Markdown links whose targets are Slack specials, raw specials, and escapes of them.
HOSTILE = [
    "[team](!channel)",
    "[owners](!here)",
    "[x](!everyone)",
    "[x](@U0123ABCD)",
    "[x](#C0123ABCD)",
    "[x](!subteam^S0123ABCD)",
    "[x](!date^1392734382^{date}|x)",
    "![img](!channel)",
    "[x](<!channel>)",
    "[x](https://ok.example|<!channel>)",
    "<!channel> <!here|here> <@U0123ABCD> <#C0123ABCD> <!subteam^S0123ABCD>",
    "**[bold](!channel)** and _[it](!here)_",
    "`[code](!channel)` [after](!channel)",
    "- [bullet](!channel)\n# [heading](!here)",
    "\x01" + "0\x01 [held](!channel)",
]
HOSTILE_TEXT = "Approvals: " + " ".join(HOSTILE)
USER = "UASKER01"

_ANGLE = re.compile(r"<([^<>]*)>")


def strings(payload) -> list[str]:
    """Every string inside a payload (blocks, a view, or text)."""
    if isinstance(payload, str):
        return [payload]
    if isinstance(payload, dict):
        return [s for v in payload.values() for s in strings(v)]
    if isinstance(payload, (list, tuple)):
        return [s for v in payload for s in strings(v)]
    return []


def assert_no_specials(payload, allowed_users: tuple[str, ...] = ()) -> None:
    """Every ``<…>`` in the payload is a web or mail link (or a mention the bot itself makes)."""
    for text in strings(payload):
        for m in _ANGLE.finditer(text):
            inner = m.group(1)
            if inner in {f"@{u}" for u in allowed_users}:
                continue
            assert re.match(r"(https?://|mailto:)", inner), f"Slack special in output: <{inner}> in {text!r}"


def hostile_answer(text: str = HOSTILE_TEXT) -> Answer:
    return Answer(
        question=HOSTILE_TEXT,
        text=text,
        abstained=False,
        backend="extractive",
        route="extractive",
        route_reason=HOSTILE_TEXT,
        id="a1b2c3",
        sources=[
            {
                "n": 1,
                "source": "policies/[x](!channel).md",
                "title": HOSTILE_TEXT,
                "section": "[s](!here) > <!everyone>",
                "text": HOSTILE_TEXT,
                "score": 0.5,
            }
        ],
    )


def test_markdown_link_to_a_special_stays_text():
    for hostile in HOSTILE:
        out = blocks.to_mrkdwn(hostile)
        assert_no_specials(out)
    assert blocks.to_mrkdwn("[team](!channel)") == "[team](!channel)"
    assert blocks.to_mrkdwn("ask [owners](@U0123ABCD)") == "ask [owners](@U0123ABCD)"


def test_web_and_mail_links_still_become_links_with_their_host_shown():
    assert (
        blocks.to_mrkdwn("[the guide](https://docs.example.com/g?a=1&b=2)")
        == "<https://docs.example.com/g?a=1&amp;b=2|the guide> (docs.example.com)"
    )
    assert (
        blocks.to_mrkdwn("[Reset your password here](http://evil.example/sso)")
        == "<http://evil.example/sso|Reset your password here> (evil.example)"
    )
    # a label that already names the host is not repeated
    assert (
        blocks.to_mrkdwn("[docs.example.com](https://docs.example.com/x)")
        == "<https://docs.example.com/x|docs.example.com>"
    )
    assert (
        blocks.to_mrkdwn("[write to us](mailto:ai@example.com)")
        == "<mailto:ai@example.com|write to us> (ai@example.com)"
    )
    # emphasis characters inside a URL are left alone
    assert blocks.to_mrkdwn("[a](https://x.example/a_b_c*d*)") == "<https://x.example/a_b_c*d*|a> (x.example)"
    # other schemes stay text
    assert blocks.to_mrkdwn("[run](javascript:alert(1))").startswith("[run](javascript:alert(1")
    assert blocks.to_mrkdwn("[f](slack://channel?id=C1)") == "[f](slack://channel?id=C1)"


@pytest.mark.parametrize(
    "render",
    [
        lambda a: blocks.answer_blocks(a),
        lambda a: blocks.answer_fallback(a),
        lambda a: blocks.partial_text(a.text),
        lambda a: blocks.sources_blocks(a.sources, abstained=False),
        lambda a: blocks.sources_blocks(a.sources, abstained=True),
    ],
    ids=["answer_blocks", "answer_fallback", "partial_text", "sources", "closest_documents"],
)
def test_answer_renderers_with_hostile_document_and_model_text(render):
    assert_no_specials(render(hostile_answer()))


def test_home_view_with_hostile_status_and_runs():
    status = {
        "documents": 1,
        "chunks": 2,
        "embedding_model": HOSTILE_TEXT,
        "llm": HOSTILE_TEXT,
        "llm_local": HOSTILE_TEXT,
        "last_run": {"finished_at": HOSTILE_TEXT, "status": HOSTILE_TEXT, "added": 1},
    }
    runs = [{"finished_at": HOSTILE_TEXT, "status": HOSTILE_TEXT, "added": 1, "seconds": 1.0}]
    view = blocks.home_view(status, is_admin=True, runs=runs, notice=blocks.escape(HOSTILE_TEXT))
    assert_no_specials(view)


def test_ingest_summaries_with_hostile_names_and_errors():
    report = IngestReport(
        added=[HOSTILE_TEXT],
        updated=[HOSTILE_TEXT],
        removed=[HOSTILE_TEXT],
        failed=[{"path": HOSTILE_TEXT, "error": HOSTILE_TEXT}] * 20,
        chunks=3,
    )
    assert_no_specials(blocks.ingest_summary_blocks(report))
    assert_no_specials(blocks.ingest_report_text({**report.to_dict(), "failed": report.failed}))
    result = SimpleNamespace(report=report, replaced=True, source=HOSTILE_TEXT)
    assert_no_specials(blocks.upload_result_text(result, archived_name=HOSTILE_TEXT))


def _framework():
    from bot.assessment.framework import load_framework
    from tests.conftest import KNOWLEDGE

    return load_framework(KNOWLEDGE / "assessment.yaml")


def test_assessment_report_and_share_with_hostile_policy_text():
    framework = _framework()
    first = next(iter(framework.questions)) if isinstance(framework.questions, dict) else framework.questions[0]
    part = {"document": HOSTILE_TEXT, "section": HOSTILE_TEXT, "text": HOSTILE_TEXT}
    report = {
        "recommendation": "hybrid",
        "title": HOSTILE_TEXT,
        "confidence": 0.7,
        "scores": {"hybrid": 2.0},
        "rationale": [{"question": getattr(first, "id", "x"), "effect": HOSTILE_TEXT}],
        "conflicts": [HOSTILE_TEXT],
        "next_steps": [HOSTILE_TEXT],
        "guidance": {"pros": part, "cons": part, "when": part},
        "policies": [
            {
                "source": HOSTILE_TEXT,
                "section": HOSTILE_TEXT,
                "title": HOSTILE_TEXT,
                "because": HOSTILE_TEXT,
                "excerpt": HOSTILE_TEXT,
            }
        ],
        "citations": [{"document": HOSTILE_TEXT, "section": HOSTILE_TEXT}],
    }
    session = SimpleNamespace(
        id="s1", step=0, answers={HOSTILE_TEXT: HOSTILE_TEXT}, result=report, updated_at=HOSTILE_TEXT
    )
    titles = {HOSTILE_TEXT: HOSTILE_TEXT}
    assert_no_specials(assessment_blocks.result_blocks(framework, report, session, share="C1", titles=titles))
    assert_no_specials(assessment_blocks.result_blocks(framework, report, session, pick_channel=True, titles=titles))
    assert_no_specials(assessment_blocks.share_blocks(framework, report, USER, titles=titles), allowed_users=(USER,))
    assert_no_specials(assessment_blocks.history_blocks(framework, [session]))
    assert_no_specials(assessment_blocks.result_text(framework, report))


def test_the_whole_payload_is_json_safe_and_keeps_the_text_visible():
    rendered = blocks.answer_blocks(hostile_answer())
    text = json.dumps(rendered)
    assert "!channel" in text  # the words stay visible, only the ping is gone
