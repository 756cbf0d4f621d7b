"""The Slack bot end to end over HTTP: signed requests to the bot's real server (waitress),
a real AdvisorService over a real index, and a mock Slack Web API that records every call."""

from __future__ import annotations

import logging
import re
import time

import pytest

from bot.answer import Answer
from bot.core import AdvisorService
from bot.llm.routing import ROUTE_LABELS
from tests.support.slack_answers import answer_id, is_answer
from tests.support.slack_fixtures import *  # noqa: F403
from tests.support.slack_requests import dm, mention, unique_id, unique_ts

QUESTION = "Can I send customer data to Azure OpenAI?"


def in_thread(channel: str, thread_ts: str):
    return lambda call: call.params.get("channel") == channel and call.params.get("thread_ts") == thread_ts


def button_values(blocks: list[dict]) -> dict[str, str]:
    return {e["action_id"]: e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]}


# --- mentions and threads ---------------------------------------------------------------------


def test_mention_is_answered_in_a_thread_with_status_citations_and_feedback(bot):
    event = mention(QUESTION, channel="CMENTION")
    reply, _ = bot.sender.event(event)
    assert reply.status == 200

    [status] = bot.mock.wait_for("assistant.threads.setStatus", where=lambda c: c.params["channel_id"] == "CMENTION")
    assert status.params["thread_ts"] == event["ts"] and status.params["status"]
    assert "Searching the policies…" in status.params["loading_messages"]
    [post] = bot.mock.wait_for("chat.postMessage", where=in_thread("CMENTION", event["ts"]))
    assert post.params["unfurl_links"] is False  # citations do not expand into previews
    blocks = post.params["blocks"]
    assert blocks[0]["type"] == "markdown" and re.search(r"\[\d\]", blocks[0]["text"]), "the answer cites"
    text = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    assert "*Sources*" in text and " › " in text
    assert blocks[-1]["type"] == "context_actions"  # feedback in the footer
    assert not bot.mock.calls_of("chat.update")  # no placeholder to replace
    record = bot.service.store.answer(answer_id(blocks))
    context = [b for b in blocks if b["type"] == "context"][0]["elements"][0]["text"]
    label = f"{ROUTE_LABELS.get(record['route'], 'no model')} — {record['route_reason']}"
    assert context.startswith(label.replace("&", "&amp;"))  # the route the core chose, e.g. "… — confidential source"
    assert record["conversation"] == f"slack:CMENTION:{event['ts']}"
    assert record["channel"] == "CMENTION" and record["user"] == "UALICE"
    assert post.token == bot.mock.bot_token


def test_mention_inside_a_thread_replies_in_that_thread(bot):
    root = unique_ts()
    event = mention(QUESTION, channel="CTHREAD", thread_ts=root)
    bot.sender.event(event)
    message = bot.mock.wait_for_message("CTHREAD", is_answer)
    assert message["thread_ts"] == root


def test_follow_up_in_the_thread_uses_the_conversation_history(bot, monkeypatch):
    answers = []
    real_ask = bot.service.ask

    def spy(question, **kwargs):
        answers.append(real_ask(question, **kwargs))
        return answers[-1]

    monkeypatch.setattr(bot.service, "ask", spy)
    first = mention("Should we use PaaS or self-hosted models?", channel="CFOLLOW")
    bot.sender.event(first)
    bot.mock.wait_for_message("CFOLLOW", is_answer)
    follow = mention("what are the cons of that?", channel="CFOLLOW", thread_ts=first["ts"])
    bot.sender.event(follow)
    bot.mock.wait_for("chat.postMessage", 2, where=lambda c: c.params["channel"] == "CFOLLOW")
    messages = bot.mock.messages("CFOLLOW")
    assert [m["thread_ts"] for m in messages] == [first["ts"], first["ts"]] and all(map(is_answer, messages))

    key = f"slack:CFOLLOW:{first['ts']}"
    history = bot.service.store.history(key)
    assert [m["role"] for m in history] == ["user", "assistant", "user", "assistant"]
    assert history[2]["text"] == "what are the cons of that?"
    second_id = answer_id(messages[1]["blocks"])
    assert bot.service.store.answer(second_id)["conversation"] == key
    # the core rewrote the follow-up with the thread's history before retrieving
    assert answers[0].standalone_question is None and answers[1].standalone_question
    assert answers[1].id == second_id


# --- DMs and the Messages tab -------------------------------------------------------------------


def test_direct_message_is_answered_in_its_own_thread(bot):
    event = dm(QUESTION, channel="DTOP")
    bot.sender.event(event)
    bot.mock.wait_for("assistant.threads.setStatus", where=lambda c: c.params["thread_ts"] == event["ts"])
    [post] = bot.mock.wait_for("chat.postMessage", where=in_thread("DTOP", event["ts"]))
    assert bot.service.store.answer(answer_id(post.params["blocks"]))["conversation"] == f"slack:DTOP:{event['ts']}"


def test_assistant_thread_gets_prompts_status_then_the_answer(bot):
    thread_ts = unique_ts()
    bot.sender.event(
        {
            "type": "assistant_thread_started",
            "event_ts": unique_ts(),
            "assistant_thread": {"user_id": "UALICE", "channel_id": "DASSIST", "thread_ts": thread_ts, "context": {}},
        }
    )
    [prompts] = bot.mock.wait_for("assistant.threads.setSuggestedPrompts")
    assert prompts.params["channel_id"] == "DASSIST" and prompts.params["thread_ts"] == thread_ts
    titles = [p["title"] for p in prompts.params["prompts"]]
    assert "PaaS or self-hosted?" in titles and "Start an assessment" in titles
    assert QUESTION in [p["message"] for p in prompts.params["prompts"]]

    bot.sender.event(dm(QUESTION, channel="DASSIST", thread_ts=thread_ts))
    [status] = bot.mock.wait_for("assistant.threads.setStatus")
    assert status.params["thread_ts"] == thread_ts and status.params["status"]
    [post] = bot.mock.wait_for("chat.postMessage", where=in_thread("DASSIST", thread_ts))
    assert answer_id(post.params["blocks"])  # the answer itself, no placeholder
    assert not bot.mock.calls_of("chat.update")


def test_assistant_status_refused_falls_back_to_a_placeholder(bot):
    bot.mock.respond_with("assistant.threads.setStatus", {"ok": False, "error": "invalid_thread"})
    thread_ts = unique_ts()
    bot.sender.event(dm(QUESTION, channel="DPLAIN", thread_ts=thread_ts))
    [placeholder] = bot.mock.wait_for("chat.postMessage", where=in_thread("DPLAIN", thread_ts))
    assert placeholder.params["text"] == "Thinking…"
    bot.mock.wait_for("chat.update", where=lambda c: c.params["channel"] == "DPLAIN")


def test_start_an_assessment_prompt_is_routed_to_the_assess_hook(bot):
    before = len(bot.service.store.answers(1000))
    thread_ts = unique_ts()
    bot.sender.event(dm("Start an assessment", channel="DASSESS", thread_ts=thread_ts))
    [post] = bot.mock.wait_for("chat.postMessage", where=in_thread("DASSESS", thread_ts))
    assert "*Question 1 of " in str(post.params["blocks"])
    assert len(bot.service.store.answers(1000)) == before  # not answered as a question
    session = bot.service.thread_assessment("DASSESS", thread_ts)
    assert session.user == "UALICE" and session.status == "open"
    bot.service.sessions.cancel(session.id, "UALICE")


def test_help_lists_every_subcommand(bot):
    from bot.slack.listeners import SUBCOMMANDS

    reply = bot.sender.command("help", response_url=bot.mock.response_url("help-all"))
    assert reply.status == 200
    [help_text] = bot.mock.wait_for_response("help-all")
    text = help_text.payload["blocks"][0]["text"]["text"]
    for name in SUBCOMMANDS:
        assert f"`/advisor {name}" in text, name
    assert "`/advisor assess`: a guided assessment" in text


# --- App Home -------------------------------------------------------------------------------------


def test_home_tab_shows_knowledge_status(bot):
    bot.sender.event(
        {"type": "app_home_opened", "user": "UALICE", "channel": "DALICE", "tab": "home", "event_ts": unique_ts()}
    )
    [publish] = bot.mock.wait_for("views.publish")
    assert publish.params["user_id"] == "UALICE"
    view = publish.params["view"]
    documents = bot.service.status()["documents"]
    assert view["type"] == "home" and f"Documents: *{documents}*" in str(view)
    assert "assessments" in str(view).lower()
    assert "admin_reingest" not in str(view)
    bot.sender.event(
        {"type": "app_home_opened", "user": "UALICE", "channel": "DALICE", "tab": "messages", "event_ts": unique_ts()}
    )
    [prompts] = bot.mock.wait_for("assistant.threads.setSuggestedPrompts")  # the Messages tab: prompts, no thread
    assert prompts.params["channel_id"] == "DALICE" and "thread_ts" not in prompts.params
    assert [p["title"] for p in prompts.params["prompts"]][-1] == "Start an assessment"
    bot.mock.settle()
    assert len(bot.mock.calls_of("views.publish")) == 1


def test_admin_reingest_button(make_bot):
    bot = make_bot(admins="UADMIN")
    bot.sender.event({"type": "app_home_opened", "user": "UADMIN", "tab": "home", "event_ts": unique_ts()})
    [publish] = bot.mock.wait_for("views.publish")
    assert "admin_reingest" in str(publish.params["view"])

    reply = bot.sender.block_action(
        "admin_reingest", "reingest", user_id="UALICE", channel_id=None, view={"id": "VHOME", "type": "home"}
    )
    assert reply.status == 200
    bot.mock.wait_for(
        "chat.postMessage",
        where=lambda c: c.params["channel"] == "UALICE" and "Only the advisor's admins" in c.params["text"],
    )

    bot.sender.block_action(
        "admin_reingest", "reingest", user_id="UADMIN", channel_id=None, view={"id": "VHOME", "type": "home"}
    )
    bot.mock.wait_for(
        "chat.postMessage",
        where=lambda c: c.params["channel"] == "UADMIN" and c.params["text"].startswith("Re-ingest finished"),
        timeout=120,
    )
    bot.mock.wait_for("views.publish", 2)
    actions = bot.service.store.admin_actions()
    assert [(a["user"], a["action"], a["allowed"]) for a in actions[:2]] == [
        ("UADMIN", "reingest", 1),
        ("UALICE", "reingest", 0),
    ]


# --- /advisor ---------------------------------------------------------------------------------------


def test_slash_ask_answers_through_the_response_url(bot):
    url = bot.mock.response_url("ask")
    reply = bot.sender.command(f"ask {QUESTION}", response_url=url)
    assert reply.status == 200
    thinking, answer = bot.mock.wait_for_response("ask", 2)
    assert thinking.payload["text"] == "Thinking…" and thinking.payload["response_type"] == "ephemeral"
    assert answer.payload["replace_original"] is True
    assert answer_id(answer.payload["blocks"])
    assert "*Sources*" in str(answer.payload["blocks"])


@pytest.mark.parametrize(
    "text, expected",
    [
        ("help", "/advisor ask"),
        ("", "/advisor ask"),
        ("frobnicate now", "I don't know `/advisor frobnicate`"),
        ("assess history", "Start an assessment"),
        ("ingest", "Only the advisor's admins"),
    ],
)
def test_slash_help_and_unknown_subcommands(bot, text, expected):
    name = unique_id("h")
    reply = bot.sender.command(text, response_url=bot.mock.response_url(name))
    assert reply.status == 200
    [response] = bot.mock.wait_for_response(name)
    assert expected in str(response.payload.get("blocks") or response.payload["text"])
    assert response.payload["response_type"] == "ephemeral"


def test_slash_status(bot):
    bot.sender.command("status", response_url=bot.mock.response_url("status"))
    [response] = bot.mock.wait_for_response("status")
    assert f"Documents: *{bot.service.status()['documents']}*" in response.payload["text"]


# --- feedback ---------------------------------------------------------------------------------------


def test_feedback_click_is_stored(bot):
    event = mention(QUESTION, channel="CFEED")
    bot.sender.event(event)
    posted = bot.mock.wait_for_message("CFEED", is_answer)
    answer_id_ = answer_id(posted["blocks"])
    message = {"type": "message", "ts": posted["ts"], "thread_ts": event["ts"], "blocks": posted["blocks"]}

    url = bot.mock.response_url("feedback")
    reply = bot.sender.block_action(
        "answer_feedback",
        f"down|{answer_id_}",
        user_id="UBOB",
        channel_id="CFEED",
        message=message,
        response_url=url,
        action={"type": "feedback_buttons"},
    )
    assert reply.status == 200
    [thanks] = bot.mock.wait_for_response("feedback")
    assert thanks.payload["text"] == "Thanks for the feedback." and thanks.payload["replace_original"] is False
    assert [(f["user"], f["value"]) for f in bot.service.store.feedback(answer_id_)] == [("UBOB", "not_helpful")]
    # a 👎 asks (optionally, with one click) what was wrong; the reason is stored with the vote
    reasons = button_values(thanks.payload["blocks"])
    assert set(reasons) == {
        "feedback_reason_wrong",
        "feedback_reason_off_topic",
        "feedback_reason_sources",
        "feedback_reason_other",
    }
    bot.sender.block_action(
        "feedback_reason_sources",
        reasons["feedback_reason_sources"],
        user_id="UBOB",
        channel_id="CFEED",
        message=message,
        response_url=url,
    )
    assert bot.mock.wait_for_response("feedback", 2)[-1].payload["text"] == "Noted, thank you."
    assert [f["reason"] for f in bot.service.store.feedback(answer_id_)] == ["sources"]
    bot.sender.block_action(
        "feedback_reason_other",
        f"{answer_id_}|other",
        user_id="UCAROL",
        channel_id="CFEED",
        message=message,
        response_url=url,
    )  # no vote of hers to explain
    assert "couldn't find your vote" in bot.mock.wait_for_response("feedback", 3)[-1].payload["text"]

    bot.sender.block_action(
        "answer_feedback",
        f"up|{answer_id_}",
        user_id="UBOB",
        channel_id="CFEED",
        message=message,
        response_url=url,
        action={"type": "feedback_buttons"},
    )
    bot.mock.wait_for_response("feedback", 4)
    assert [(f["user"], f["value"]) for f in bot.service.store.feedback(answer_id_)] == [("UBOB", "helpful")]

    bot.sender.block_action(
        "answer_feedback",
        "up|no-such-answer",
        user_id="UBOB",
        channel_id="CFEED",
        message=message,
        response_url=url,
        action={"type": "feedback_buttons"},
    )
    assert "couldn't find" in bot.mock.wait_for_response("feedback", 5)[-1].payload["text"]
    # buttons on answers posted before the footer existed still count
    bot.sender.block_action(
        "feedback_not_helpful", answer_id_, user_id="UCAROL", channel_id="CFEED", message=message, response_url=url
    )
    bot.mock.wait_for_response("feedback", 6)
    assert ("UCAROL", "not_helpful") in [(f["user"], f["value"]) for f in bot.service.store.feedback(answer_id_)]
    # a forged value is ignored, not stored
    bot.sender.block_action(
        "answer_feedback",
        "sideways|" + answer_id_,
        user_id="UDAN",
        channel_id="CFEED",
        message=message,
        response_url=url,
        action={"type": "feedback_buttons"},
    )
    bot.mock.settle()
    assert "UDAN" not in [f["user"] for f in bot.service.store.feedback(answer_id_)]


# --- request verification and retries -----------------------------------------------------------------


def test_forged_or_stale_requests_are_rejected(bot):
    forged, forged_id = bot.sender.event(mention(QUESTION, channel="CFORGED"), secret="not-the-secret")
    stale, stale_id = bot.sender.event(mention(QUESTION, channel="CFORGED"), timestamp=int(time.time()) - 6 * 60)
    unsigned = bot.sender.command("help", response_url=bot.mock.response_url("forged"), signature="v0=deadbeef")
    assert (forged.status, stale.status, unsigned.status) == (401, 401, 401)
    bot.mock.settle()
    assert not bot.mock.calls_of("chat.postMessage") and not bot.mock.responses
    # a rejected request claims nothing: the genuine delivery of the same event is answered
    assert bot.service.store.claim_event(forged_id) and bot.service.store.claim_event(stale_id)


def test_retried_event_is_answered_once_even_after_a_restart(make_bot, slack_home, embedder):
    bot = make_bot()
    event = mention(QUESTION, channel="CRETRY")
    first, event_id = bot.sender.event(event)
    again, _ = bot.sender.event(event, event_id=event_id, retry_num=1)
    assert (first.status, again.status) == (200, 200)
    bot.mock.wait_for_message("CRETRY", is_answer)

    restarted_service = AdvisorService(slack_home, embedder=embedder)  # a new process: new service, new app, same home
    restarted = make_bot(service=restarted_service)
    late, _ = restarted.sender.event(event, event_id=event_id, retry_num=2)
    assert late.status == 200
    bot.mock.settle(quiet=0.5)
    assert len(bot.mock.calls_of("chat.postMessage", where=lambda c: c.params["channel"] == "CRETRY")) == 1

    fresh = mention(QUESTION, channel="CRETRY2")  # and the restarted bot still answers new events
    restarted.sender.event(fresh)
    restarted.mock.wait_for_message("CRETRY2", is_answer)


def test_rate_limited_post_is_retried_and_the_answer_arrives(bot):
    bot.mock.respond_with("assistant.threads.setStatus", {"ok": False, "error": "invalid_thread"})  # placeholder
    bot.mock.fail_next("chat.postMessage", 429)
    bot.mock.fail_next("chat.update", 500)
    event = mention(QUESTION, channel="CLIMIT")
    bot.sender.event(event)
    bot.mock.wait_for("chat.update", where=lambda c: c.params["channel"] == "CLIMIT")
    posts = bot.mock.calls_of("chat.postMessage", failed=True)
    assert [p.status for p in posts] == [429, 200]
    assert [u.status for u in bot.mock.calls_of("chat.update", failed=True)] == [500, 200]
    assert len(bot.mock.calls_of("chat.postMessage")) == 1


# --- failures are visible ---------------------------------------------------------------------------


def test_backend_failure_shows_an_error_id_and_logs_it(bot, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("the index is on fire")

    monkeypatch.setattr(bot.service, "ask", broken)
    caplog.set_level(logging.ERROR, logger="bot.slack")
    bot.sender.event(mention(QUESTION, channel="CBROKEN"))
    [update] = bot.mock.wait_for("chat.postMessage", where=lambda c: c.params["channel"] == "CBROKEN")
    match = re.search(r"error id `([0-9a-f]{8})`", update.params["text"])
    assert match, update.params["text"]
    assert not update.params.get("blocks")
    logged = [r for r in caplog.records if match.group(1) in r.getMessage()]
    assert logged and logged[0].exc_info and "the index is on fire" in str(logged[0].exc_info[1])

    bot.sender.command(f"ask {QUESTION}", response_url=bot.mock.response_url("broken"))
    responses = bot.mock.wait_for_response("broken", 2)
    assert re.search(r"error id `[0-9a-f]{8}`", responses[-1].payload["text"])


def test_streamed_text_updates_the_placeholder_at_most_every_interval(make_bot, monkeypatch):
    """Where the workspace refuses native streaming, the text so far goes into one message."""
    bot = make_bot(progress_interval=0.2)
    bot.mock.refuse_streaming()
    real_ask = bot.service.ask

    streamed = {}

    def streaming_ask(question, **kwargs):
        on_text = kwargs["on_text"]
        text, started = "", time.monotonic()
        for n in range(30):  # 30 deltas over ~0.6 s
            text += f"word{n} "
            on_text(text)
            time.sleep(0.02)
        streamed["seconds"] = time.monotonic() - started
        return real_ask(question, **kwargs)

    monkeypatch.setattr(bot.service, "ask", streaming_ask)
    bot.sender.event(mention(QUESTION, channel="CSTREAM"))
    final = bot.mock.wait_for_message("CSTREAM", is_answer)
    assert bot.mock.calls_of("chat.startStream", failed=True) and len(bot.mock.messages("CSTREAM")) == 1
    [first] = bot.mock.calls_of("chat.postMessage", where=lambda c: c.params["channel"] == "CSTREAM")
    assert first.params["text"].startswith("word0") and first.params["text"].endswith("…")
    updates = bot.mock.calls_of("chat.update", where=lambda c: c.params["channel"] == "CSTREAM")
    partial = [u for u in updates if not u.params.get("blocks")]
    assert len(partial) + 1 <= streamed["seconds"] / 0.2 + 1, [u.params["text"] for u in partial]
    assert updates[-1].params["blocks"] == final["blocks"]


def test_long_answer_continues_in_follow_up_messages(bot, monkeypatch):
    text = "\n\n".join(f"Paragraph {n}: " + "policy detail " * 150 for n in range(120))  # ~250k chars
    monkeypatch.setattr(
        bot.service,
        "ask",
        lambda q, **kw: Answer(q, text, False, "extractive", "extractive", "no model configured", [], id="long123"),
    )
    event = mention(QUESTION, channel="CLONG")
    bot.sender.event(event)
    bot.mock.wait_for_message("CLONG", is_answer)
    messages = bot.mock.messages("CLONG")
    assert len(messages) > 1 and all(m["thread_ts"] == event["ts"] for m in messages)
    for message in messages:
        assert len(message["blocks"]) <= 50
        assert sum(len(b["text"]) for b in message["blocks"] if b["type"] == "markdown") <= 12000
    assert [answer_id(m["blocks"]) for m in messages].count("long123") == 1 and is_answer(messages[-1])
    shown = "".join(b["text"] for m in messages for b in m["blocks"] if b["type"] == "markdown")
    assert "Paragraph 0:" in shown and "Paragraph 119:" in shown  # nothing was cut


# --- what must not be answered ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        dm(QUESTION, channel="DIGNORE", user="UBOT0001"),  # the bot's own user
        dm(QUESTION, channel="DIGNORE", bot_id="BBOT0001", user=None),  # the bot's own bot id
        dm(QUESTION, channel="DIGNORE", subtype="message_changed"),
        dm(QUESTION, channel="DIGNORE", subtype="message_deleted", hidden=True),
        dm(QUESTION, channel="DIGNORE", subtype="channel_join"),
        dm(QUESTION, channel="DIGNORE", subtype="bot_message", bot_id="BOTHER", user=None),  # another bot
        mention(QUESTION, channel="CIGNORE", bot_id="BOTHER"),
        {**dm(QUESTION, channel="CIGNORE"), "channel_type": "channel"},  # channel chatter without a mention
        mention(QUESTION, channel="DIGNORE"),  # a mention in a DM: message.im answers it, not app_mention
    ],
    ids=[
        "own-user",
        "own-bot",
        "edited",
        "deleted",
        "join",
        "other-bot",
        "other-bot-mention",
        "channel-message",
        "mention-in-dm",
    ],
)
def test_ignored_messages(bot, event):
    reply, _ = bot.sender.event(event)
    assert reply.status == 200
    bot.mock.settle(quiet=0.4)
    assert not bot.mock.calls_of("chat.postMessage") and not bot.mock.calls_of("assistant.threads.setStatus")


def test_other_bots_are_answered_when_enabled(make_bot):
    bot = make_bot(reply_to_bots=True)
    bot.sender.event(dm(QUESTION, channel="DBOTS", subtype="bot_message", bot_id="BOTHER", user=None))
    bot.mock.wait_for_message("DBOTS", is_answer)


def test_url_verification_and_health(bot):
    reply = bot.sender.post('{"type": "url_verification", "challenge": "abc123", "token": "t"}', "application/json")
    assert reply.status == 200 and "abc123" in reply.body
    health = bot.sender.get("/healthz")
    assert health.status == 200
    body = health.json()
    assert body["status"] == "ok" and body["documents"] == bot.service.status()["documents"] > 0
    assert bot.sender.get("/nope").status == 404
