"""/advisor assess over real HTTP: the bot's server, a real AdvisorService (sessions in SQLite,
the report from the real index) and the mock Slack Web API. Every click uses a button the bot
actually sent, parsed from the recorded chat.postMessage / chat.update / response_url payloads."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass

import pytest

from bot.core import AdvisorService
from tests.support.slack_fixtures import *  # noqa: F403
from tests.support.slack_requests import dm, mention, unique_ts


# --- reading what the bot sent ------------------------------------------------------------------


@dataclass
class Message:
    channel: str
    ts: str
    thread_ts: str | None
    text: str
    blocks: list

    def elements(self) -> list[dict]:
        return [e for b in self.blocks or [] if b.get("type") == "actions" for e in b["elements"]]

    def button(self, label: str) -> dict:
        found = [e for e in self.elements() if e.get("text", {}).get("text", "").startswith(label)]
        assert found, f"no button '{label}' in {[e.get('text', {}).get('text') for e in self.elements()]}"
        return found[0]

    def labels(self) -> list[str]:
        return [e["text"]["text"] for e in self.elements() if e.get("type") == "button"]

    @property
    def body(self) -> str:
        return json.dumps(self.blocks or [], ensure_ascii=False)

    def as_payload(self) -> dict:
        message = {"type": "message", "ts": self.ts, "text": self.text, "blocks": self.blocks}
        if self.thread_ts:
            message["thread_ts"] = self.thread_ts
        return message


def messages(mock) -> dict[str, Message]:
    """Every message the bot posted, as it looks now (updates applied), by ts."""
    found: dict[str, Message] = {}
    for call in list(mock.calls):
        if call.status != 200:
            continue
        if call.method == "chat.postMessage":
            ts = call.response["ts"]
            found[ts] = Message(
                call.response["channel"],
                ts,
                call.params.get("thread_ts"),
                call.params.get("text", ""),
                call.params.get("blocks") or [],
            )
        elif call.method == "chat.update" and call.params["ts"] in found:
            message = found[call.params["ts"]]
            message.text, message.blocks = call.params.get("text", ""), call.params.get("blocks") or []
    return found


def latest(mock, channel: str, contains: str = "", thread_ts: str | None = None) -> Message:
    candidates = [
        m
        for m in messages(mock).values()
        if m.channel == channel
        and contains in (m.text + m.body)
        and (thread_ts is None or thread_ts in (m.thread_ts, m.ts))
    ]
    assert candidates, f"no message in {channel} containing {contains!r}"
    return candidates[-1]


def count(mock, method: str) -> int:
    return len(mock.calls_of(method))


def click(bot, message: Message, label: str, *, user: str, wait: str | None = "chat.update", **kwargs) -> dict:
    """Click the button labelled ``label`` on ``message``; wait for the bot's next ``wait`` call."""
    element = message.button(label)
    before = count(bot.mock, wait) if wait else 0
    reply = bot.sender.block_action(
        element["action_id"],
        element["value"],
        user_id=user,
        channel_id=message.channel,
        message=message.as_payload(),
        **kwargs,
    )
    assert reply.status == 200
    if wait:
        bot.mock.wait_for(wait, before + 1)
    return element


def ephemerals(mock, user: str) -> list[str]:
    return [c.params["text"] for c in mock.calls_of("chat.postEphemeral") if c.params.get("user") == user]


def wait_ephemeral(bot, user: str, n: int) -> str:
    bot.mock.wait_for("chat.postEphemeral", n, where=lambda c: c.params.get("user") == user)
    return ephemerals(bot.mock, user)[-1]


def state(service, session_id: str) -> dict:
    return service.sessions.get(session_id).to_dict()


def slash(bot, text: str, user: str, channel: str = "CPROJECT") -> list:
    name = unique_ts().replace(".", "")
    reply = bot.sender.command(text, user_id=user, channel_id=channel, response_url=bot.mock.response_url(name))
    assert reply.status == 200
    return bot.mock.wait_for_response(name)


def start_in_dm_thread(bot, user: str, channel: str) -> tuple[str, Message]:
    """ "Start an assessment" in a DM thread (the assistant's suggested prompt): the first question
    is posted in that thread."""
    root = unique_ts()
    bot.sender.event(dm("Start an assessment", channel=channel, user=user, thread_ts=root))
    bot.mock.wait_for(
        "chat.postMessage",
        where=lambda c: c.params.get("thread_ts") == root and "Question 1 of" in c.params.get("text", ""),
    )
    return root, latest(bot.mock, channel, "Question 1 of", root)


def session_of(bot, user: str):
    session = bot.service.sessions.open_for(user)
    assert session is not None
    return session


# --- the whole assessment ---------------------------------------------------------------------------


def test_slash_assess_to_a_result_with_citations_share_and_history(bot):
    user = "UASSESS1"
    [started] = slash(bot, "assess", user)
    assert "direct messages" in started.payload["text"] and started.payload["response_type"] == "ephemeral"
    [opened] = bot.mock.calls_of("conversations.open")
    dm_channel = opened.response["channel"]["id"]
    card = latest(bot.mock, dm_channel, "Question 1 of 5")
    session = session_of(bot, user)
    assert (session.channel, session.thread_ts) == (dm_channel, card.ts)  # the first question is the thread root
    assert {"◀ Back", "Restart", "Cancel"} <= set(card.labels())
    assert bot.service.store.assessment_origin(session.id) == "CPROJECT"

    questions = bot.service.frameworks.get().questions
    choices = ["No", "Yes", "Within weeks", "Low", "Generic"]
    for n, (question, label) in enumerate(zip(questions, choices)):
        card = latest(bot.mock, dm_channel, f"Question {n + 1} of 5")
        assert question.prompt in card.body
        option_labels = [o.label for o in question.options]
        assert card.labels()[: len(option_labels)] == option_labels
        chosen = next(o for o in question.options if o.label.startswith(label))
        element = click(bot, card, chosen.label, user=user)
        assert json.loads(element["value"]) == {"s": session.id, "q": question.id, "n": n, "v": chosen.value}
    result = messages(bot.mock)[card.ts]  # the root message became the result, in place
    assert result.text.startswith("Recommendation:")
    body = result.body
    header = result.blocks[0]["text"]["text"]
    # strict residency rules out pure PaaS, although every other answer points there
    assert header == "Recommendation: Hybrid Strategy"
    assert "Strict data residency rules out pure PaaS" in body and "decided the recommendation" in body
    for heading in (
        "*Why: your answers*",
        "*Pros* [",
        "*Cons* [",
        "*When to choose it* [",
        "*Internal policies that bear on your answers*",
        "*Next steps*",
        "*Sources*",
    ):
        assert heading in body, heading
    assert re.search(r"\[\d+\] [^\[]+ › Approach 3: Hybrid Strategy › Pros", body)
    assert "Incremental learning" in body  # the guidance's pros, from the index
    assert "Data Residency Policy" in body  # a policy that bears on "data residency: yes"
    assert "Share to channel" in result.labels()

    done = bot.service.sessions.get(session.id)
    assert done.status == "finished" and [a.how for a in done.answer_records] == ["button"] * 5
    assert done.answers == {
        "mlops_expertise": "no",
        "data_residency": "yes",
        "timeline": "weeks",
        "scale": "low",
        "differentiation": "generic",
    }

    # Share to channel: the summary goes to the channel the command came from
    click(bot, result, "Share to channel", user=user, wait="chat.postEphemeral")
    [shared] = bot.mock.wait_for("chat.postMessage", where=lambda c: c.params["channel"] == "CPROJECT")
    assert f"<@{user}>" in shared.params["text"] and "Hybrid Strategy" in shared.params["text"]
    shared_body = json.dumps(shared.params["blocks"])
    assert "*Sources*" in shared_body and "Next steps" in shared_body
    assert "Shared the summary to <#CPROJECT>" in ephemerals(bot.mock, user)[-1]

    # history and App Home
    [listed] = slash(bot, "assess history", user)
    assert "Hybrid Strategy" in json.dumps(listed.payload["blocks"])
    bot.sender.event({"type": "app_home_opened", "user": user, "tab": "home", "event_ts": unique_ts()})
    [home] = bot.mock.wait_for("views.publish", where=lambda c: c.params["user_id"] == user)
    view = json.dumps(home.params["view"])
    assert "Your past assessments" in view and "Hybrid Strategy" in view
    assert "assess_start" in view


def test_back_restart_and_cancel(bot):
    user, channel = "UASSESS2", "DASSESS2"
    root, card = start_in_dm_thread(bot, user, channel)
    session = session_of(bot, user)
    assert (session.channel, session.thread_ts) == (channel, root)

    click(bot, card, "No", user=user)
    card = messages(bot.mock)[card.ts]
    assert "Question 2 of 5" in card.text and bot.service.sessions.get(session.id).step == 1
    click(bot, card, "◀ Back", user=user)
    card = messages(bot.mock)[card.ts]
    back = bot.service.sessions.get(session.id)
    assert "Question 1 of 5" in card.text and back.step == 0 and back.answers == {}

    before = state(bot.service, session.id)
    click(bot, card, "◀ Back", user=user, wait="chat.postEphemeral")
    assert "already on the first question" in ephemerals(bot.mock, user)[-1]
    assert state(bot.service, session.id) == before

    click(bot, card, "Yes", user=user)
    card = messages(bot.mock)[card.ts]
    click(bot, card, "Yes", user=user)
    card = messages(bot.mock)[card.ts]
    assert bot.service.sessions.get(session.id).step == 2
    click(bot, card, "Restart", user=user)
    card = messages(bot.mock)[card.ts]
    restarted = bot.service.sessions.get(session.id)
    assert "Question 1 of 5" in card.text and restarted.step == 0 and restarted.answers == {}
    assert restarted.status == "open"

    click(bot, card, "Cancel", user=user)
    card = messages(bot.mock)[card.ts]
    assert "cancelled" in card.text.lower() and bot.service.sessions.get(session.id).status == "cancelled"
    assert bot.service.sessions.open_for(user) is None


def test_typed_replies_are_mapped_and_unsure_ones_confirmed(bot):
    user, channel = "UASSESS3", "DASSESS3"
    root, card = start_in_dm_thread(bot, user, channel)
    session = session_of(bot, user)

    def say(text: str, wait: str = "chat.postMessage") -> Message:
        before = count(bot.mock, wait)
        bot.sender.event(dm(text, channel=channel, user=user, thread_ts=root))
        bot.mock.wait_for(wait, before + 1)
        return list(messages(bot.mock).values())[-1]

    reply = say("nope")  # a synonym of "No": confident
    assert "Question 2 of 5" in reply.text and reply.thread_ts == root
    assert bot.service.sessions.get(session.id).answer_records[0].how == "text"

    # a clear reply in people's words is recorded at once; a doubtful one is asked about
    reply = say("legal says EU data must stay in the EU")
    assert "Question 3 of 5" in reply.text
    assert bot.service.sessions.get(session.id).answers["data_residency"] == "yes"
    click(bot, latest(bot.mock, channel, "Question 3 of 5", root), "◀ Back", user=user)

    confirm = say("we'd need legal to look at some contracts maybe")
    assert confirm.text.startswith("Did you mean “") and confirm.labels() == ["Yes", "No"]
    assert bot.service.sessions.get(session.id).step == 1  # nothing recorded yet
    click(bot, confirm, "Yes", user=user)
    after = bot.service.sessions.get(session.id)
    assert after.answer_records[-1].how == "confirmed"
    assert "Question 3 of 5" in messages(bot.mock)[confirm.ts].text  # the confirmation became the next question
    say("back")

    # the confirmation answered in words: the option's number counts (it used to be refused)
    confirm = say("we'd need legal to look at some contracts maybe")
    assert confirm.text.startswith("Did you mean")
    reply = say("1")
    assert "Question 3 of 5" in reply.text
    assert bot.service.sessions.get(session.id).answers["data_residency"] == "no"

    before = state(bot.service, session.id)
    confirm = say("we could go live in about three months")
    assert confirm.text == "Did you mean “Within weeks”?"
    click(bot, confirm, "No", user=user)
    again = messages(bot.mock)[confirm.ts]
    assert "Question 3 of 5" in again.body and "OK, not that" in again.body
    assert state(bot.service, session.id)["answers"] == before["answers"]

    unmatched = say("banana")
    assert "couldn't match “banana”" in unmatched.text and "nothing was recorded" in unmatched.text
    before = state(bot.service, session.id)
    for junk, expected in (("x" * 5000, "at most 500"), ("\x01\x02\x03 binary", "isn't readable text")):
        refused = say(junk)
        assert expected in refused.text and state(bot.service, session.id) == before

    # a question (not an answer) in the thread is answered from the knowledge, the session untouched
    before_answers = len(bot.service.store.answers(1000))
    bot.sender.event(dm("What does data residency mean for us?", channel=channel, user=user, thread_ts=root))
    bot.mock.wait_for(
        "chat.postMessage",
        where=lambda c: c.params["channel"] == channel and "feedback" in json.dumps(c.params.get("blocks") or []),
    )  # a DM thread: assistant status, then the answer
    assert len(bot.service.store.answers(1000)) == before_answers + 1
    assert state(bot.service, session.id) == before

    say("back")
    assert bot.service.sessions.get(session.id).step == 1
    say("cancel")
    assert bot.service.sessions.get(session.id).status == "cancelled"


def test_assessment_resumes_after_a_restart_and_an_open_one_is_offered(make_bot, slack_home, embedder):
    bot = make_bot()
    user = "UASSESS4"
    slash(bot, "assess", user)
    dm_channel = bot.mock.calls_of("conversations.open")[-1].response["channel"]["id"]
    card = latest(bot.mock, dm_channel, "Question 1 of 5")
    click(bot, card, "Yes", user=user)
    click(bot, messages(bot.mock)[card.ts], "No", user=user)
    session = session_of(bot, user)
    assert session.step == 2

    restarted_service = AdvisorService(slack_home)  # a new process: new service, new app, same home
    restarted_service._embedder = embedder
    bot.server.stop()
    restarted = make_bot(service=restarted_service)

    # the button on the card sent before the restart still works
    card = messages(bot.mock)[card.ts]
    assert "Question 3 of 5" in card.text
    click(restarted, card, "We can invest months", user=user)
    assert restarted_service.sessions.get(session.id).step == 3
    assert "Question 4 of 5" in messages(bot.mock)[card.ts].text

    # /advisor assess with an open assessment: resume or restart
    [offer] = slash(restarted, "assess", user, channel="COTHER")
    assert "already have an assessment in progress (question 4 of 5)" in offer.payload["text"]
    offer_blocks = offer.payload["blocks"]
    offered = Message("COTHER", "", None, offer.payload["text"], offer_blocks)
    assert offered.labels() == ["Resume", "Restart", "Cancel it"]
    assert restarted_service.sessions.get(session.id).step == 3  # nothing changed by asking

    url = restarted.mock.response_url("resume")
    posts = count(bot.mock, "chat.postMessage")
    resume = offered.button("Resume")
    restarted.sender.block_action(
        resume["action_id"], resume["value"], user_id=user, channel_id="COTHER", ephemeral=True, response_url=url
    )
    [pointer] = restarted.mock.wait_for_response("resume")
    assert pointer.payload["replace_original"] is True and "continues" in pointer.payload["text"]
    bot.mock.wait_for("chat.postMessage", posts + 1)
    resumed = latest(bot.mock, dm_channel, "Question 4 of 5", thread_ts=card.ts)
    assert resumed.thread_ts == card.ts  # posted in the assessment's own thread

    restart = offered.button("Restart")
    restarted.sender.block_action(
        restart["action_id"], restart["value"], user_id=user, channel_id="COTHER", ephemeral=True, response_url=url
    )
    restarted.mock.wait_for_response("resume", 2)
    again = restarted_service.sessions.get(session.id)
    assert again.step == 0 and again.answers == {} and again.status == "open"
    assert latest(bot.mock, dm_channel, "Question 1 of 5", thread_ts=card.ts).thread_ts == card.ts
    restarted_service.sessions.cancel(session.id, user)


def test_bad_input_is_refused_politely_and_changes_nothing(bot):
    user, other, channel = "UASSESS5", "UINTRUDER", "DASSESS5"
    root, card = start_in_dm_thread(bot, user, channel)
    session = session_of(bot, user)
    first_card = card

    def refused(value: str, contains: str, *, by: str = user, action_id: str = "assess_answer_0") -> None:
        before = state(bot.service, session.id)
        seen = len(ephemerals(bot.mock, by))
        reply = bot.sender.block_action(action_id, value, user_id=by, channel_id=channel, message=card.as_payload())
        assert reply.status == 200
        text = wait_ephemeral(bot, by, seen + 1)
        assert contains in text, text
        assert state(bot.service, session.id) == before

    question = bot.service.frameworks.get().questions[0]
    forged = json.dumps({"s": session.id, "q": question.id, "n": 0, "v": "definitely"})
    refused(forged, "“definitely” isn't one of the answers")
    refused("not json at all", "isn't one I recognise")
    refused(json.dumps({"s": session.id, "q": "budget", "n": 0, "v": "yes"}), "I don't have a question called")
    refused(json.dumps({"s": "no-such-session", "q": question.id, "n": 0, "v": "no"}), "couldn't find that assessment")
    # someone else's session: their click and their typed reply
    refused(card.button("No")["value"], "belongs to someone else", by=other)

    # a double click: the same button twice at once records one answer
    element = card.button("No")
    before_posts = count(bot.mock, "chat.update")
    seen = len(ephemerals(bot.mock, user))
    clicks = [
        threading.Thread(
            target=bot.sender.block_action,
            args=(element["action_id"], element["value"]),
            kwargs={"user_id": user, "channel_id": channel, "message": card.as_payload()},
        )
        for _ in range(2)
    ]
    for t in clicks:
        t.start()
    for t in clicks:
        t.join()
    bot.mock.wait_for("chat.update", before_posts + 1)
    text = wait_ephemeral(bot, user, seen + 1)
    assert "was already recorded" in text
    after = bot.service.sessions.get(session.id)
    assert after.step == 1 and len(after.answer_records) == 1 and after.answers == {question.id: "no"}

    # a button from an old step
    card = messages(bot.mock)[card.ts]
    click(bot, card, "Yes", user=user)  # question 2 answered: now on question 3
    card = messages(bot.mock)[card.ts]
    refused(first_card.button("Yes")["value"], "belongs to an earlier question")
    stale_back = json.dumps({"s": session.id, "n": 1})
    refused(stale_back, "older copy of the question", action_id="assess_back")

    # another user typing in the thread
    before = state(bot.service, session.id)
    bot.sender.event(dm("no", channel=channel, user=other, thread_ts=root))
    bot.mock.wait_for("chat.postMessage", where=lambda c: "only they can answer it" in c.params.get("text", ""))
    assert state(bot.service, session.id) == before

    # finish it, then: a late button, a typed answer, a second Share-less click
    for label in ("Within weeks", "Low", "Generic"):
        click(bot, card, label, user=user)
        card = messages(bot.mock)[card.ts]
    assert card.text.startswith("Recommendation:")
    finished = state(bot.service, session.id)
    assert finished["status"] == "finished"
    refused(first_card.button("Not sure")["value"], "already finished")
    before_posts = count(bot.mock, "chat.postMessage")
    bot.sender.event(dm("yes", channel=channel, user=user, thread_ts=root))
    bot.mock.wait_for("chat.postMessage", before_posts + 1)
    assert "already finished" in list(messages(bot.mock).values())[-1].text
    assert state(bot.service, session.id) == finished
    # the result in a DM has no channel to share to: a channel picker instead of the button
    assert "assess_share_to" in card.body and "Share to channel" not in card.labels()


def test_assessment_in_a_channel_thread_shares_to_that_channel(bot):
    user = "UASSESS6"
    event = mention("start an assessment", channel="CTEAM", user=user)
    bot.sender.event(event)
    bot.mock.wait_for("chat.postMessage", where=lambda c: c.params.get("thread_ts") == event["ts"])
    card = latest(bot.mock, "CTEAM", "Question 1 of 5")
    session = session_of(bot, user)
    assert (session.channel, session.thread_ts) == ("CTEAM", event["ts"])
    # typed answers in a channel thread arrive as mentions
    bot.sender.event(mention("we don't", channel="CTEAM", user=user, thread_ts=event["ts"]))
    bot.mock.wait_for("chat.postMessage", where=lambda c: "Question 2 of 5" in c.params.get("text", ""))
    card = latest(bot.mock, "CTEAM", "Question 2 of 5")
    for label in ("No", "Within weeks", "Low", "Generic"):
        click(bot, card, label, user=user)
        card = messages(bot.mock)[card.ts]
    assert "Share to channel" in card.labels()
    click(bot, card, "Share to channel", user=user, wait="chat.postEphemeral")
    [shared] = bot.mock.wait_for(
        "chat.postMessage", where=lambda c: c.params["channel"] == "CTEAM" and not c.params.get("thread_ts")
    )
    assert "Recommendation" in shared.params["text"]
    # someone else cannot share it
    before = count(bot.mock, "chat.postMessage")
    click(bot, card, "Share to channel", user="UOTHER6", wait="chat.postEphemeral")
    assert "belongs to someone else" in ephemerals(bot.mock, "UOTHER6")[-1]
    bot.mock.settle()
    assert count(bot.mock, "chat.postMessage") == before


def test_share_refused_when_the_bot_is_not_in_the_channel(bot):
    user = "UASSESS7"
    session = bot.service.sessions.start(user, "DASSESS7", unique_ts())
    for question in bot.service.frameworks.get().questions:
        session = bot.service.sessions.answer(session.id, user, question.id, "unsure", "cli")
    bot.mock.respond_with("chat.postMessage", {"ok": False, "error": "not_in_channel"})
    reply = bot.sender.block_action(
        "assess_share_to",
        None,
        user_id=user,
        channel_id="DASSESS7",
        message={"ts": session.thread_ts},
        block_id=f"assess_result:{session.id}",
        action={"type": "conversations_select", "selected_conversation": "CSECRET"},
    )
    assert reply.status == 200
    assert "invite me there" in wait_ephemeral(bot, user, 1)


def test_home_start_button_opens_the_assessment_in_the_dm(bot):
    user = "UASSESS8"
    bot.sender.event({"type": "app_home_opened", "user": user, "tab": "home", "event_ts": unique_ts()})
    [home] = bot.mock.wait_for("views.publish")
    start = next(
        e
        for b in home.params["view"]["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "assess_start"
    )
    bot.sender.block_action(
        "assess_start", start["value"], user_id=user, channel_id=None, view={"id": "VHOME", "type": "home"}
    )
    bot.mock.wait_for("chat.update", where=lambda c: "Question 1 of 5" in c.params.get("text", ""))
    session = session_of(bot, user)
    assert session.channel == f"D{user}" and bot.service.store.assessment_origin(session.id) is None
    [_, again] = bot.mock.wait_for("views.publish", 2)  # the Home tab is refreshed after the click
    assert "In progress: question 1 of 5" in json.dumps(again.params["view"])
    bot.service.sessions.cancel(session.id, user)


@pytest.mark.parametrize("text, expected", [("assess frobnicate", "/advisor assess history")])
def test_assess_usage(bot, text, expected):
    [response] = slash(bot, text, "UASSESS9")
    assert expected in response.payload["text"]


def test_what_would_change_button_reruns_the_result_as_a_copy(bot):
    user, channel = "UASSESS10", "DASSESS10"
    root, card = start_in_dm_thread(bot, user, channel)
    session = session_of(bot, user)
    for label in ("No", "Yes", "Within weeks", "Low", "Generic"):  # residency yes: the rule gives hybrid
        click(bot, card, label, user=user)
        card = messages(bot.mock)[card.ts]
    assert "Hybrid" in card.blocks[0]["text"]["text"]
    assert "Rules from the guidance" in card.body and "Strict data residency rules out pure PaaS" in card.body
    assert "What would change the answer" in card.body
    original = state(bot.service, session.id)
    posts = count(bot.mock, "chat.postMessage")
    element = click(bot, card, "Try: Data residency", user=user, wait=None)
    assert json.loads(element["value"]) == {"s": session.id, "q": "data_residency", "v": "no"}
    bot.mock.wait_for("chat.postMessage", posts + 1)
    rerun = list(messages(bot.mock).values())[-1]
    assert rerun.thread_ts == root and "Platform-as-a-Service" in rerun.blocks[0]["text"]["text"]
    assert "What if: Data residency “No” instead of “Yes”" in rerun.body
    assert state(bot.service, session.id) == original  # the original is kept as it was
    history = bot.service.sessions.history(user)
    assert len(history) == 2 and {h.result["recommendation"] for h in history} == {"hybrid", "paas"}
    # someone else cannot re-run it
    click(bot, card, "Try: Data residency", user="UOTHER10", wait="chat.postEphemeral")
    assert "belongs to someone else" in ephemerals(bot.mock, "UOTHER10")[-1]
