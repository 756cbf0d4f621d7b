"""Office, HTML and PDF documents keep what they say: a fact held only in a table cell (or on a
PDF's second page) is retrievable, quoted and cited with its section or page; a corrupt file is
a clear LoadError and costs nothing else."""

from __future__ import annotations

import io
import zipfile

import pytest

from bot.core import AdvisorService
from bot.slack.blocks import source_line
from ingest import sync
from ingest.chunking import chunk_document, sentence_units
from ingest.embeddings import default_model_path, token_counter
from ingest.loaders import LoadError, load_bytes


def make_docx() -> bytes:
    import docx

    d = docx.Document()
    d.core_properties.title = "Vendor Onboarding Standard"
    d.add_paragraph("Vendor Onboarding Standard", style="Title")
    d.add_heading("Approved vendors", level=1)
    d.add_paragraph("Every vendor below passed the security review listed next to it.")
    table = d.add_table(rows=4, cols=3)
    for r, row in enumerate(
        [
            ["Vendor", "Tier", "Security review code"],
            ["Acme Analytics", "Gold", "VX-4471"],
            ["Globex Translation", "Silver", "QZ-9920"],
            ["Initech Hosting", "Bronze", "LM-3057"],
        ]
    ):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    d.add_heading("Renewal", level=1)
    d.add_paragraph("Vendors are reviewed again every year before the contract renews.")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


HTML = b"""<!doctype html><html><head><title>Records Retention Schedule</title></head><body>
<nav>Home | Policies | Search</nav>
<h1>Records Retention Schedule</h1>
<div class="intro">Each class of record is kept for the period below, then deleted.</div>
<h2>Retention periods</h2>
<table><thead><tr><th>Record class</th><th>Retention period</th></tr></thead>
<tbody><tr><td>Chatbot conversation transcripts</td><td>93 days</td></tr>
<tr><td>Model evaluation reports</td><td>7 years</td></tr></tbody></table>
<footer>Copyright Northwind</footer><script>var tracking = 1;</script></body></html>"""


def make_pptx() -> bytes:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    deck.core_properties.title = "Self-hosting Budget Review"
    slide = deck.slides.add_slide(deck.slide_layouts[5])
    slide.shapes.title.text = "Monthly GPU budgets per model"
    table = slide.shapes.add_table(3, 2, Inches(1), Inches(1.5), Inches(6), Inches(2)).table
    for r, row in enumerate(
        [["Model", "Monthly GPU budget"], ["Llama 3 70B", "4,200 EUR"], ["Mistral Large", "3,100 EUR"]]
    ):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "Next steps"
    slide.placeholders[1].text = "Finance signs off the budgets each quarter."
    buf = io.BytesIO()
    deck.save(buf)
    return buf.getvalue()


def make_xlsx() -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.properties.title = "Regional Compute Limits"
    sheet = book.active
    sheet.title = "GPU quotas"
    for row in [
        ["Region", "GPU quota", "Approver"],
        ["Frankfurt", "17 GPUs", "EU platform lead"],
        ["Virginia", "40 GPUs", "US platform lead"],
        ["Singapore", None, "APAC platform lead"],
    ]:
        sheet.append(row)
    owners = book.create_sheet("Owners")
    owners.append(["Team", "Owner"])
    owners.append(["Inference platform", "Dana Whitfield"])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def make_pdf() -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Table

    buf = io.BytesIO()
    styles = getSampleStyleSheet()
    doc = SimpleDocTemplate(buf, pagesize=A4, title="Incident Response Standard")
    doc.build(
        [
            Paragraph("Incident Response Standard", styles["Title"]),
            Paragraph("This standard says how AI incidents are triaged and who is told.", styles["Normal"]),
            PageBreak(),
            Paragraph("Reporting deadlines", styles["Heading2"]),
            Table(
                [
                    ["Severity", "Regulator notification deadline"],
                    ["Severity 1", "within 36 hours"],
                    ["Severity 2", "within 5 working days"],
                ]
            ),
        ]
    )
    return buf.getvalue()


# name, bytes, question, fact in the table cell, the section the citation must name
CASES = [
    (
        "vendors.docx",
        make_docx,
        "Which security review code does Globex Translation have?",
        "QZ-9920",
        "Approved vendors",
    ),
    (
        "retention.html",
        lambda: HTML,
        "How long are chatbot conversation transcripts retained?",
        "93 days",
        "Retention periods",
    ),
    (
        "budgets.pptx",
        make_pptx,
        "What is the monthly GPU budget for Mistral Large?",
        "3,100 EUR",
        "Monthly GPU budgets per model",
    ),
    ("limits.xlsx", make_xlsx, "What is the GPU quota in Frankfurt?", "17 GPUs", "GPU quotas"),
    (
        "incidents.pdf",
        make_pdf,
        "What is the regulator notification deadline for a severity 1 incident?",
        "36 hours",
        "Page 2",
    ),
]


@pytest.fixture(scope="module")
def formats_service(tmp_path_factory, embedder):
    from bot.settings import Settings

    root = tmp_path_factory.mktemp("formats")
    folder = root / "knowledge"
    folder.mkdir()
    for name, make, *_ in CASES:
        (folder / name).write_bytes(make())
    service = AdvisorService(
        Settings(_env_file=None, ADVISOR_HOME=str(root / "home"), ADVISOR_KNOWLEDGE_DIR=str(folder)), embedder=embedder
    )
    report = service.ingest()
    assert not report.failed and len(report.added) == len(CASES), report.to_dict()
    return service


@pytest.mark.parametrize("name,make,question,fact,section", CASES, ids=[c[0] for c in CASES])
def test_table_cell_fact_is_retrieved_quoted_and_cited(formats_service, name, make, question, fact, section):
    answer = formats_service.ask(question, record=False)
    assert not answer.abstained, answer.text
    cited = [s for s in answer.sources if s["source"] == name]
    assert cited, [s["source"] for s in answer.sources]
    assert fact in answer.text
    # The quoted sentence carries a citation number that points at this document's section.
    assert any(section in s["section"] for s in cited), [s["section"] for s in cited]
    line = source_line({**cited[0], "n": 1})
    assert section in line and cited[0]["title"] in line


def test_docx_and_html_keep_titles_headings_and_table_headers():
    doc = load_bytes("vendors.docx", make_docx())
    assert doc.title == "Vendor Onboarding Standard"
    assert (
        "| Vendor | Tier | Security review code |\n| --- | --- | --- |\n| Acme Analytics | Gold | VX-4471 |" in doc.text
    )
    html = load_bytes("retention.html", HTML)
    assert html.title == "Records Retention Schedule"
    assert "Each class of record is kept" in html.text  # text in a <div>
    assert "| Record class | Retention period |" in html.text
    assert "tracking" not in html.text and "Copyright" not in html.text and "Search" not in html.text


def test_html_front_matter_sets_classification():
    page = b"---\ntitle: Pricing Notes\nclassification: confidential\n---\n<html><body><p>Rates.</p></body></html>"
    doc = load_bytes("pricing.html", page)
    assert doc.title == "Pricing Notes" and doc.classification == "confidential"
    assert doc.text == "Rates."


def test_pptx_slides_and_xlsx_sheets_become_sections():
    deck = load_bytes("budgets.pptx", make_pptx())
    assert deck.title == "Self-hosting Budget Review"
    assert "# Monthly GPU budgets per model\n\n| Model | Monthly GPU budget |" in deck.text
    assert "# Next steps" in deck.text and "Slide number" not in deck.text
    book = load_bytes("limits.xlsx", make_xlsx())
    assert book.title == "Regional Compute Limits"
    assert "## GPU quotas" in book.text and "## Owners" in book.text
    # An empty cell is empty, not pandas' NaN.
    assert "| Singapore |  | APAC platform lead |" in book.text and "NaN" not in book.text


def test_headerless_sheet_gets_its_first_row_as_header():
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append([None, None])
    book.active.append(["Region", "Quota"])
    book.active.append(["Oslo", "3 GPUs"])
    buf = io.BytesIO()
    book.save(buf)
    text = load_bytes("q.xlsx", buf.getvalue()).text
    assert "| Region | Quota |\n| --- | --- |\n| Oslo | 3 GPUs |" in text and "Unnamed" not in text


def test_pdf_pages_become_sections():
    doc = load_bytes("incidents.pdf", make_pdf())
    assert doc.title == "Incident Response Standard"
    assert "## Page 1" in doc.text and "## Page 2" in doc.text
    assert doc.text.index("36 hours") > doc.text.index("## Page 2")


# --- tables in chunks ------------------------------------------------------------------------


def test_a_table_that_fits_stays_whole_and_a_long_one_repeats_its_header():
    count = token_counter(default_model_path())
    small = "| Region | Quota |\n| --- | --- |\n| Oslo | 3 GPUs |\n| Lima | 5 GPUs |"
    rows = "\n".join(f"| Vendor {i} | Tier {i % 3} | Code QZ-{1000 + i} |" for i in range(60))
    big = "| Vendor | Tier | Code |\n| --- | --- | --- |\n" + rows
    md = f"# T\n\n## Small\n\nIntro.\n\n{small}\n\n## Big\n\n{big}\n"
    chunks = chunk_document("T", md, count, max_tokens=256, overlap_tokens=40)
    assert [c.body for c in chunks if c.section == "Small"] == [f"Intro.\n\n{small}"]
    big_chunks = [c for c in chunks if c.section == "Big"]
    assert len(big_chunks) > 1
    assert all(c.body.startswith("| Vendor | Tier | Code |\n| --- | --- | --- |\n") for c in big_chunks)
    assert all(n <= 256 for n in count([c.text for c in chunks]))
    # Every row is in exactly one chunk, and its sentence unit names the columns.
    for i in range(60):
        assert sum(f"| Vendor {i} |" in c.body for c in big_chunks) == 1
    assert "- Vendor: Vendor 13; Tier: Tier 1; Code: Code QZ-1013" in [
        u for c in big_chunks for u in sentence_units(c.body)
    ]


# --- corrupt files ---------------------------------------------------------------------------


def _replace_part(data: bytes, part: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, content if item.filename == part else src.read(item.filename))
    return out.getvalue()


def _flip_a_byte_in(data: bytes, part: str) -> bytes:
    """The package with one byte of a compressed member changed: its checksum no longer matches."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = z.getinfo(part)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 5
    return data[:start] + bytes([data[start] ^ 0xFF]) + data[start + 1 :]


@pytest.mark.parametrize(
    "suffix,make,part,kind",
    [
        (".docx", make_docx, "word/document.xml", "DOCX"),
        (".pptx", make_pptx, "ppt/presentation.xml", "PPTX"),
        (".xlsx", make_xlsx, "xl/workbook.xml", "XLSX"),
    ],
)
def test_corrupt_office_files_name_the_problem(suffix, make, part, kind):
    good = make()
    cases = {
        "not a zip": (b"this was never an office file", f"corrupt or unreadable {kind}: not a valid ZIP"),
        "truncated": (good[: len(good) // 2], f"corrupt or unreadable {kind}"),
        "wrong package": (
            _replace_part(make_docx(), "word/document.xml", b"") if suffix != ".docx" else make_xlsx(),
            f"{part} is missing",
        ),
        "broken xml": (_replace_part(good, part, b"<not xml"), f"corrupt or unreadable {kind}"),
        "bad checksum": (_flip_a_byte_in(good, part), f"corrupt or unreadable {kind}"),
        "encrypted": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, "password-protected"),
    }
    for _label, (data, reason) in cases.items():
        with pytest.raises(LoadError, match=reason):
            load_bytes("file" + suffix, data)


def test_a_corrupt_office_file_is_reported_and_the_rest_ingested(tmp_path, embedder):
    folder = tmp_path / "knowledge"
    folder.mkdir()
    (folder / "vendors.docx").write_bytes(make_docx())
    (folder / "limits.xlsx").write_bytes(_replace_part(make_xlsx(), "xl/workbook.xml", b"<oops"))
    (folder / "budgets.pptx").write_bytes(b"PK\x03\x04 truncated")
    report = sync(folder, tmp_path / "home", embedder=embedder)
    reasons = {f["path"]: f["error"] for f in report.failed}
    assert set(reasons) == {"limits.xlsx", "budgets.pptx"}
    assert reasons["limits.xlsx"].startswith("corrupt or unreadable XLSX")
    assert reasons["budgets.pptx"].startswith("corrupt or unreadable PPTX")
    assert report.added == ["vendors.docx"]


def test_a_zip_bomb_is_refused_before_conversion(monkeypatch):
    import ingest.loaders as loaders

    monkeypatch.setattr(loaders, "MAX_EXPANDED_BYTES", 1_000)
    with pytest.raises(LoadError, match="expands to .* over the"):
        load_bytes("vendors.docx", make_docx())


def test_the_loader_change_reingests_an_existing_index(tmp_path, embedder, monkeypatch):
    """A bump of the chunker version (the loaders changed what a document yields) rebuilds an
    index made by the previous version, even for unchanged files."""
    import ingest.pipeline as pipeline

    folder = tmp_path / "knowledge"
    folder.mkdir()
    (folder / "vendors.docx").write_bytes(make_docx())
    monkeypatch.setattr(pipeline, "CHUNKER_VERSION", "5")
    assert sync(folder, tmp_path / "home", embedder=embedder).added == ["vendors.docx"]
    monkeypatch.setattr(pipeline, "CHUNKER_VERSION", "6")
    assert sync(folder, tmp_path / "home", embedder=embedder).added == ["vendors.docx"]
    assert sync(folder, tmp_path / "home", embedder=embedder).unchanged == ["vendors.docx"]


def test_supported_formats_are_accepted_for_upload():
    from bot.admin import AdminError, sanitize_filename, sniff_type

    for name in ("a.docx", "a.pptx", "a.xlsx", "a.html", "a.pdf"):
        assert sanitize_filename(name) == name
    sniff_type("a.pptx", make_pptx())
    sniff_type("a.xlsx", make_xlsx())
    with pytest.raises(AdminError, match="not a PowerPoint presentation"):
        sniff_type("a.pptx", make_xlsx())
    with pytest.raises(AdminError, match="not an Excel workbook"):
        sniff_type("a.xlsx", b"nope")
