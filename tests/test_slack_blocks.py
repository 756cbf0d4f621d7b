"""Block Kit rendering, Slack text clean-up, progress throttling and the app manifest (no I/O)."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.answer import Answer
from bot.slack import blocks
from bot.slack.listeners import clean_question


def make_answer(text: str, **kw) -> Answer:
    defaults = dict(
        question="q",
        text=text,
        abstained=False,
        backend="extractive",
        route="self_hosted",
        route_reason="confidential source (AI Spend Approval Policy)",
        id="abc123def456",
        sources=[
            {
                "n": 1,
                "source": "policies/x.md",
                "title": "AI Spend Approval Policy",
                "section": "Scope > Hosted APIs",
                "text": "t",
                "score": 0.5,
            }
        ],
    )
    defaults.update(kw)
    return Answer(**defaults)


def test_markdown_becomes_mrkdwn():
    md = (
        "# Choosing a model\n"
        "Use **PaaS** for speed and *self-hosting* for control; see [the guide](https://example.com/g?a=1&b=2).\n"
        "- first\n  - nested with `code **not bold**`\n"
        "1. numbered stays\n"
        "~~old~~ and __also bold__ and x < y & z > w\n"
        "```\n**raw** <tag>\n```"
    )
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


def test_answer_blocks_have_markdown_sources_route_and_feedback_footer():
    rendered = blocks.answer_blocks(make_answer("Spend needs approval [1].\n\n| Tier | Limit |\n|---|---|\n| A | 5k |"))
    kinds = [b["type"] for b in rendered]
    assert kinds == ["markdown", "section", "context", "context_actions"]
    assert (
        rendered[0]["text"] == "Spend needs approval [1].\n\n| Tier | Limit |\n|---|---|\n| A | 5k |"
    )  # the table survives
    assert (
        rendered[1]["text"]["text"] == "*Sources*\n[1] AI Spend Approval Policy › Scope › Hosted APIs · `policies/x.md`"
    )
    assert rendered[2]["elements"][0]["text"].startswith("self-hosted model — confidential source")
    [buttons] = rendered[3]["elements"]
    assert buttons["type"] == "feedback_buttons" and buttons["action_id"] == blocks.FEEDBACK
    assert blocks.parse_feedback(buttons["positive_button"]["value"]) == ("abc123def456", True)
    assert blocks.parse_feedback(buttons["negative_button"]["value"]) == ("abc123def456", False)
    assert blocks.parse_feedback("sideways|abc") is None and blocks.parse_feedback("up|") is None


def test_abstained_answer_lists_closest_documents():
    rendered = blocks.answer_blocks(make_answer("Not covered.", abstained=True, route="none"))
    assert rendered[1]["text"]["text"].startswith("*Closest documents*")


def test_long_answers_continue_in_follow_up_messages_within_slack_limits():
    paragraph = "This sentence is about governance and it keeps going for a while. " * 40  # ~2,700 chars
    text = "\n\n".join([paragraph] * 80)  # ~215,000 chars
    messages = blocks.answer_messages(make_answer(text))
    assert len(messages) > 1
    for message in messages:
        markdown = [b for b in message if b["type"] == "markdown"]
        assert len(markdown) == 1 and len(markdown[0]["text"]) <= 12000 and len(message) <= blocks.MAX_BLOCKS
    assert sum(len(m[0]["text"]) for m in messages) >= len(text) - 2 * len(messages) * 2  # nothing is lost
    assert [b["type"] for b in messages[-1]][-2:] == ["context", "context_actions"]
    assert all(len(m) == 1 for m in messages[:-1])  # sources and feedback once, at the end
    single = blocks.answer_blocks(make_answer(text))  # a slash-command reply: one message, cut with a note
    assert len(single[0]["text"]) <= 12000 and single[0]["text"].endswith("_(truncated)_")
    assert len(blocks.answer_fallback(make_answer(text))) <= blocks.FALLBACK_LIMIT


def test_markdown_for_slack_keeps_web_links_and_neutralises_everything_else():
    md = (
        "See [the guide](https://example.com/g?a=1&b=2), [Reset](http://evil.example/sso), "
        "[team](!channel), ![x](javascript:alert(1)), <!here>, <@U123|bob>, @channel and ops@example.com."
    )
    safe = blocks.safe_markdown(md)
    assert "[the guide](https://example.com/g?a=1&b=2) (example.com)" in safe
    assert "[Reset](http://evil.example/sso) (evil.example)" in safe
    assert "team (!channel)" in safe and "](!channel)" not in safe and "x (javascript:alert(1))" in safe
    assert "<" not in safe and ">" not in safe
    assert "@channel" not in safe and "@\u2060channel" in safe and "ops@example.com" in safe


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
    status = {
        "documents": 9,
        "chunks": 118,
        "last_run": {"finished_at": "2026-01-01T00:00:00+00:00", "status": "ok", "added": 9},
    }
    view = blocks.home_view(status, is_admin=False)
    text = str(view)
    assert view["type"] == "home" and "*9*" in text and "*118*" in text and "2026-01-01" in text
    assert "admin_reingest" not in text
    assert "admin_reingest" in str(blocks.home_view(status, is_admin=True))


MANIFESTS = Path(blocks.__file__).parent


def test_manifests_declare_exactly_what_the_listeners_need():
    from bot.slack.listeners import ASK_ABOUT_MESSAGE, EVENTS, MESSAGE_SUBSCRIPTIONS, SUGGESTED_PROMPTS

    socket = yaml.safe_load((MANIFESTS / "manifest.yaml").read_text())
    http = yaml.safe_load((MANIFESTS / "manifest-http.yaml").read_text())
    for manifest in (socket, http):
        features = manifest["features"]
        assert "assistant_view" not in features  # legacy since the agent experience
        agent = features["agent_view"]
        assert agent["agent_description"] and 1 <= len(agent["suggested_prompts"]) <= 4
        assert agent["suggested_prompts"] == SUGGESTED_PROMPTS  # the Messages tab shows the same
        assert {"title": "Start an assessment", "message": "Start an assessment"} in agent["suggested_prompts"]
        [shortcut] = features["shortcuts"]
        assert (
            shortcut
            == {
                "name": "Ask the advisor about this",
                "type": "message",
                "callback_id": ASK_ABOUT_MESSAGE,
                "description": shortcut["description"],
            }
            and len(shortcut["name"]) <= 24 + 2
        )
        events = manifest["settings"]["event_subscriptions"]["bot_events"]
        listened = {e for e in EVENTS if e != "message"} | set(MESSAGE_SUBSCRIPTIONS)
        assert sorted(events) == sorted(listened)  # every subscription has a listener and vice versa
        scopes = set(manifest["oauth_config"]["scopes"]["bot"])
        assert scopes == {
            "app_mentions:read",
            "assistant:write",
            "chat:write",
            "commands",
            "im:history",
            "im:write",
            "channels:history",
            "groups:history",
            "channels:read",
            "groups:read",
            "mpim:read",
            "users:read",
            "usergroups:read",
            "files:read",
        }
        assert [c["command"] for c in features["slash_commands"]] == ["/advisor"]
        assert manifest["settings"]["interactivity"]["is_enabled"] is True
        assert features["app_home"]["home_tab_enabled"] and features["app_home"]["messages_tab_enabled"]
    assert socket["settings"]["socket_mode_enabled"] is True and http["settings"]["socket_mode_enabled"] is False
    assert "request_url" not in socket["settings"]["event_subscriptions"]
    url = "https://YOUR-HOST/slack/events"
    assert http["settings"]["event_subscriptions"]["request_url"] == url
    assert http["settings"]["interactivity"]["request_url"] == url
    assert http["features"]["slash_commands"][0]["url"] == url
    # apart from how Slack reaches the bot, the two are the same app
    for manifest in (socket, http):
        manifest["settings"].pop("socket_mode_enabled")
        manifest["settings"]["event_subscriptions"].pop("request_url", None)
        manifest["settings"]["interactivity"].pop("request_url", None)
        manifest["features"]["slash_commands"][0].pop("url", None)
    assert socket == http


def test_citations_link_to_the_document_url_when_it_has_one():
    source = {
        "n": 2,
        "source": "policies/spend.md",
        "title": "Spend & Approvals",
        "section": "Limits",
        "url": "https://wiki.example.com/ai/spend?x=1&y=2",
    }
    assert (
        blocks.source_line(source)
        == "[2] <https://wiki.example.com/ai/spend?x=1&amp;y=2|Spend &amp; Approvals › Limits> (wiki.example.com)"
    )
    hostile = dict(source, url="javascript:alert(1)")
    assert blocks.source_line(hostile) == "[2] Spend &amp; Approvals › Limits · `policies/spend.md`"
