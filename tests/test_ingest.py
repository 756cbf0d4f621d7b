"""Ingest: loaders, chunking, incremental sync, bad input, locking, crashes, concurrency."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot.core import NON_DOCUMENTS
from ingest import IngestBusy, IngestLock, KnowledgeIndex, SyncOptions, sync
from ingest.chunking import chunk_document, split_sections
from ingest.embeddings import Embedder, token_counter, default_model_path
from ingest.loaders import LoadError, load_bytes, clean_markdown

from .conftest import KNOWLEDGE, ROOT, corpus_paths, requires_shared
from tests.support.cli import run_cli

POLICY = """---
title: Data Residency Policy
owner: Data Governance Council
version: "2.1"
effective: 2026-02-01
classification: confidential
---
# Data Residency Policy

## Scope
Applies to all customer data. See the [vendor list]({% page "/vendors/" %}) for details.

{% alert "Note" %}
EU customer data must stay in EU regions.
{% endalert %}

## Exceptions
Exceptions need written approval from the Data Governance Council and expire after 12 months.
"""


def _write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


# --- loaders ------------------------------------------------------------------------------


def test_markdown_front_matter_tags_and_links():
    doc = load_bytes("data-residency.md", POLICY.encode())
    assert doc.title == "Data Residency Policy"
    assert doc.metadata["classification"] == "confidential"
    assert doc.metadata["version"] == "2.1"
    assert doc.metadata["owner"] == "Data Governance Council"
    assert "{%" not in doc.text and "page" not in doc.text
    assert "See the vendor list for details." in doc.text
    assert "EU customer data must stay in EU regions." in doc.text


def test_clean_markdown_keeps_link_text_of_nested_targets():
    text = 'Use [Docusign templates]({% page "/tools/digital-signatures#use" %}) and ![logo](x.png).'
    assert clean_markdown(text) == "Use Docusign templates and logo."


def test_txt_html_docx_pdf_loaders(tmp_path):
    txt = load_bytes("notes-on-ai.txt", b"Plain text about AI spend.")
    assert txt.title == "Notes on ai" and "AI spend" in txt.text

    html = load_bytes(
        "p.html",
        b"<html><head><title>Vendor Policy</title><script>x=1</script></head><body>"
        b"<h1>Vendor Policy</h1><h2>Review</h2><p>Vendors are reviewed in 15 days.</p>"
        b"<ul><li>Bedrock approved</li></ul></body></html>",
    )
    assert html.title == "Vendor Policy"
    assert "## Review" in html.text and "- Bedrock approved" in html.text and "x=1" not in html.text

    import docx

    d = docx.Document()
    d.add_heading("Spend Policy", level=1)
    d.add_heading("Thresholds", level=2)
    d.add_paragraph("Directors approve up to 10,000 dollars a month.")
    buf = io.BytesIO()
    d.save(buf)
    doc = load_bytes("spend.docx", buf.getvalue())
    assert doc.title == "Spend Policy"
    assert "## Thresholds" in doc.text and "10,000" in doc.text

    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.setTitle("Model Risk")
    c.drawString(72, 720, "Models are reviewed before release.")
    c.showPage()
    c.save()
    pdf = load_bytes("risk.pdf", buf.getvalue())
    assert pdf.title == "Model Risk"
    assert "## Page 1" in pdf.text and "reviewed before release" in pdf.text


@pytest.mark.parametrize(
    "name,data,reason",
    [
        ("broken.pdf", b"%PDF-1.4\n1 0 obj <<>> garbage", "PDF"),
        ("fake.pdf", b"hello, I am not a pdf", "not a PDF"),
        ("binary.md", bytes(range(256)) * 4, "binary"),
        ("empty.md", b"   \n", "empty"),
        ("latin1.txt", "Caf\xe9 cr\xe8me".encode("latin-1"), "UTF-8"),
        ("bad-front.md", b"---\ntitle: [unclosed\n---\nbody text\n", "front matter"),
        ("bad-class.md", b"---\nclassification: secret\n---\nbody\n", "classification"),
        ("corrupt.docx", b"PK\x03\x04 not really a zip", "DOCX"),
        ("table.odt", b"whatever", "unsupported"),
    ],
)
def test_bad_inputs_raise_clear_errors(name, data, reason):
    with pytest.raises(LoadError, match=reason):
        load_bytes(name, data)


# --- chunking -----------------------------------------------------------------------------


def test_chunks_follow_headings_and_fit_the_window():
    count = token_counter(default_model_path())
    body = (
        "# Guide\n\nIntro.\n\n## Part A\n\n"
        + " ".join(f"Sentence number {i} explains a rule about data handling." for i in range(120))
        + "\n\n### Detail\n\nShort detail.\n\n```\n# not a heading\n```\n"
    )
    chunks = chunk_document("Guide", body, count, max_tokens=128, overlap_tokens=24)
    sections = {c.section for c in chunks}
    assert sections == {"", "Part A", "Part A > Detail"}
    assert all(n <= 128 for n in count([c.text for c in chunks]))
    part_a = [c for c in chunks if c.section == "Part A"]
    assert len(part_a) > 3
    # Overlap: each continuation repeats the end of the chunk before it.
    for prev, nxt in zip(part_a, part_a[1:]):
        last_sentence = prev.body.rsplit("Sentence", 1)[-1]
        assert nxt.body.startswith("Sentence") and last_sentence in nxt.body
    assert chunks[-1].text.startswith("Guide > Part A > Detail")
    assert "# not a heading" in chunks[-1].body


def test_split_sections_drops_title_h1():
    secs = split_sections("# Policy\n\ntext\n\n## A\n\nmore", "Policy")
    assert [s.headings for s in secs] == [(), ("A",)]


# --- sync ---------------------------------------------------------------------------------


@pytest.fixture()
def folder(tmp_path):
    kb = tmp_path / "kb"
    _write(kb, "policies/data-residency.md", POLICY)
    _write(
        kb,
        "policies/spend.md",
        "---\ntitle: AI Spend\nclassification: internal\n---\n## Limits\nTeams may spend 1,000 dollars.\n",
    )
    _write(kb, "guide.txt", "Start with PaaS when you need results in weeks.")
    _write(kb, ".hidden.md", "ignored")
    return kb


def test_sync_is_incremental(folder, tmp_path, embedder):
    home = tmp_path / "home"
    first = sync(folder, home, embedder=embedder)
    assert (len(first.added), first.failed) == (3, [])
    index = KnowledgeIndex(home)
    docs = index.documents()
    assert set(docs) == {"policies/data-residency.md", "policies/spend.md", "guide.txt"}
    row = docs["policies/data-residency.md"]
    assert row["classification"] == "confidential" and row["chunk_count"] >= 2
    chunk = index.chunks_for_section("policies/data-residency.md", "Exceptions")[0]
    assert chunk["text"].startswith("Data Residency Policy > Exceptions")

    # No-op: nothing loaded, not even the model.
    cold = Embedder()
    again = sync(folder, home, embedder=cold)
    assert again.to_dict()["unchanged"] == 3 and not cold.loaded
    assert again.to_dict() | {"seconds": 0} == {
        "added": 0,
        "updated": 0,
        "unchanged": 3,
        "removed": 0,
        "failed": [],
        "chunks": 0,
        "seconds": 0,
    }

    # Change one, delete one, add one.
    _write(folder, "guide.txt", "Start with PaaS when results are needed within weeks, not months.")
    (folder / "policies/spend.md").unlink()
    _write(folder, "new.md", "# New\n\nA new policy about GPUs.")
    third = sync(folder, home, embedder=embedder)
    assert (third.added, third.updated, third.removed) == (["new.md"], ["guide.txt"], ["policies/spend.md"])
    assert index.missing_vectors() == set()
    assert index.vector_ids() == {c["id"] for c in index.all_chunks()}

    # Explicit paths only touch those paths; --full rebuilds.
    _write(folder, "guide.txt", "Changed again.")
    only = sync(folder, home, SyncOptions(paths=[folder / "new.md"]), embedder=embedder)
    assert only.unchanged == ["new.md"] and not only.updated
    full = sync(folder, home, SyncOptions(full=True), embedder=embedder)
    assert len(full.added) == 3 and full.unchanged == []
    assert len(index.runs(10)) == 5 and index.last_run()["status"] == "ok"


def test_every_bad_file_is_reported_and_the_rest_ingested(folder, tmp_path, embedder):
    _write(folder, "bad/broken.pdf", b"%PDF-1.4\n garbage")
    _write(folder, "bad/binary.md", bytes(range(256)) * 8)
    _write(folder, "bad/empty.md", b"")
    _write(folder, "bad/latin1.txt", "r\xe9sum\xe9".encode("latin-1"))
    _write(folder, "bad/front.md", b"---\ntitle: [oops\n---\nbody")
    _write(folder, "bad/sheet.xlsx", b"PK..")  # named like a workbook, not one
    _write(folder, "bad/sheet.odt", b"PK..")
    _write(folder, "bad/huge.md", b"# Big\n\n" + b"word " * 300_000)
    (folder / "bad/unreadable.md").symlink_to(folder / "bad")  # a folder: reading it fails
    report = sync(folder, tmp_path / "home", SyncOptions(max_file_mb=1), embedder=embedder)
    reasons = {f["path"]: f["error"] for f in report.failed}
    assert set(reasons) == {
        "bad/broken.pdf",
        "bad/binary.md",
        "bad/empty.md",
        "bad/latin1.txt",
        "bad/front.md",
        "bad/sheet.xlsx",
        "bad/sheet.odt",
        "bad/huge.md",
        "bad/unreadable.md",
    }
    assert "PDF" in reasons["bad/broken.pdf"]
    assert "binary" in reasons["bad/binary.md"]
    assert "empty" in reasons["bad/empty.md"]
    assert "UTF-8" in reasons["bad/latin1.txt"]
    assert "front matter" in reasons["bad/front.md"]
    assert "corrupt or unreadable XLSX" in reasons["bad/sheet.xlsx"]
    assert "unsupported" in reasons["bad/sheet.odt"]
    assert "limit" in reasons["bad/huge.md"]
    assert "could not be read" in reasons["bad/unreadable.md"]
    assert len(report.added) == 3
    assert KnowledgeIndex(tmp_path / "home").last_run()["failed"] == 9


def test_unreadable_file_permission(folder, tmp_path, embedder):
    if os.geteuid() == 0:
        pytest.skip("running as root: file permissions do not stop reads (covered by the folder case)")
    path = _write(folder, "secret.md", "# s\n\ntext")
    path.chmod(0)
    report = sync(folder, tmp_path / "home", embedder=embedder)
    assert report.failed == [{"path": "secret.md", "error": "file is not readable (permission denied)"}]


def test_second_ingest_is_refused_while_one_runs(folder, tmp_path, embedder):
    home = tmp_path / "home"
    with IngestLock(home):
        with pytest.raises(IngestBusy, match="already running"):
            sync(folder, home, embedder=embedder)
        assert IngestLock.busy(home)
    assert not IngestLock.busy(home)
    # Another process holding the lock is refused too, via the CLI with a non-zero exit.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys,time; from filelock import FileLock; "
            "l=FileLock(sys.argv[1]); l.acquire(); print('held', flush=True); time.sleep(30)",
            str(home / "ingest.lock"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        out = _cli(["ingest", "--json"], home, folder)
        assert out.returncode != 0 and "already running" in out.stderr
    finally:
        holder.kill()


def test_a_status_probe_never_makes_a_starting_ingest_fail(tmp_path):
    """busy() takes the file lock for an instant: an ingest starting in that instant waits it out
    (CI once saw a re-ingest refused as 'already running' while only a status check ran)."""
    from filelock import FileLock

    home = tmp_path / "home"
    home.mkdir()
    probe = FileLock(str(home / "ingest.lock"), thread_local=False)
    probe.acquire()
    threading.Timer(0.2, probe.release).start()
    with IngestLock(home):  # the probe's instant (here 0.2 s) is waited out
        assert IngestLock.busy(home)

    stop = threading.Event()

    def poll():
        while not stop.is_set():
            IngestLock.busy(home)

    pollers = [threading.Thread(target=poll) for _ in range(2)]
    for t in pollers:
        t.start()
    try:
        for _ in range(200):
            with IngestLock(home):
                pass
    finally:
        stop.set()
        for t in pollers:
            t.join()


def _cli(args, home, folder, **env):
    return run_cli(*args, home=home, knowledge=folder, timeout=600, **env)


def test_cli_json_and_status(folder, tmp_path):
    home = tmp_path / "home"
    # Before the first ingest, status reports an empty index and creates nothing.
    before = _cli(["status", "--json"], home, folder)
    assert before.returncode == 0, before.stderr
    empty = json.loads(before.stdout)
    assert empty["documents"] == 0 and empty["chunks"] == 0 and "does not exist" in empty["store"]
    assert empty["knowledge_dir"] == str(folder.resolve()) and not home.exists()
    out = _cli(["ingest", "--json"], home, folder)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert set(report) == {"added", "updated", "unchanged", "removed", "failed", "chunks", "seconds"}
    assert report["added"] == 3 and report["chunks"] > 0
    status = json.loads(_cli(["status", "--json"], home, folder).stdout)
    assert status["documents"] == 3 and status["chunks"] == report["chunks"]
    assert status["last_run"]["status"] == "ok"
    assert status["embedding_model"].startswith("all-MiniLM-L6-v2")
    rebuilt = _cli(["ingest", "--full"], home, folder)
    assert rebuilt.returncode == 0 and "full rebuild: every document re-indexed" in rebuilt.stdout, rebuilt.stdout
    missing = _cli(["ingest"], home, tmp_path / "nope")
    assert missing.returncode != 0 and "knowledge folder not found" in missing.stderr


def test_kill_minus_9_leaves_a_consistent_index_that_converges(tmp_path, embedder):
    kb = tmp_path / "kb"
    for i in range(400):
        _write(kb, f"doc{i:03d}.md", f"# Doc {i}\n\n" + f"Paragraph about topic {i}. " * 60)
    home = tmp_path / "home"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "ingest", "--json"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "ADVISOR_HOME": str(home), "ADVISOR_KNOWLEDGE_DIR": str(kb)},
    )
    index = KnowledgeIndex(home)
    deadline = time.time() + 300
    while time.time() < deadline and index.counts()[0] < 40:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    committed, _ = index.counts()
    assert 0 < committed < 400
    # Queryable and consistent: every committed chunk has its vector.
    fresh = KnowledgeIndex(home)
    assert fresh.missing_vectors() == set()
    hits = fresh.dense_search(embedder.embed_query("topic 7"), 5)
    assert hits and all(h[0]["source"].startswith("doc") for h in hits)
    # The next ordinary run finishes the job, then a no-op run changes nothing.
    report = sync(kb, home, embedder=embedder)
    assert len(report.added) == 400 - committed and report.failed == []
    assert fresh.runs(5)[1]["status"] == "crashed"
    assert fresh.vector_ids() == {c["id"] for c in fresh.all_chunks()}
    assert len(sync(kb, home, embedder=embedder).unchanged) == 400


def test_queries_during_ingest_see_one_version(tmp_path, embedder):
    kb = tmp_path / "kb"
    _write(kb, "rules.md", "# Rules\n\n" + "\n\n".join(f"## Rule {i}\n\nVersion 0 of rule {i}." for i in range(12)))
    home = tmp_path / "home"
    index = KnowledgeIndex(home)
    sync(kb, home, embedder=embedder, index=index)
    query = embedder.embed_query("rule version")
    errors: list[str] = []
    stop = threading.Event()

    def ask():
        while not stop.is_set():
            try:
                with index.snapshot():
                    hits = index.dense_search(query, 20) + index.keyword_search("rule version", 20)
                hashes = {h[0]["content_hash"] for h in hits}
                if len(hashes) != 1:
                    errors.append(f"mixed versions: {hashes}")
            except Exception as exc:  # noqa: BLE001 — any failure is a bug, collected for the assertion
                errors.append(repr(exc))

    reader = threading.Thread(target=ask)
    reader.start()
    try:
        for version in range(1, 6):
            _write(
                kb,
                "rules.md",
                "# Rules\n\n" + "\n\n".join(f"## Rule {i}\n\nVersion {version} of rule {i}." for i in range(12)),
            )
            sync(kb, home, embedder=embedder, index=index)
    finally:
        stop.set()
        reader.join()
    assert errors == []


@requires_shared
def test_real_corpora_ingest_without_errors(corpora_index):
    settings, report = corpora_index
    assert report.failed == []
    sources = report.added
    assert sum(s.endswith(".md") and "site-policy" in s for s in sources) > 50
    assert sum("18f-handbook" in s for s in sources) > 200
    cold = Embedder()
    again = sync(
        settings.knowledge_dir, settings.home, SyncOptions(paths=corpus_paths(), exclude=NON_DOCUMENTS), embedder=cold
    )
    assert len(again.unchanged) == len(sources) and again.failed == [] and not cold.loaded


def test_bundled_knowledge_front_matter():
    from ingest.loaders import load_path

    policies = sorted((KNOWLEDGE / "policies").glob("*.md"))
    assert len(policies) >= 6
    classes = set()
    for path in policies:
        doc = load_path(path)
        assert {"title", "owner", "version", "effective", "classification"} <= set(doc.metadata), path
        classes.add(doc.classification)
    assert "confidential" in classes


def test_redirect_only_page_is_kept_findable():
    doc = load_bytes("org-chart.md", b"---\ntitle: Org chart\nredirect_to: https://example.org/chart\n---\n")
    assert doc.text == "Org chart has moved to https://example.org/chart"
    with pytest.raises(LoadError, match="no extractable text"):
        load_bytes("blank.md", b"---\ntitle: Blank\n---\n\n{% comment %}x{% endcomment %}\n")


def test_plain_text_gets_sections_like_its_markdown_twin():
    from ingest.loaders import text_headings

    text = (
        "Choosing an AI platform\n"
        "This note compares two ways to run models.\n"
        "Hosted APIs\n"
        "Pros\n"
        "Fast to start: no infrastructure to build.\n"
        "Cons\n"
        "Vendor lock-in: switching providers takes rework.\n"
        "Running your own\n"
        "Pros\n"
        "Data stays inside: nothing leaves the network.\n"
        "Cons\n"
        "Slow to start: expect months of setup.\n"
        "- a bullet line without a stop\n"
        "Summary\n"
        "Pick the one that fits your team."
    )
    doc = load_bytes("platforms.txt", text.encode())
    assert doc.title == "Choosing an AI platform"
    headings = [ln for ln in doc.text.splitlines() if ln.startswith("#")]
    assert headings == [
        "## Hosted APIs",
        "### Pros",
        "### Cons",
        "## Running your own",
        "### Pros",
        "### Cons",
        "## Summary",
    ]
    assert "## - a bullet" not in doc.text
    # Prose without title-like lines is left as it was.
    assert text_headings("One sentence here.\nAnother sentence there.") == (
        None,
        "One sentence here.\nAnother sentence there.",
    )


def test_plain_text_sections_become_citations(tmp_path, embedder):
    folder = tmp_path / "kb"
    _write(
        folder,
        "platforms.txt",
        "Choosing an AI platform\nIntro text here.\nHosted APIs\nPros\n"
        "Fast to start: no infrastructure to build.\nCons\nVendor lock-in: switching takes rework.\n"
        "Own hardware\nPros\nData stays inside.\nCons\nSlow to start: months of setup.\n",
    )
    home = tmp_path / "home"
    sync(folder, home, embedder=embedder)
    index = KnowledgeIndex(home)
    sections = {c["section"] for c in index.all_chunks()}
    assert "Hosted APIs > Cons" in sections and "Hosted APIs > Pros" in sections
    # every chunk's sentences have vectors of their own, tied to the chunk
    ids = [c["id"] for c in index.all_chunks()]
    units = index.units_of(ids)
    assert set(units) <= set(ids) and any("rework" in text for items in units.values() for text, _ in items)


def test_front_matter_url_is_kept_and_checked():
    doc = load_bytes("x.md", b"---\ntitle: X\nurl: https://wiki.example.com/x\n---\n# X\n\nText.")
    assert doc.metadata["url"] == "https://wiki.example.com/x"
    with pytest.raises(LoadError, match="url must be an http"):
        load_bytes("y.md", b"---\ntitle: Y\nurl: javascript:alert(1)\n---\n# Y\n\nText.")


def test_cli_exits_1_when_a_document_fails_and_keeps_the_others(folder, tmp_path):
    """A release step or a cron job sees the failure; the documents that loaded are indexed."""
    home = tmp_path / "home"
    (folder / "broken.docx").write_bytes(b"not a zip file at all")
    out = _cli(["ingest", "--json"], home, folder)
    assert out.returncode == 1
    report = json.loads(out.stdout)
    assert report["added"] == 3 and [f["path"] for f in report["failed"]] == ["broken.docx"]
    assert "1 document(s) failed to ingest; the others are in the index." in out.stderr
    typo = _cli(["ingest", "--json", str(folder / "no-such-file.md")], home, folder)
    assert typo.returncode == 1 and "no-such-file.md" in json.loads(typo.stdout)["failed"][0]["path"]
    (folder / "broken.docx").unlink()
    assert _cli(["ingest"], home, folder).returncode == 0
