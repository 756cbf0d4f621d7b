"""Knowledge administration from Slack over real HTTP: /advisor ingest (progress in place, the
summary, refusals with their audit row, one ingest at a time), the App Home runs, policy files
shared in a DM (files.info, the download with the bot token, add / replace / refuse) and
/advisor ingest remove. The module works on a copy of the knowledge folder and of the built
index, so nothing here touches the repository's knowledge."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from ingest import IngestLock
from tests.conftest import KNOWLEDGE
from tests.support.slack_answers import is_answer
from tests.support.slack_fixtures import *  # noqa: F403
from tests.support.slack_requests import dm, mention, unique_id, unique_ts
from tests.support.documents import POLICY_DOC

ADMIN = "UADMIN"
QUESTION = "Can I send customer data to Azure OpenAI?"

NEW_POLICY = POLICY_DOC


@pytest.fixture(scope="module")
def slack_home(built_index, tmp_path_factory):
    """Overrides the shared fixture: a copy of the knowledge folder and of the built index, the
    index's documents pointed at the copy (as if it had been built from it), one admin."""
    root = tmp_path_factory.mktemp("slack-admin")
    knowledge = root / "knowledge"
    shutil.copytree(KNOWLEDGE, knowledge)
    home = root / "home"
    shutil.copytree(built_index.home, home, ignore=shutil.ignore_patterns("advisor.db*", "ingest.lock"))
    with sqlite3.connect(home / "index.db") as conn:
        conn.execute(
            "update documents set path = replace(path, ?, ?)", [str(KNOWLEDGE.resolve()), str(knowledge.resolve())]
        )
    return built_index.model_copy(update={"home": home, "knowledge_dir": knowledge, "admins": ADMIN})


def folder_state(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def index_state(service) -> tuple:
    docs = {s: d["content_hash"] for s, d in service.index.documents().items()}
    return docs, service.index.counts(), len(service.index.runs(1000))


def audit(service) -> list[tuple]:
    return [(a["user"], a["action"], a["allowed"]) for a in service.store.admin_actions(1000)]


def slash(bot, text: str, user: str = ADMIN) -> str:
    name = unique_id("r")
    assert (
        bot.sender.command(text, user_id=user, channel_id="CADMIN", response_url=bot.mock.response_url(name)).status
        == 200
    )
    return name


def share(
    bot, name: str, data: bytes | None, *, text: str = "", user: str = ADMIN, channel: str = "DADMIN", **file_fields
) -> dict:
    """An admin shares a file with the bot in a DM; returns the message event."""
    stub = bot.mock.share_file(unique_id("F"), name, data, **file_fields)
    event = dm(text, channel=channel, user=user, subtype="file_share", files=[stub])
    assert bot.sender.event(event)[0].status == 200
    return event


def upload_reply(bot, event: dict) -> str:
    """The bot's answer to an upload: its placeholder in the upload's thread, updated in place."""
    [placeholder] = bot.mock.wait_for("chat.postMessage", where=lambda c: c.params.get("thread_ts") == event["ts"])
    ts = placeholder.response["ts"]
    [update] = bot.mock.wait_for("chat.update", where=lambda c: c.params["ts"] == ts, timeout=60)
    return update.params["text"]


# --- /advisor ingest --------------------------------------------------------------------------------


def test_admin_ingest_shows_progress_in_place_then_the_summary(make_bot, slack_home):
    bot = make_bot(progress_interval=0.0)
    knowledge = Path(slack_home.knowledge_dir)
    changed = knowledge / "policies" / "ai-spend-approval.md"
    original = changed.read_bytes()
    changed.write_bytes(original + b"\n\n## Small pilots\nPilots under 500 EUR a month need no spend approval.\n")
    (knowledge / "policies" / "gpu-reservations.md").write_bytes(NEW_POLICY)
    (knowledge / "policies" / "broken.pdf").write_bytes(b"this is not a PDF at all")
    try:
        name = slash(bot, "ingest")
        [started] = bot.mock.wait_for_response(name)
        assert "Re-ingest started" in started.payload["text"]
        [summary] = bot.mock.wait_for(
            "chat.postMessage", where=lambda c: c.params["text"].startswith("Re-ingest finished"), timeout=120
        )
    finally:
        (knowledge / "policies" / "broken.pdf").unlink()
    first = bot.mock.calls_of("chat.postMessage", where=lambda c: c.params["channel"] == ADMIN)[0]
    assert first.params["text"].startswith(":hourglass_flowing_sand: Ingesting")
    updates = bot.mock.calls_of("chat.update", where=lambda c: c.params["ts"] == first.response["ts"])
    progress = [u.params["text"] for u in updates if "Ingesting… " in u.params["text"]]
    total = len(folder_state(knowledge))  # + broken.pdf (since deleted) - assessment.yaml (not a document)
    assert progress and progress[-1].endswith(f"{total}/{total} files")
    assert updates[-1].params["text"].startswith(":white_check_mark: Ingest finished")
    assert bot.mock.calls_of("chat.update") == updates  # every update edits that one message

    text = summary.params["text"]
    assert "1 added, 1 updated" in text and "1 failed" in text
    body = json.dumps(summary.params["blocks"])
    assert "Added: `policies/gpu-reservations.md`" in body and "Updated: `policies/ai-spend-approval.md`" in body
    assert "`policies/broken.pdf`" in body and "PDF" in body  # the failure and its reason
    assert bot.service.index.runs(1)[0]["status"] == "ok"
    assert (ADMIN, "reingest", 1) in audit(bot.service)
    answer = bot.service.ask("Do pilots under 500 EUR a month need spend approval?", record=False)
    assert any(s["source"] == "policies/ai-spend-approval.md" for s in answer.sources)

    # the admin's Home tab lists the runs with their outcome
    bot.sender.event({"type": "app_home_opened", "user": ADMIN, "tab": "home", "event_ts": unique_ts()})
    view = json.dumps(
        bot.mock.wait_for("views.publish", where=lambda c: c.params["user_id"] == ADMIN)[-1].params["view"]
    )
    assert "Last ingest runs" in view and "1 added, 1 updated" in view and "admin_reingest" in view


def test_non_admin_is_refused_with_only_an_audit_row(bot):
    runs = len(bot.service.index.runs(1000))
    name = slash(bot, "ingest", user="UALICE")
    [refusal] = bot.mock.wait_for_response(name)
    assert refusal.payload["text"].startswith("Only the advisor's admins")
    name = slash(bot, "ingest remove data-residency.md", user="UALICE")
    bot.mock.wait_for_response(name)
    assert audit(bot.service)[:2] == [("UALICE", "remove", 0), ("UALICE", "reingest", 0)]
    bot.mock.settle()
    assert len(bot.service.index.runs(1000)) == runs
    assert not bot.mock.calls_of("chat.postMessage") and not bot.mock.calls_of("chat.update")
    assert (Path(bot.settings.knowledge_dir) / "policies" / "data-residency.md").exists()
    bot.sender.event({"type": "app_home_opened", "user": "UALICE", "tab": "home", "event_ts": unique_ts()})
    view = json.dumps(bot.mock.wait_for("views.publish")[0].params["view"])
    assert "Last ingest runs" not in view and "admin_reingest" not in view


def test_workspace_admins_count_when_enabled(make_bot):
    bot = make_bot(admins_include_workspace_admins=True)
    bot.mock.add_user("UOWNER", is_owner=True)
    bot.mock.add_user("UPLAIN")
    for user, allowed in (("UOWNER", True), ("UPLAIN", False), ("UNKNOWN", False)):
        name = slash(bot, "ingest runs", user=user)
        [response] = bot.mock.wait_for_response(name)
        assert ("Last ingest runs" in response.payload["text"]) is allowed, (user, response.payload)
    assert [c.params["user"] for c in bot.mock.calls_of("users.info")] == ["UOWNER", "UPLAIN", "UNKNOWN"]
    assert audit(bot.service)[:3] == [("UNKNOWN", "runs", 0), ("UPLAIN", "runs", 0), ("UOWNER", "runs", 1)]


def test_one_ingest_at_a_time_and_questions_are_answered_meanwhile(make_bot, slack_home, monkeypatch):
    from bot.slack import admin

    bot = make_bot(progress_interval=0.0)
    runs = len(bot.service.index.runs(1000))
    # 1. another process (or thread) holds the ingest lock
    with IngestLock(Path(slack_home.home)):
        name = slash(bot, "ingest")
        [busy] = bot.mock.wait_for_response(name)
        assert "already running" in busy.payload["text"]
        event = share(bot, "gpu-later.md", NEW_POLICY)
        assert "An ingest is running right now" in upload_reply(bot, event)
        bot.sender.event(mention(QUESTION, channel="CDURING"))
        answer = bot.mock.wait_for_message("CDURING", is_answer)
        assert "Sources" in json.dumps(answer["blocks"])
    assert not (Path(slack_home.knowledge_dir) / "policies" / "gpu-later.md").exists()
    assert len(bot.service.index.runs(1000)) == runs

    # 2. an ingest thread of the bot's own is running (slowed down)
    real_progress = admin.IngestRun.progress
    release = threading.Event()

    def slow_progress(self, done, total, source=""):
        release.wait(10)
        real_progress(self, done, total, source)

    monkeypatch.setattr(admin.IngestRun, "progress", slow_progress)
    bot.sender.block_action(
        "admin_reingest", "reingest", user_id=ADMIN, channel_id=None, view={"id": "VHOME", "type": "home"}
    )
    deadline = time.monotonic() + 10
    while not bot.service.ingest_running() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert bot.service.ingest_running()
    name = slash(bot, "ingest")
    [busy] = bot.mock.wait_for_response(name)
    assert "already running" in busy.payload["text"]
    bot.sender.event(mention(QUESTION, channel="CDURING2"))
    bot.mock.wait_for_message("CDURING2", is_answer)
    release.set()
    bot.mock.wait_for("chat.postMessage", where=lambda c: c.params["text"].startswith("Re-ingest finished"), timeout=60)
    assert len(bot.service.index.runs(1000)) == runs + 1  # one run, not two
    assert len(bot.mock.calls_of("chat.postMessage", where=lambda c: "Ingesting" in c.params["text"])) == 1


# --- uploads ------------------------------------------------------------------------------------------


def test_upload_adds_a_new_policy_then_replaces_one_with_an_archive(bot, slack_home):
    knowledge = Path(slack_home.knowledge_dir)
    event = share(bot, "gpu-reservations-v1.md", NEW_POLICY, text="ingest")
    text = upload_reply(bot, event)
    assert text.startswith(":white_check_mark: Added `policies/gpu-reservations-v1.md`"), text
    assert (knowledge / "policies" / "gpu-reservations-v1.md").read_bytes() == NEW_POLICY
    [download] = bot.mock.downloads
    assert download.headers["authorization"] == f"Bearer {bot.mock.bot_token}" and download.status == 200
    assert [c.params["file"] for c in bot.mock.calls_of("files.info")] == [event["files"][0]["id"]]
    answer = bot.service.ask("How long can a GPU reservation run without a capacity plan?", record=False)
    # An earlier test added the same text as gpu-reservations.md: the answer quotes one of the two
    # (near-duplicate sentences are said once), and the new upload is among what was found.
    assert any(c["source"] == "policies/gpu-reservations-v1.md" for c in answer.retrieved)

    residency = knowledge / "policies" / "data-residency.md"
    previous = residency.read_bytes()
    updated = previous + (
        b"\n\n## Exceptions board\nResidency exceptions are decided by the Exceptions Board "
        b"of the Chief Privacy Officer within five business days.\n"
    )
    event = share(bot, "data-residency-2026.md", updated, text="replace data-residency.md")
    text = upload_reply(bot, event)
    assert text.startswith(":white_check_mark: Replaced `policies/data-residency.md`"), text
    assert "archived as `archive/" in text and "1 updated" in text
    archived = next(Path(slack_home.home).glob("archive/*/policies/data-residency.md"))
    assert archived.read_bytes() == previous and residency.read_bytes() == updated
    answer = bot.service.ask("Who decides residency exceptions, and how fast?", record=False)
    # the new section is what the answer cites, and its words reach the user (the old version had neither)
    assert any(
        s["source"] == "policies/data-residency.md" and s["section"].endswith("Exceptions board")
        for s in answer.sources
    ), answer.sources
    assert "Exceptions Board" in answer.text or "Chief Privacy Officer" in answer.text, answer.text
    chunks = bot.service.index.chunks_for_section("policies/data-residency.md", "Exceptions board")
    assert chunks and "Chief Privacy Officer" in chunks[0]["text"]
    assert [a[:2] for a in audit(bot.service)[:2]] == [(ADMIN, "upload"), (ADMIN, "upload")]


@pytest.mark.parametrize(
    "name, data, fields, fail, expected",
    [
        ("scanned-policy.pdf", b"PK\x03\x04 a zip, renamed", {}, None, "the content is not a PDF"),
        ("policy.docx", b"%PDF-1.4 not a word document", {}, None, "not a Word document"),
        ("missing.md", None, {}, None, "HTTP 404"),
        ("flaky.md", NEW_POLICY, {}, 500, "HTTP 500"),
        ("huge.md", NEW_POLICY, {"size": 50 * 1_048_576}, None, "the upload limit is 10 MB"),
        (
            "login-page.md",
            b"<html><body>Sign in to Slack</body></html>",
            {"content_type": "text/html"},
            None,
            "a web page instead",
        ),
        ("tool.exe", b"MZ\x90\x00", {}, None, "is not accepted"),
    ],
    ids=["corrupt-pdf", "corrupt-docx", "download-404", "download-500", "too-large", "html-login", "bad-type"],
)
def test_bad_uploads_change_neither_the_folder_nor_the_index(bot, slack_home, name, data, fields, fail, expected):
    knowledge = Path(slack_home.knowledge_dir)
    before_folder, before_index = folder_state(knowledge), index_state(bot.service)
    stub_fields = dict(fields)
    event_id = unique_id("F")
    bot.mock.share_file(event_id, name, data, **stub_fields)
    if fail:
        bot.mock.fail_download(event_id, fail)
    event = dm("", channel="DADMIN", user=ADMIN, subtype="file_share", files=[{"id": event_id, "name": name}])
    bot.sender.event(event)
    text = upload_reply(bot, event)
    assert text.startswith(":x:") and expected in text and "Nothing was changed" in text, text
    assert folder_state(knowledge) == before_folder
    assert index_state(bot.service) == before_index
    if name in ("huge.md", "tool.exe"):
        assert not bot.mock.downloads  # refused from files.info, before downloading


def test_path_traversal_file_name_stays_inside_the_knowledge_folder(bot, slack_home):
    knowledge = Path(slack_home.knowledge_dir)
    root = knowledge.parent
    event = share(bot, "../../evil.md", NEW_POLICY.replace(b"GPU Reservation", b"Evil Twin"))
    text = upload_reply(bot, event)
    assert "`policies/evil.md`" in text, text
    assert (knowledge / "policies" / "evil.md").exists()
    assert not list(root.glob("evil.md")) and not list(root.parent.glob("evil.md"))
    assert not (Path(slack_home.home) / "evil.md").exists()
    assert bot.service.admin.remove_document("policies/evil.md")[0] == "policies/evil.md"


def test_non_admin_upload_is_ignored_with_a_notice(bot, slack_home):
    knowledge = Path(slack_home.knowledge_dir)
    before_folder, before_index = folder_state(knowledge), index_state(bot.service)
    answers = len(bot.service.store.answers(1000))
    event = share(bot, "my-policy.md", NEW_POLICY, text="ingest", user="UALICE", channel="DALICE")
    [notice] = bot.mock.wait_for("chat.postMessage", where=lambda c: c.params.get("thread_ts") == event["ts"])
    assert "only the advisor's admins can add documents" in notice.params["text"]
    bot.mock.settle()
    assert not bot.mock.calls_of("files.info") and not bot.mock.downloads
    assert folder_state(knowledge) == before_folder and index_state(bot.service) == before_index
    assert len(bot.service.store.answers(1000)) == answers
    assert audit(bot.service)[0] == ("UALICE", "upload", 0)


def test_remove_a_document(bot, slack_home):
    knowledge = Path(slack_home.knowledge_dir)
    bot.service.admin.add_document("retired-policy.md", NEW_POLICY.replace(b"GPU Reservation", b"Retired"))
    assert bot.service.index.document("policies/retired-policy.md")
    name = slash(bot, "ingest remove retired-policy.md")
    [done] = bot.mock.wait_for_response(name, timeout=60)
    text = done.payload["text"]
    assert text.startswith("Removed `policies/retired-policy.md`") and "archived as `archive/" in text
    assert not (knowledge / "policies" / "retired-policy.md").exists()
    assert bot.service.index.document("policies/retired-policy.md") is None
    assert list(Path(slack_home.home).glob("archive/*/policies/retired-policy.md"))
    name = slash(bot, "ingest remove no-such-policy.md")
    assert "there is no document 'no-such-policy.md'" in bot.mock.wait_for_response(name)[0].payload["text"]


@pytest.mark.parametrize(
    "name", ["*", "*.md", "data-residency.m?", "assessment.yaml", "policies/*", "../knowledge/assessment.yaml"]
)
def test_remove_takes_literal_document_names_only(bot, slack_home, name):
    knowledge = Path(slack_home.knowledge_dir)
    before = folder_state(knowledge)
    reply = slash(bot, f"ingest remove {name}")
    [done] = bot.mock.wait_for_response(reply, timeout=60)
    assert done.payload["text"].startswith("Nothing was removed"), done.payload["text"]
    assert folder_state(knowledge) == before


def test_non_admin_remove_without_a_name_is_refused_not_shown_the_admin_help(bot):
    for text in ("ingest remove", "ingest frobnicate"):
        name = slash(bot, text, user="UALICE")
        [reply] = bot.mock.wait_for_response(name)
        assert reply.payload["text"].startswith("Only the advisor's admins"), reply.payload["text"]
        assert "remove" not in reply.payload["text"].split(".")[0]


# --- the progress message on its own -------------------------------------------------------------------


def test_ingest_progress_is_throttled_to_about_one_update_a_second():
    from slack_sdk import WebClient

    from bot.slack.admin import IngestRun
    from tests.support.mock_slack import MockSlack

    now = [0.0]
    with MockSlack() as slack:
        client = WebClient(token=slack.bot_token, base_url=slack.api_url)
        run = IngestRun(service=None, client=client, user=ADMIN, interval=1.0, clock=lambda: now[0])
        run.message.show(":hourglass_flowing_sand: Ingesting… (scanning the knowledge folder)")
        for n in range(1, 315):  # 314 files over ~6 simulated seconds
            now[0] = n * 0.02
            run.progress(n, 314, f"doc{n}.md")
        [post] = slack.calls_of("chat.postMessage")
        texts = [c.params["text"] for c in slack.calls_of("chat.update")]
        assert 5 <= len(texts) <= 7, texts
        assert all(c.params["ts"] == post.response["ts"] for c in slack.calls_of("chat.update"))
        assert texts[0] == ":hourglass_flowing_sand: Ingesting… 50/314 files"
