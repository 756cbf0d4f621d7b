"""Block Kit rendering, Slack text clean-up, progress throttling and the app manifest (no I/O)."""
from __future__ import annotations

from pathlib import Path

import yaml

from bot.answer import Answer
from bot.slack import blocks
from bot.slack.listeners import ThreadReply, clean_question
from tests.support.fake_client import FakeClient


def make_answer(text: str, **kw) -> Answer:
    defaults = dict(question="q", text=text, abstained=False, backend="extractive", route="self_hosted",
                    route_reason="confidential source (AI Spend Approval Policy)", id="abc123def456",
                    sources=[{"n": 1, "source": "policies/x.md", "title": "AI Spend Approval Policy",
                              "section": "Scope > Hosted APIs", "text": "t", "score": 0.5}])
    defaults.update(kw)
    return Answer(**defaults)


def test_markdown_becomes_mrkdwn():
    md = ("# Choosing a model\n"
          "Use **PaaS** for speed and *self-hosting* for control; see [the guide](https://example.com/g?a=1&b=2).\n"
          "- first\n  - nested with `code **not bold**`\n"
          "1. numbered stays\n"
          "~~old~~ and __also bold__ and x < y & z > w\n"
          "```\n**raw** <tag>\n```")
    out = blocks.to_mrkdwn(md)
    lines = out.split("\n")
    assert lines[0] == "*Choosing a model*"
    assert "Use *PaaS* for speed and _self-hosting_ for control" in lines[1]
    assert "<https://example.com/g?a=1&amp;b=2|the guide>" in lines[1]
    assert lines[2] == "• first"
    assert lines[3] == "  • nested with `code **not bold**`"
    assert lines[4] == "1. numbered stays"
    assert lines[5] == "~old~ and *also bold* and x &lt; y &amp; z &gt; w"
    assert lines[6:] == ["```", "**raw** &lt;tag&gt;", "```"]


def test_answer_blocks_have_sources_route_and_feedback():
    rendered = blocks.answer_blocks(make_answer("Spend needs approval [1]."))
    kinds = [b["type"] for b in rendered]
    assert kinds == ["section", "section", "context", "actions"]
    assert rendered[0]["text"]["text"] == "Spend needs approval [1]."
    assert rendered[1]["text"]["text"] == "*Sources*\n[1] AI Spend Approval Policy › Scope › Hosted APIs · `policies/x.md`"
    assert rendered[2]["elements"][0]["text"].startswith("self-hosted model — confidential source")
    buttons = rendered[3]["elements"]
    assert [b["action_id"] for b in buttons] == ["feedback_helpful", "feedback_not_helpful"]
    assert {b["value"] for b in buttons} == {"abc123def456"}


def test_abstained_answer_lists_closest_documents():
    rendered = blocks.answer_blocks(make_answer("Not covered.", abstained=True, route="none"))
    assert rendered[1]["text"]["text"].startswith("*Closest documents*")


def test_long_answers_are_split_within_slack_limits():
    paragraph = "This sentence is about governance and it keeps going for a while. " * 40  # ~2,700 chars
    text = "\n\n".join([paragraph] * 80)  # ~215,000 chars: more than 50 blocks' worth
    rendered = blocks.answer_blocks(make_answer(text))
    assert len(rendered) == blocks.MAX_BLOCKS
    sections = [b for b in rendered if b["type"] == "section"]
    assert all(len(b["text"]["text"]) <= blocks.SECTION_LIMIT for b in sections)
    assert rendered[-1]["type"] == "actions" and rendered[-2]["type"] == "context"
    assert "_(truncated)_" in rendered[-4]["text"]["text"]
    assert len(blocks.answer_fallback(make_answer(text))) <= blocks.FALLBACK_LIMIT


def test_split_text_prefers_paragraphs_then_lines_then_words():
    assert blocks.split_text("a\n\nb", limit=3) == ["a", "b"]
    pieces = blocks.split_text("word " * 2000, limit=3000)
    assert all(len(p) <= 3000 for p in pieces) and all(not p.endswith("wor") for p in pieces)
    assert blocks.split_text("x" * 6001, limit=3000) == ["x" * 3000, "x" * 3000, "x"]


def test_clean_question_removes_the_bot_mention_and_slack_markup():
    text = "<@UBOT> what about <@UOTHER|bob> in <#C1|general>? see <https://x.test/a|the doc> &amp; <!here> &lt;3"
    assert clean_question(text, "UBOT") == "what about @bob in #general? see the doc & <3"
    assert clean_question("<@UBOT>", "UBOT") == ""


def test_home_view_shows_status_and_admin_button_only_for_admins():
    status = {"documents": 9, "chunks": 118, "last_run": {"finished_at": "2026-01-01T00:00:00+00:00",
                                                          "status": "ok", "added": 9}}
    view = blocks.home_view(status, is_admin=False)
    text = str(view)
    assert view["type"] == "home" and "*9*" in text and "*118*" in text and "2026-01-01" in text
    assert "admin_reingest" not in text
    assert "admin_reingest" in str(blocks.home_view(status, is_admin=True))



def test_progress_updates_are_throttled():
    now = [0.0]
    client = FakeClient()
    reply = ThreadReply(client, "C1", "100.1", interval=1.0, clock=lambda: now[0])
    reply.start()
    for step in range(50):  # 50 partial texts over 5 simulated seconds
        now[0] = step * 0.1
        reply.partial("word " * (step + 1))
    reply.finish("done", [{"type": "section", "text": {"type": "mrkdwn", "text": "done"}}])
    updates = [kw for kind, kw in client.calls if kind == "update"]
    assert client.calls[0] == ("post", {"channel": "C1", "thread_ts": "100.1", "text": blocks.THINKING})
    assert 4 <= len(updates) - 1 <= 5  # at most one partial update a second, plus the final one
    assert updates[-1]["text"] == "done" and updates[-1]["blocks"]


def test_manifest_declares_what_the_listeners_need():
    manifest = yaml.safe_load((Path(blocks.__file__).parent / "manifest.yaml").read_text())
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"app_mentions:read", "chat:write", "im:history", "im:read", "im:write", "commands", "users:read",
            "files:read", "channels:history", "assistant:write"} <= scopes
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert events == {"app_mention", "message.im", "message.channels", "message.groups", "app_home_opened",
                      "assistant_thread_started"}
    assert {"channels:read", "groups:read", "groups:history", "usergroups:read"} <= scopes  # audiences, follow-ups
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/advisor"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is True
    home = manifest["features"]["app_home"]
    assert home["home_tab_enabled"] and home["messages_tab_enabled"]


def test_citations_link_to_the_document_url_when_it_has_one():
    source = {"n": 2, "source": "policies/spend.md", "title": "Spend & Approvals", "section": "Limits",
              "url": "https://wiki.example.com/ai/spend?x=1&y=2"}
    assert blocks.source_line(source) == \
        "[2] <https://wiki.example.com/ai/spend?x=1&amp;y=2|Spend &amp; Approvals › Limits> (wiki.example.com)"
    hostile = dict(source, url="javascript:alert(1)")
    assert blocks.source_line(hostile) == "[2] Spend &amp; Approvals › Limits · `policies/spend.md`"
