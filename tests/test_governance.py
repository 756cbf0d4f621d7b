"""Who may see what, over real HTTP with the mock Slack, and what reaches a PaaS model, end to
end with a recording stand-in: a guest, a member in a channel shared with another organisation,
a member in a DM, members inside and outside an allowed user group; confidential chunks and the
probe set's positives never reach the PaaS, everyday questions do."""

from __future__ import annotations

import json

import pytest
import yaml

from bot.access import Audience, Viewer
from bot.core import AdvisorService
from ingest.loaders import LoadError, load_bytes
from tests.support.mock_openai import MockOpenAI
from tests.support.slack_answers import is_answer
from tests.support.slack_fixtures import *  # noqa: F403
from tests.support.slack_requests import dm, mention
from tests.test_sensitive_probes import HELD_OUT, PROBES


CONFIDENTIAL = """---
title: Merger Plans
classification: confidential
---
# Merger Plans

## Project Falcon timeline
The acquisition of Heron Analytics closes in the second quarter, codename Project Falcon.
"""
GROUP_ONLY = """---
title: GPU Budget Allocation
classification: internal
audience:
  groups: [SAIBOARD]
---
# GPU Budget Allocation

## Quarterly GPU budget
Each product team receives forty GPU hours per week on the shared inference cluster.
"""
PUBLIC = """---
title: Office Hours
classification: internal
---
# Office Hours

## Platform office hours
The platform team holds office hours every Tuesday afternoon for questions about model hosting.
"""

MERGER_Q = "When does the acquisition of Heron Analytics close?"
GPU_Q = "How many GPU hours per week does each product team receive?"


@pytest.fixture(scope="module")
def governed(tmp_path_factory, embedder, built_index):
    root = tmp_path_factory.mktemp("governed")
    knowledge = root / "knowledge"
    (knowledge / "policies").mkdir(parents=True)
    for name, text in (("merger.md", CONFIDENTIAL), ("gpu-budget.md", GROUP_ONLY), ("office-hours.md", PUBLIC)):
        (knowledge / "policies" / name).write_text(text, encoding="utf-8")
    settings = built_index.model_copy(update={"home": root / "home", "knowledge_dir": knowledge})
    service = AdvisorService(settings, embedder=embedder)
    assert not service.ingest().failed
    return service


def _answer_text(bot, channel: str) -> str:
    return json.dumps(bot.mock.wait_for_message(channel, is_answer)["blocks"])


def test_audience_rules():
    members, group = Audience("members"), Audience("restricted", frozenset({"S1"}), frozenset({"C9"}))
    member_dm = Viewer(user="U1", member=True, private=True)
    guest = Viewer(user="U2", member=False, private=True)
    shared = Viewer(user="U1", member=True, channel="C1", private=False, shared_externally=True)
    with_guests = Viewer(user="U1", member=True, channel="C1", private=False, has_guests=True)
    assert member_dm.may_see(members) and not guest.may_see(members)
    assert not shared.may_see(members) and not with_guests.may_see(members)
    assert guest.may_see(Audience()) and shared.may_see(Audience())
    assert not member_dm.may_see(group)
    assert Viewer(user="U1", member=True, groups=frozenset({"S1"})).may_see(group)
    assert Viewer(user="U1", member=True, channel="C9", private=False).may_see(group)
    assert Viewer.everything().may_see(group)
    # an index from before audiences: confidential chunks are members-only
    assert not guest.allows({"classification": "confidential", "audience": None})


@pytest.mark.parametrize(
    "value,error",
    [
        ("admins", "audience must be"),
        ({"groups": ["U123"]}, "starting with S"),
        ({"channels": "general"}, "starting with C"),
        ({"teams": ["T1"]}, "audience must be"),
        ([], "audience must be"),
    ],
)
def test_bad_audience_front_matter_is_a_clear_error(value, error):
    doc = "---\n" + yaml.safe_dump({"title": "X", "audience": value}) + "---\n# X\n\nText."
    with pytest.raises(LoadError, match=error):
        load_bytes("x.md", doc.encode())


def test_guest_in_a_channel_gets_no_confidential_content(make_bot, governed):
    bot = make_bot(service=governed)
    bot.mock.add_user("UGUEST", is_restricted=True)
    bot.sender.event(mention(MERGER_Q, channel="CGUESTCH", user="UGUEST"))
    text = _answer_text(bot, "CGUESTCH")
    assert "Heron" not in text and "Falcon" not in text and "second quarter" not in text
    assert "restricted" in text
    row = governed.store.answers(1)[0]
    assert row["withheld"] >= 1 and row["user"] == "UGUEST"


def test_member_in_an_externally_shared_channel_is_told_to_ask_in_a_dm(make_bot, governed):
    bot = make_bot(service=governed)
    bot.mock.channels["CEXTSHARED"] = {"is_ext_shared": True, "is_shared": True}
    bot.sender.event(mention(MERGER_Q, channel="CEXTSHARED", user="UMEMBER1"))
    text = _answer_text(bot, "CEXTSHARED")
    assert "second quarter" not in text and "direct message" in text


def test_member_in_a_channel_with_guests_is_told_to_ask_in_a_dm(make_bot, governed):
    bot = make_bot(service=governed)
    bot.mock.add_user("UGUEST2", is_ultra_restricted=True)
    bot.mock.channel_members["CWITHGUEST"] = ["UMEMBER1", "UGUEST2"]
    bot.sender.event(mention(MERGER_Q, channel="CWITHGUEST", user="UMEMBER1"))
    text = _answer_text(bot, "CWITHGUEST")
    assert "second quarter" not in text and "direct message" in text


def test_member_in_a_dm_gets_the_confidential_answer(make_bot, governed):
    bot = make_bot(service=governed)
    bot.sender.event(dm(MERGER_Q, channel="DMEMBER1", user="UMEMBER1"))
    text = _answer_text(bot, "DMEMBER1")
    assert "second quarter" in text


def test_user_group_decides_who_sees_a_group_document(make_bot, governed):
    bot = make_bot(service=governed)
    bot.mock.usergroups["SAIBOARD"] = ["UINGROUP"]
    bot.sender.event(dm(GPU_Q, channel="DOUTSIDER", user="UOUTSIDER"))
    outside = _answer_text(bot, "DOUTSIDER")
    assert "forty GPU hours" not in outside and "restricted" in outside
    bot.sender.event(dm(GPU_Q, channel="DINGROUP", user="UINGROUP"))
    inside = _answer_text(bot, "DINGROUP")
    assert "forty GPU hours" in inside


def test_a_failed_slack_lookup_withholds(make_bot, governed):
    bot = make_bot(service=governed)
    bot.mock.respond_with("users.info", {"ok": False, "error": "ratelimited"})
    bot.sender.event(dm(MERGER_Q, channel="DLOOKUP", user="ULOOKUP"))
    assert "second quarter" not in _answer_text(bot, "DLOOKUP")


# --- what reaches a PaaS model ---------------------------------------------------------------------

EVERYDAY = [
    "What are the main advantages of using a managed cloud AI platform?",
    "What are the pros of a hybrid strategy?",
    "How long does it take to set up self-hosted models?",
    "What are the downsides of vendor lock-in with PaaS?",
    "When should a team choose the hybrid approach?",
    "What does the decision framework ask about timelines?",
    "Which open models can we self-host?",
    "How should AI incidents be reported?",
    "What must happen before an AI feature ships?",
    "Can I use consumer AI chat tools for work?",
]


@pytest.fixture()
def paas(monkeypatch, built_index, embedder):
    with MockOpenAI(reply="Here is the answer [1].", delay=0.01) as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
        service = AdvisorService(
            built_index.model_copy(update={"llm": "openai:gpt-test", "llm_retries": 0}), embedder=embedder
        )
        yield service, server


def _confidential_texts(service) -> list[str]:
    rows = service.index.db.execute("select text from chunks where classification = 'confidential'").fetchall()
    return [text.partition("\n\n")[2] or text for (text,) in rows]


def test_paas_never_receives_confidential_chunks_and_does_receive_everyday_questions(paas):
    service, server = paas
    reached = 0
    for question in EVERYDAY:
        before = len(server.requests)
        answer = service.ask(question)
        if len(server.requests) > before:
            reached += 1
            sent = answer.sent[-1]
            assert sent["kind"] == "paas"
            rows = service.index.chunks_by_id(sent["chunks"])
            assert all(r["classification"] != "confidential" for r in rows.values())
    received = server.received_text()
    for text in _confidential_texts(service):
        assert text[:80] not in received
    print(f"\n{reached}/{len(EVERYDAY)} everyday questions reached the PaaS model")
    assert reached >= 0.8 * len(EVERYDAY)
    row = service.store.answers(1)[0]
    assert json.loads(row["sent"])[0]["backend"] == "openai:gpt-test"


def test_paas_never_receives_a_probe_positive(paas):
    service, server = paas
    items = [i for path in (PROBES, HELD_OUT) for i in yaml.safe_load(path.read_text(encoding="utf-8"))]
    positives = [i["text"] for i in items if i["kind"]][::4]  # a spread sample keeps the test quick
    for text in positives:
        service.ask(f"Is it OK to share this with the AI vendor: {text}", record=False)
    received = server.received_text()
    for text in positives:
        assert text not in received


def test_cli_as_user_sees_what_that_slack_user_would(governed, mock_slack, tmp_path):
    import os
    import subprocess
    import sys

    from .conftest import ROOT

    mock_slack.add_user("UCLIGUEST", is_restricted=True)
    env = {
        **os.environ,
        "ADVISOR_HOME": str(governed.settings.home),
        "ADVISOR_KNOWLEDGE_DIR": str(governed.settings.knowledge_dir),
        "SLACK_BOT_TOKEN": mock_slack.bot_token,
        "SLACK_API_URL": mock_slack.api_url,
    }

    def ask(*extra):
        out = subprocess.run(
            [sys.executable, "-m", "bot", "ask", MERGER_Q, "--json", *extra],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=300,
        )
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    assert "second quarter" in ask()["answer"]  # the local user sees everything
    guest = ask("--as-user", "UCLIGUEST")
    assert "second quarter" not in guest["answer"] and guest["withheld"] >= 1
    member_in_shared = ask("--as-user", "UCLIMEMBER", "--in-channel", "CCLISHARED")
    assert "second quarter" in member_in_shared["answer"]  # an ordinary internal channel
    mock_slack.channels["CCLISHARED"] = {"is_ext_shared": True}
    assert "second quarter" not in ask("--as-user", "UCLIMEMBER", "--in-channel", "CCLISHARED")["answer"]


def test_assessment_report_in_slack_lists_only_policies_open_to_everyone(built_index, embedder):
    from bot.slack.assess import SHAREABLE

    service = AdvisorService(built_index, embedder=embedder)
    framework = service.frameworks.get()
    answers = {q.id: q.options[0].value for q in framework.questions}
    local = service.assessment_report(answers)
    shared = service.assessment_report(answers, SHAREABLE)
    classification = {s: d["classification"] for s, d in service.index.documents().items()}
    assert any(classification[p["source"]] == "confidential" for p in local["policies"]), local["policies"]
    assert shared["policies"] and all(classification[p["source"]] != "confidential" for p in shared["policies"])


def test_lookups_are_cached_and_failures_fail_closed():
    from bot.slack.audience import AudienceResolver
    from tests.support.fake_client import FakeClient

    now = [0.0]
    client = FakeClient()
    resolver = AudienceResolver(lambda: set(), clock=lambda: now[0])
    calls = []
    client.users_info = lambda user: calls.append(user) or {"user": {"id": user}}
    assert resolver.viewer(client, "U1", "D1", private=True).member
    assert resolver.viewer(client, "U1", "D1", private=True).member and calls == ["U1"]
    now[0] += 301
    resolver.viewer(client, "U1", "D1", private=True)
    assert calls == ["U1", "U1"]  # the TTL expired

    def broken(**_):
        raise OSError("network down")

    client.users_info = broken
    assert not resolver.viewer(client, "U2", "D2", private=True).member
