"""Knowledge administration in the core: admins, uploads, replacement, removal, locking."""

from __future__ import annotations

import threading

import pytest

from bot.admin import AdminError, sanitize_filename
from bot.core import AdvisorService
from ingest import IngestBusy, IngestLock
from .support.documents import POLICY_DOC

pytestmark = pytest.mark.slow  # every test ingests a fresh copy of the knowledge (about 10 s each)

NEW_POLICY = POLICY_DOC


@pytest.fixture()
def service(knowledge_copy, make_settings, embedder):
    svc = AdvisorService(
        make_settings(ADVISOR_KNOWLEDGE_DIR=knowledge_copy, ADVISOR_ADMINS="UADMIN, U2"), embedder=embedder
    )
    svc.ingest()
    return svc


def test_admins_and_audit(service):
    admin = service.admin
    assert admin.authorize("UADMIN", "ingest") and admin.authorize("U2", "ingest")
    assert not admin.authorize("UOTHER", "ingest")
    assert not admin.is_admin("UBOSS", workspace_admin=lambda u: True)  # not enabled
    service.settings.admins_include_workspace_admins = True
    assert admin.is_admin("UBOSS", workspace_admin=lambda u: u == "UBOSS")
    assert not admin.is_admin("UBOSS", workspace_admin=lambda u: 1 / 0)  # failed lookup never grants
    rows = service.store.admin_actions()
    assert [(r["user"], r["allowed"]) for r in rows[:3]] == [("UOTHER", 0), ("U2", 1), ("UADMIN", 1)]


def test_upload_new_then_replace_archives_previous(service, knowledge_copy):
    result = service.admin.add_document("gpu-reservations.md", NEW_POLICY)
    assert result.source == "policies/gpu-reservations.md" and not result.replaced
    assert len(result.report.added) == 1
    answer = service.ask("How long can a GPU reservation run without a capacity plan?")
    assert any(s["source"] == "policies/gpu-reservations.md" for s in answer.sources)

    updated = NEW_POLICY.replace(b"30 days", b"45 days")
    again = service.admin.add_document("whatever.md", updated, replace="gpu-reservations.md")
    assert again.replaced and again.archived and again.report.updated == ["policies/gpu-reservations.md"]
    assert open(again.archived, "rb").read() == NEW_POLICY
    assert (knowledge_copy / "policies/gpu-reservations.md").read_bytes() == updated


@pytest.mark.parametrize(
    "name,data,reason",
    [
        ("policy.pdf", b"just text pretending", "not a PDF"),
        ("policy.docx", b"not a zip", "not a Word document"),
        ("policy.md", b"\x00\x01\x02binary", "binary"),
        ("policy.html", b"plain words only", "not HTML"),
        ("policy.md", b"---\ntitle: [broken\n---\ntext", "front matter"),
        ("policy.exe", b"MZ", "not accepted"),
        ("policy.txt", b"x" * (2 * 1_048_576), "upload limit"),
    ],
)
def test_bad_uploads_change_nothing(service, knowledge_copy, name, data, reason):
    service.settings.max_upload_mb = 1
    before = sorted(p.relative_to(knowledge_copy) for p in knowledge_copy.rglob("*"))
    docs_before = service.index.counts()
    with pytest.raises(AdminError, match=reason):
        service.admin.add_document(name, data)
    assert sorted(p.relative_to(knowledge_copy) for p in knowledge_copy.rglob("*")) == before
    assert service.index.counts() == docs_before


@pytest.mark.parametrize(
    "name,expected",
    [
        ("../../etc/passwd.md", "passwd.md"),
        ("..\\..\\evil.txt", "evil.txt"),
        (".hidden.md", "hidden.md"),
        ("my policy (v2).md", "my-policy-v2.md"),
    ],
)
def test_filenames_are_sanitised(name, expected):
    assert sanitize_filename(name) == expected


def test_path_traversal_upload_stays_inside(service, knowledge_copy, tmp_path):
    result = service.admin.add_document("../../../outside.md", NEW_POLICY)
    assert result.source == "policies/outside.md"
    assert not (tmp_path / "outside.md").exists()
    with pytest.raises(AdminError, match="no document"):
        service.admin.add_document("x.md", NEW_POLICY, replace="../../etc/hosts")


def test_remove_document_archives_it(service, knowledge_copy):
    rel, archived = service.admin.remove_document("ai-spend-approval.md")
    assert rel == "policies/ai-spend-approval.md"
    assert not (knowledge_copy / rel).exists() and open(archived).read().startswith("---")
    assert service.index.document(rel) is None
    with pytest.raises(AdminError, match="no document"):
        service.admin.remove_document("ai-spend-approval.md")


def test_second_ingest_is_refused_and_questions_still_answered(service):
    with IngestLock(service.settings.home):
        with pytest.raises(IngestBusy):
            service.admin.ingest_in_background()
        with pytest.raises(IngestBusy):
            service.admin.add_document("gpu.md", NEW_POLICY)
        assert not service.ask("When should a team choose PaaS?").abstained
    done = threading.Event()
    reports = []
    service.admin.ingest_in_background(on_done=lambda r: (reports.append(r), done.set()))
    assert done.wait(120) and reports[0].failed == []


def test_a_background_ingest_that_fails_is_logged_with_an_id_even_without_a_listener(service, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(service, "ingest", broken)
    caplog.set_level("ERROR", logger="bot.admin")
    service.admin.ingest_in_background().join(30)
    [record] = [r for r in caplog.records if "background re-ingest failed (error id" in r.getMessage()]
    assert "disk full" in str(record.exc_info[1])
