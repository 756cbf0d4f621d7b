"""Thread follow-ups without a mention, over real HTTP: a reply in a channel thread the bot
answered is answered once; a reply in a thread the bot never joined, one addressed to someone
else, one that also mentions the bot (the mention answers it) and a bot's own message are not."""

from __future__ import annotations

from tests.support.slack_answers import is_answer
from tests.support.slack_fixtures import *  # noqa: F403
from tests.support.slack_requests import mention, unique_ts


def reply(text: str, channel: str, thread_ts: str, user: str = "UALICE", **extra) -> dict:
    return {
        "type": "message",
        "channel_type": "channel",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": unique_ts(),
        "thread_ts": thread_ts,
        "event_ts": unique_ts(),
        **extra,
    }


def in_thread(channel: str, thread_ts: str):
    return lambda c: c.params.get("channel") == channel and c.params.get("thread_ts") == thread_ts


def test_reply_in_an_answered_thread_is_answered_once(bot):
    root = mention("What are the pros of a hybrid strategy?", channel="CFOLLOW1")
    bot.sender.event(root)
    bot.mock.wait_for_message("CFOLLOW1", is_answer)
    bot.sender.event(reply("and what are its cons?", "CFOLLOW1", root["ts"]))
    posts = bot.mock.wait_for("chat.postMessage", 2, where=in_thread("CFOLLOW1", root["ts"]))
    bot.mock.settle()
    assert len(bot.mock.calls_of("chat.postMessage", where=in_thread("CFOLLOW1", root["ts"]))) == 2 == len(posts)
    history = bot.service.store.history(f"slack:CFOLLOW1:{root['ts']}")
    assert [t["role"] for t in history] == ["user", "assistant", "user", "assistant"]


def test_replies_the_bot_must_not_answer(bot):
    root = mention("What are the pros of a hybrid strategy?", channel="CFOLLOW2")
    bot.sender.event(root)
    bot.mock.wait_for_message("CFOLLOW2", is_answer)
    ignored = [
        reply("<@UBOB> can you check this one?", "CFOLLOW2", root["ts"]),  # addressed to someone else
        reply("<@UBOT0001> and the cons?", "CFOLLOW2", root["ts"]),  # its app_mention event answers it
        reply("thanks!", "CFOLLOW2", root["ts"], user="UBOT0001"),  # the bot itself
        reply("ping", "CFOLLOW2", root["ts"], bot_id="BOTHER", subtype="bot_message"),  # another bot
        reply("what about the cons?", "CFOLLOW2", unique_ts()),  # a thread the bot never joined
        {
            "type": "message",
            "channel_type": "channel",
            "channel": "CFOLLOW2",
            "user": "UALICE",
            "text": "a top-level message",
            "ts": unique_ts(),
            "event_ts": unique_ts(),
        },
    ]
    for event in ignored:
        assert bot.sender.event(event)[0].status == 200
    bot.mock.settle()
    assert len(bot.mock.calls_of("chat.postMessage", where=lambda c: c.params.get("channel") == "CFOLLOW2")) == 1
